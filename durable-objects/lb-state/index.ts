/**
 * LbState: one per load balancer (named by its id). Holds the health of every origin of the pools
 * it uses (active probes + passive outlier detection), the health event log, and traffic counts.
 * SQLite-backed; probes run from the alarm at each monitor's interval, with jitter.
 *
 * Every health transition goes through `#emit`: the one place later modules subscribe to.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Monitor, Pool } from '../../core/config/index.ts';
import {
  NEW_ORIGIN, applyOutcomes, applyProbe, healthUsable,
  type HealthEvent, type Outcome, type OriginHealth,
} from '../../core/health/index.ts';
import { probeOrigin } from './probe.ts';
import { LatencyBook, type LatencyTable } from '../../core/health/latency.ts';
import { migrate } from './migrations.ts';

/** What LbState is told to watch: the pools of one load balancer, with their monitors. */
export interface Targets {
  lbId: string;
  pools: { pool: Pool; monitor?: Monitor }[];
}

/** The part of health that decides routing, as edges cache it. Keys: pool id, then origin name. */
export interface HealthSnapshot {
  version: number;
  origins: Record<string, Record<string, { verdict: OriginHealth['verdict']; ejectedUntil: number }>>;
  /**
   * For dynamic_latency steering, EWMAs (ms) by place then pool: `probe` (passing probes'
   * round-trip time), `colo:<IATA>` and `region:<code>` (real requests, as edges reported them).
   */
  latency: LatencyTable;
}

/** What real requests through one edge place measured for one pool: `count` samples, mean `meanMs` (to response headers). */
export interface LatencyReport {
  poolId: string;
  /** Where the edge is: `colo:<IATA>` and/or `region:<code>` (core/health/latency placesOf). */
  places: string[];
  meanMs: number;
  count: number;
}

/** A run of `count` equal outcomes of one origin, in the order the edge saw them. */
export interface OutcomeReport {
  poolId: string;
  origin: string;
  outcome: Outcome;
  count: number;
}

interface Entry {
  health: OriginHealth;
  nextProbeAt: number;
  total: number;
}

const key = (poolId: string, origin: string) => `${poolId}\u0000${origin}`;

export class LbState extends DurableObject<Record<string, unknown>> {
  #targets: Targets = { lbId: '', pools: [] };
  readonly #entries = new Map<string, Entry>();
  /** Per pool: EWMA (alpha 0.3) of passing probes' RTT in ms, and the value last published. */
  readonly #latency = new LatencyBook();
  #version = 0;
  readonly #sql: SqlStorage;
  /** Subscribers of health transitions (the event log is the first). */
  readonly #subscribers: ((e: HealthEvent) => void)[] = [];

  constructor(ctx: DurableObjectState, env: Record<string, unknown>) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#subscribers.push((e) => {
      this.#sql.exec('INSERT INTO health_events (at, pool_id, origin, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?, ?)', e.at, e.poolId, e.origin, e.from, e.to, e.reason);
    });
    ctx.blockConcurrencyWhile(async () => {
      migrate(this.#sql);
      const meta = new Map(this.#sql.exec<{ key: string; value: string }>('SELECT key, value FROM meta').toArray().map((r) => [r.key, r.value]));
      this.#targets = JSON.parse(meta.get('targets') ?? '{"lbId":"","pools":[]}') as Targets;
      this.#version = Number(meta.get('version') ?? 0);
      for (const row of this.#sql.exec<{ pool_id: string; origin: string; state: string; next_probe_at: number; total: number }>('SELECT * FROM origin_health')) {
        this.#entries.set(key(row.pool_id, row.origin), { health: JSON.parse(row.state) as OriginHealth, nextProbeAt: row.next_probe_at < 0 ? Infinity : row.next_probe_at, total: row.total });
      }
    });
  }

  /** Replaces what to watch (after a config write, and by the cron watchdog) and arms the alarm. */
  async sync(targets: Targets): Promise<{ origins: number; nextAlarm: number | null }> {
    this.#targets = targets;
    const now = Date.now();
    const live = new Set<string>();
    for (const { pool, monitor } of targets.pools) {
      for (const o of pool.origins) {
        const k = key(pool.id, o.name);
        live.add(k);
        if (!this.#entries.has(k)) {
          // First probe soon, spread over a second so many origins do not start in one burst.
          this.#entries.set(k, { health: NEW_ORIGIN, nextProbeAt: monitor ? now + Math.floor(Math.random() * 1000) : Infinity, total: 0 });
        } else if (!monitor) this.#entries.get(k)!.nextProbeAt = Infinity;
        else if (this.#entries.get(k)!.nextProbeAt === Infinity) this.#entries.get(k)!.nextProbeAt = now;
      }
    }
    for (const k of [...this.#entries.keys()]) if (!live.has(k)) this.#entries.delete(k);
    this.#persistAll();
    return { origins: live.size, nextAlarm: await this.#arm() };
  }

  /** Health as edges need it; only the version when the caller is current. */
  snapshot(knownVersion = -1): HealthSnapshot | { version: number; origins?: undefined } {
    if (knownVersion === this.#version) return { version: this.#version };
    const origins: HealthSnapshot['origins'] = {};
    for (const [k, e] of this.#entries) {
      const [poolId, origin] = k.split('\u0000') as [string, string];
      (origins[poolId] ??= {})[origin] = { verdict: e.health.verdict, ejectedUntil: e.health.ejectedUntil };
    }
    return { version: this.#version, origins, latency: this.#latency.table(Date.now()) };
  }

  /**
   * What edges saw: outcomes, applied with each pool's outlier_detection settings (passive
   * health), and request latencies per place (dynamic_latency). Unknown pools are ignored.
   */
  report(outcomes: OutcomeReport[], latencies: LatencyReport[] = []): { ejected: string[] } {
    const now = Date.now();
    const ejected: string[] = [];
    const known = new Set(this.#targets.pools.map(({ pool }) => pool.id));
    let moved = false;
    for (const l of latencies) {
      if (!known.has(l.poolId)) continue;
      for (const place of l.places) if (/^(colo|region):[A-Z0-9]{2,8}$/.test(place) && this.#latency.note(place, l.poolId, l.meanMs, l.count, now)) moved = true;
    }
    for (const { pool } of this.#targets.pools) {
      const mine = outcomes.filter((o) => o.poolId === pool.id);
      if (!mine.length) continue;
      const index = new Map(pool.origins.map((o, i) => [o.name, i]));
      const entries = pool.origins.map((o) => this.#entries.get(key(pool.id, o.name)));
      for (const o of mine) {
        const e = entries[index.get(o.origin) ?? -1];
        if (e) e.total += o.count;
      }
      if (!pool.outlier_detection.enabled) continue;
      // A success run resets the counters once; a failure run counts each failure (capped: past
      // the larger threshold more of them change nothing).
      const cap = Math.max(pool.outlier_detection.consecutive_5xx, pool.outlier_detection.consecutive_gateway_failure);
      const input = mine.flatMap((o) =>
        index.has(o.origin) ? Array.from({ length: o.outcome === 'success' ? 1 : Math.min(o.count, cap) }, () => ({ origin: index.get(o.origin)!, outcome: o.outcome })) : [],
      );
      const result = applyOutcomes(entries.map((e) => e?.health ?? NEW_ORIGIN), input, pool.outlier_detection, now);
      result.healths.forEach((h, i) => {
        const e = entries[i];
        if (e) e.health = h;
      });
      for (const i of result.ejected) {
        const h = result.healths[i]!;
        ejected.push(pool.origins[i]!.name);
        this.#emit({ at: now, poolId: pool.id, origin: pool.origins[i]!.name, from: 'in rotation', to: 'ejected', reason: `outlier detection: ejected until ${new Date(h.ejectedUntil).toISOString()} (${h.timesEjected}x)` });
      }
    }
    if (ejected.length || moved) this.#version++;
    if (outcomes.length) this.#persistAll();
    return { ejected };
  }

  /** Runs the probes that are due and re-arms for the next. */
  override async alarm(): Promise<void> {
    try {
      await this.#probeDue();
    } finally {
      // Re-armed even if probing threw: a broken alarm chain would stop health checks for good
      // (until the next config write or cron watchdog).
      await this.#arm();
    }
  }

  async #probeDue(): Promise<void> {
    const now = Date.now();
    const due = this.#targets.pools.flatMap(({ pool, monitor }) =>
      monitor ? pool.origins.filter((o) => (this.#entries.get(key(pool.id, o.name))?.nextProbeAt ?? Infinity) <= now).map((o) => ({ pool, monitor, origin: o })) : [],
    );
    const results = await Promise.all(due.map(({ monitor, origin }) => probeOrigin(monitor, origin)));
    const done = Date.now();
    let changed = false;
    due.forEach(({ pool, monitor, origin }, i) => {
      const e = this.#entries.get(key(pool.id, origin.name));
      if (!e) return;
      const { health, change } = applyProbe(e.health, results[i]!, monitor, done);
      e.health = health;
      // Next probe one interval after this one started, plus up to 10% jitter.
      e.nextProbeAt = now + monitor.interval * 1000 * (1 + Math.random() * 0.1);
      if (change) {
        changed = true;
        this.#emit({ at: done, poolId: pool.id, origin: origin.name, from: change.from, to: change.to, reason: change.reason });
      }
      if (results[i]!.ok && this.#latency.note('probe', pool.id, results[i]!.rtt, 1, done)) changed = true;
      // Envoy's successful_active_health_check_uneject_host, narrowed: only when the prober saw the
      // origin go down and come back is an ejection's evidence stale. An origin that keeps passing
      // probes while failing traffic stays ejected for its full ejection time.
      if (change?.from === 'unhealthy' && change.to === 'healthy' && health.ejectedUntil > done) {
        e.health = { ...health, ejectedUntil: 0 };
        this.#emit({ at: done, poolId: pool.id, origin: origin.name, from: 'ejected', to: 'in rotation', reason: 'active health check passed after the origin was down' });
      }
    });
    if (changed) this.#version++;
    this.#persistAll();
  }

  /**
   * Header session affinity: the origin a session key is pinned to, if its idle TTL has not run
   * out. Expired entries are removed as they are found (and in bulk on each write).
   */
  affinityGet(key: string): { poolId: string; origin: string; expiresAt: number } | undefined {
    const row = this.#sql.exec<{ pool_id: string; origin: string; expires_at: number }>('SELECT pool_id, origin, expires_at FROM affinity WHERE key = ?', key).toArray()[0];
    if (!row) return undefined;
    if (row.expires_at <= Date.now()) {
      this.#sql.exec('DELETE FROM affinity WHERE key = ?', key);
      return undefined;
    }
    return { poolId: row.pool_id, origin: row.origin, expiresAt: row.expires_at };
  }

  /**
   * Pins a session key and returns the pin that holds. A new session's first claim wins (edges
   * racing on the same new key all learn the winner); `replace` re-pins (the old origin is gone);
   * either way the idle TTL (`ttlMs`) starts again.
   */
  affinityPut(key: string, poolId: string, origin: string, ttlMs: number, replace = false): { poolId: string; origin: string } {
    const now = Date.now();
    this.#sql.exec('DELETE FROM affinity WHERE expires_at <= ?', now);
    const held = replace ? undefined : this.affinityGet(key);
    const pin = held ?? { poolId, origin };
    this.#sql.exec('INSERT OR REPLACE INTO affinity (key, pool_id, origin, expires_at) VALUES (?, ?, ?, ?)', key, pin.poolId, pin.origin, now + ttlMs);
    return { poolId: pin.poolId, origin: pin.origin };
  }

  /** The health event log, newest first; `before` is an event id for the next page. */
  events(limit = 50, before?: number): { events: (HealthEvent & { id: number })[]; next?: number } {
    const rows = this.#sql
      .exec<{ id: number; at: number; pool_id: string; origin: string; from_state: string; to_state: string; reason: string }>(
        'SELECT * FROM health_events WHERE id < ? ORDER BY id DESC LIMIT ?', before ?? Number.MAX_SAFE_INTEGER, limit + 1,
      )
      .toArray();
    const events = rows.slice(0, limit).map((r) => ({ id: r.id, at: r.at, poolId: r.pool_id, origin: r.origin, from: r.from_state, to: r.to_state, reason: r.reason }));
    return rows.length > limit ? { events, next: events.at(-1)!.id } : { events };
  }

  /** Every origin's full record (for the admin API's health and backend-stats views). */
  records(): { poolId: string; origin: string; health: OriginHealth; total: number; usable: boolean }[] {
    const now = Date.now();
    return [...this.#entries].map(([k, e]) => {
      const [poolId, origin] = k.split('\u0000') as [string, string];
      return { poolId, origin, health: e.health, total: e.total, usable: healthUsable(e.health, now) };
    });
  }

  #emit(event: HealthEvent): void {
    for (const subscriber of this.#subscribers) subscriber(event);
  }

  async #arm(): Promise<number | null> {
    let next = Infinity;
    for (const e of this.#entries.values()) next = Math.min(next, e.nextProbeAt);
    if (next === Infinity) {
      await this.ctx.storage.deleteAlarm();
      return null;
    }
    // Set unconditionally: every due time is in #entries, and inside alarm() getAlarm() reads null
    // until a new alarm is set, so a compare-and-set would depend on where it runs.
    await this.ctx.storage.setAlarm(next);
    return next;
  }

  #persistAll(): void {
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec('DELETE FROM origin_health');
      for (const [k, e] of this.#entries) {
        const [poolId, origin] = k.split('\u0000') as [string, string];
        this.#sql.exec('INSERT INTO origin_health (pool_id, origin, state, next_probe_at, total) VALUES (?, ?, ?, ?, ?)', poolId, origin, JSON.stringify(e.health), Number.isFinite(e.nextProbeAt) ? e.nextProbeAt : -1, e.total);
      }
      this.#sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('targets', ?), ('version', ?)", JSON.stringify(this.#targets), String(this.#version));
    });
  }
}
