/**
 * LbState: one per load balancer (named by its id), SQLite-backed. Holds the health of every
 * origin of the pools it watches (active probes + passive outlier detection), the health event
 * log, the header-affinity table, and the load balancer's clock and mailbox. Times are epoch ms.
 *
 * - One `alarm()` runs what the schedule says is due (schedule.ts), by kind: `probe` (key
 *   `<pool id>/<origin>`, every monitor interval + up to 10% jitter), `deliver` (key: a
 *   subscriber, outbox.ts) and `prune` (retention). A new kind is one entry in `#runners`. The
 *   alarm is always re-armed, at the earliest due time but never at or before now.
 * - Only rows that changed are written: an origin's `verdict` and `ejected_until` are columns and
 *   the rest of its record JSON; a report writes the origins it changed, `sync` the origins added
 *   or removed (the targets only when they changed), the alarm the origins it probed.
 * - Every transition goes through `#emit`, inside the transaction that writes it: the health
 *   row, its health_events row and one outbox row per subscriber commit together.
 * - Event log retention: at most EVENTS_MAX (1,000) events and none older than EVENTS_MAX_AGE_MS
 *   (7 days), enforced by `prune` every 10 minutes while there is anything to prune; the outbox
 *   and latency figures are pruned alongside.
 * - dynamic_latency figures survive an eviction (latency.ts): a figure is written when it is
 *   published (moved > 10%) or, if refreshed since, at most every 5 minutes, and read back on start.
 * - Header affinity (affinity.ts): at most 100,000 sessions per load balancer; at the cap the 1%
 *   that expire soonest (the least recently used) are evicted, and counted (`stats()`).
 * - Traffic metrics (metrics.ts): edges' counts ride on `report`; totals since creation and a
 *   10 s / 1 min series in bounded rings, written by the `metrics` job; `metrics()`, `series()`.
 * - Storage is opened on first use, so an instance only asked for monitor previews stores nothing.
 * - Cloudflare's two-step previews (previews.ts): an instance named `preview-id:<id>` keeps one
 *   preview's result in KV for an hour; its alarm then deletes all it holds (no SQL tables made).
 * - Webhooks (notify.ts): one outbox subscriber per webhook in the targets, made again on every
 *   change of targets; after every change of health or targets the pool and fallback transitions
 *   are derived and emitted like the others (origin '' marks a pool's own event).
 */
import { DurableObject } from 'cloudflare:workers';
import type { DnsZone, Monitor, Origin, Pool, Webhook } from '../../core/config/index.ts';
import { NEW_ORIGIN, applyOutcomes, applyProbe, healthUsable, type HealthEvent, type OriginHealth, type ProbeResult } from '../../core/health/index.ts';
import type {
  DnsStatus,
  EventsPage,
  HealthReply,
  LatencyReport,
  LbStateApi,
  LbStateStats,
  OriginRecord,
  OutcomeReport,
  ProbePreview,
  ProbeTarget,
  StoredPreview,
  SessionPin,
  SubscriberStatus,
  Targets,
  WebhookTestResult,
} from '../../core/rpc/index.ts';
import type { DnsProvider } from '../../dns/provider.ts';
import { providerFor, type ProviderFactory } from '../dns/providers.ts';
import { AffinityTable } from './affinity.ts';
import { DnsJob } from './dns.ts';
import { LatencyStore } from './latency.ts';
import type { LbMetrics, SeriesReply } from '../../core/rpc/index.ts';
import type { OriginTraffic } from '../../core/metrics/index.ts';
import type { Resolution } from '../../core/metrics/series.ts';
import { TrafficStore, lbMetrics } from './metrics.ts';
import { migrate } from './migrations.ts';
import { Notifier } from './notify.ts';
import { OriginTable, keyOf, sameHealth, splitKey as split, type OriginEntry } from './origins.ts';
import { DELIVERY_DEADLINE_MS, LEASE_MARGIN_MS, Outbox, deliverWithin, subscribersFor, type Batch, type Subscriber } from './outbox.ts';
import { PreviewStore } from './previews.ts';
import { previewProbe, probeOrigin } from './probe.ts';
import { RESCHEDULED, SYSTEM_CLOCK, Schedule, backoffMs, runDue, type Clock, type JobResult, type JobRunner } from './schedule.ts';
import { Sql } from './sql.ts';

/** Event log retention: at most this many events, and none older than this (ms). */
export const EVENTS_MAX = 1000;
export const EVENTS_MAX_AGE_MS = 7 * 24 * 3600_000;
/** How often `prune` runs while there is something to prune (ms). */
export const PRUNE_EVERY_MS = 10 * 60_000;

/** `stats()` answer: counters for operators. */

/** Key of LbState's test hook: a method that RPC does not expose (RPC calls methods by string name). */
export const TESTING = Symbol.for('edge-lb.LbState.testing');

/** What a test may replace, through `instance[TESTING](hooks)` inside runInDurableObject. */
export interface TestHooks {
  clock?: Clock;
  subscribers?: Subscriber[];
  /** Extra job kinds (or replacements), merged into the runner table. */
  runners?: Record<string, JobRunner>;
  affinityMaxRows?: number;
  deliveryDeadlineMs?: number;
  /** The DNS provider of a zone (default durable-objects/dns/providers.ts providerFor over the Worker's secrets). */
  dnsProvider?: (zone: DnsZone) => DnsProvider;
}

interface Watched {
  pool: Pool;
  monitor?: Monitor;
  origin: Origin;
}

const PLACE = /^(colo|region):[A-Z0-9]{2,8}$/;
const iso = (ms: number) => new Date(ms).toISOString();

export class LbState extends DurableObject<Env> implements LbStateApi {
  #clock: Clock = SYSTEM_CLOCK;
  #subscribers: Subscriber[] = [];
  /** Set by the test hook: subscribers are then no longer made from the targets. */
  #subscribersHooked = false;
  /** Webhooks: subscribers, derived pool and fallback transitions, test sends (notify.ts). */
  readonly #notifier: Notifier;
  #deliveryDeadlineMs = DELIVERY_DEADLINE_MS;
  readonly #sql: Sql;
  readonly #schedule: Schedule;
  readonly #outbox: Outbox;
  readonly #origins: OriginTable;
  readonly #affinity: AffinityTable;
  /** dynamic_latency figures by place and pool (ms), stored so they outlive an eviction. */
  readonly #latency: LatencyStore;
  /** Traffic totals and series (metrics.ts). */
  readonly #traffic: TrafficStore;
  /** What each job kind does (schedule.ts runDue). */
  readonly #runners: Record<string, JobRunner> = {
    probe: (jobs, now) =>
      this.#probe(
        jobs.map((j) => j.key),
        now,
      ),
    deliver: (jobs, now) => jobs.map((j) => this.#startDelivery(j.key, now)),
    prune: (jobs, now) => jobs.map(() => this.#prune(now)),
    metrics: (jobs, now) => jobs.map(() => this.ctx.storage.transactionSync(() => this.#traffic.flush(now))),
    dns: (jobs, now) => jobs.map(() => this.#dns.start(now)),
  };
  #dnsProvider: ProviderFactory;
  /** DNS failover of a DNS-only load balancer (dns.ts). */
  readonly #dns: DnsJob;
  /** Cloudflare's two-step preview kept here (previews.ts). */
  readonly #previews: PreviewStore;

  #opened = false;
  #targets: Targets = { lbId: '', pools: [] };
  #targetsJson = '';
  #watched = new Map<string, Watched>();
  /** Every watched origin's health, by keyOf (the rows of `#origins`). */
  #entries = new Map<string, OriginEntry>();
  #version = 0;
  #alarmFailures = 0;
  readonly #deliveries = new Set<Promise<void>>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = new Sql(ctx.storage.sql);
    this.#schedule = new Schedule(this.#sql);
    this.#outbox = new Outbox(this.#sql);
    this.#origins = new OriginTable(this.#sql);
    this.#affinity = new AffinityTable(this.#sql);
    this.#latency = new LatencyStore(this.#sql);
    this.#traffic = new TrafficStore(this.#sql);
    this.#notifier = new Notifier(this.#sql, env, { now: () => this.#clock.now(), deadlineMs: () => this.#deliveryDeadlineMs });
    this.#dnsProvider = (zone) => providerFor(zone, env);
    this.#previews = new PreviewStore(ctx.storage, () => this.#clock.now());
    const clock = () => this.#clock;
    this.#dns = new DnsJob(this.#sql, {
      get clock() {
        return clock();
      },
      schedule: this.#schedule,
      targets: () => this.#targets,
      usable: (now) => (pool, i) => healthUsable(this.#entries.get(keyOf(pool.id, pool.origins[i]!.name))?.health, now),
      nextExpiry: (now) => [...this.#entries.values()].reduce((m, e) => (e.health.ejectedUntil > now ? Math.min(m, e.health.ejectedUntil) : m), Infinity),
      provider: (zone) => this.#dnsProvider(zone),
      log: (event) => this.#log(event),
      transaction: (fn) => this.ctx.storage.transactionSync(fn),
      arm: () => this.#arm(),
      waitUntil: (p) => this.ctx.waitUntil(p),
    });
  }

  /** Replaces what to watch (after a config write, and by the cron watchdog) and arms the alarm. */
  async sync(targets: Targets): Promise<{ origins: number; nextAlarm: number | null }> {
    this.#open();
    const now = this.#clock.now();
    const json = JSON.stringify(targets);
    const probes = this.#schedule.of('probe');
    const changed = json !== this.#targetsJson;
    this.#watch(targets);
    this.ctx.storage.transactionSync(() => {
      if (changed) this.#setMeta('targets', (this.#targetsJson = json));
      this.#dns.synced(changed, now);
      for (const [k, w] of this.#watched) {
        if (!this.#entries.has(k)) {
          const e = { health: NEW_ORIGIN, total: 0 };
          this.#entries.set(k, e);
          this.#origins.insert(k, e);
        }
        const due = probes.get(k);
        if (!w.monitor) {
          if (due !== undefined) this.#schedule.remove('probe', k);
        } else if (due === undefined || due > now + w.monitor.interval * 1100) {
          // First probe soon, spread over a second so many origins do not start in one burst
          // (also when the interval became shorter than the wait).
          this.#schedule.set('probe', k, now + this.#clock.random() * 1000);
        }
      }
      for (const k of [...this.#entries.keys()]) {
        if (this.#watched.has(k)) continue;
        this.#entries.delete(k);
        this.#origins.delete(k);
        this.#traffic.forget(k);
      }
      for (const k of probes.keys()) if (!this.#watched.has(k)) this.#schedule.remove('probe', k);
      this.#derive(now); // config changes move pools too (an origin disabled, minimum_origins)
    });
    return { origins: this.#watched.size, nextAlarm: await this.#arm() };
  }

  /** Health as edges need it; only the version when the caller is current. */
  snapshot(knownVersion = -1): HealthReply {
    this.#open();
    if (knownVersion === this.#version) return { version: this.#version };
    const origins: Record<string, Record<string, Pick<OriginHealth, 'verdict' | 'ejectedUntil'>>> = {};
    for (const [k, e] of this.#entries) {
      const [poolId, origin] = split(k);
      (origins[poolId] ??= {})[origin] = { verdict: e.health.verdict, ejectedUntil: e.health.ejectedUntil };
    }
    return { version: this.#version, origins, latency: this.#latency.table(this.#clock.now()) };
  }

  /**
   * What edges saw: outcomes, applied with each pool's outlier_detection settings (passive
   * health), and request latencies per place (dynamic_latency). Unknown pools and origins are
   * ignored. Writes only the origins whose record changed.
   */
  async report(outcomes: OutcomeReport[], latencies: LatencyReport[] = [], traffic: OriginTraffic[] = []): Promise<{ ejected: string[] }> {
    this.#open();
    const now = this.#clock.now();
    const flushAt = Array.isArray(traffic) ? this.#traffic.add(traffic, (k) => this.#entries.has(k), now) : undefined;
    const ejected: string[] = [];
    const events: HealthEvent[] = [];
    const dirty = new Set<string>();
    const known = new Set(this.#targets.pools.map(({ pool }) => pool.id));
    let moved = false;
    for (const l of latencies) {
      if (!known.has(l.poolId) || !Array.isArray(l.places)) continue;
      for (const place of l.places) if (PLACE.test(place) && this.#latency.note(place, l.poolId, l.meanMs, l.count, now)) moved = true;
    }
    for (const { pool } of this.#targets.pools) {
      const mine = outcomes.filter((o) => o.poolId === pool.id && Number.isFinite(o.count) && o.count >= 1);
      if (!mine.length) continue;
      const index = new Map(pool.origins.map((o, i) => [o.name, i]));
      const keys = pool.origins.map((o) => keyOf(pool.id, o.name));
      const entries = keys.map((k) => this.#entries.get(k));
      for (const o of mine) {
        const i = index.get(o.origin);
        if (i === undefined || !entries[i]) continue;
        entries[i].total += Math.floor(o.count);
        dirty.add(keys[i]!);
      }
      if (!pool.outlier_detection.enabled) continue;
      // A success run resets the counters once; a failure run counts each failure (capped: past
      // the larger threshold more of them change nothing).
      const cap = Math.max(pool.outlier_detection.consecutive_5xx, pool.outlier_detection.consecutive_gateway_failure);
      const input = mine.flatMap((o) =>
        index.has(o.origin)
          ? Array.from({ length: o.outcome === 'success' ? 1 : Math.min(o.count, cap) }, () => ({ origin: index.get(o.origin)!, outcome: o.outcome }))
          : [],
      );
      const result = applyOutcomes(
        entries.map((e) => e?.health ?? NEW_ORIGIN),
        input,
        pool.outlier_detection,
        now,
      );
      result.healths.forEach((h, i) => {
        const e = entries[i];
        if (!e) return;
        if (!sameHealth(e.health, h, now)) dirty.add(keys[i]!);
        e.health = h;
      });
      for (const i of result.ejected) {
        const h = result.healths[i]!;
        ejected.push(pool.origins[i]!.name);
        events.push({
          at: now,
          poolId: pool.id,
          origin: pool.origins[i]!.name,
          from: 'in rotation',
          to: 'ejected',
          reason: `outlier detection: ejected until ${iso(h.ejectedUntil)} (${h.timesEjected}x)`,
        });
      }
    }
    const latencyWrites = this.#latency.unsaved;
    if (!dirty.size && !latencyWrites && !moved && flushAt === undefined) return { ejected };
    let derived = 0;
    this.ctx.storage.transactionSync(() => {
      if (flushAt !== undefined) this.#schedule.soonest('metrics', 'flush', flushAt);
      for (const k of dirty) this.#origins.update(k, this.#entries.get(k)!);
      for (const e of events) this.#emit(e);
      derived = this.#derive(now);
      this.#saveLatency(now);
      if (events.length || moved) this.#setMeta('version', String(++this.#version));
    });
    if (events.length || derived || latencyWrites || flushAt !== undefined) await this.#arm(); // deliver, prune and metrics jobs
    return { ejected };
  }

  /** Runs the jobs that are due; re-arms whatever happens (a broken alarm chain stops health checks). */
  override async alarm(): Promise<void> {
    // A preview's object runs no jobs (and never opens the load balancer's tables): only an object
    // not yet opened may be one, so a load balancer's alarms read no preview key after the first.
    if (!this.#opened && (await this.#previews.expire())) return;
    let floor = 0;
    try {
      this.#open();
      await runDue(this.#schedule, this.#runners, this.#clock);
      this.#alarmFailures = 0;
    } catch (e) {
      // Failures outside any one job (those back off on their own): back off too, never spin.
      this.#alarmFailures++;
      floor = this.#clock.now() + backoffMs(this.#alarmFailures, this.#clock.random());
      console.error(`LbState: alarm failed (${this.#alarmFailures} in a row), next run at ${iso(floor)} or later:`, e);
    } finally {
      await this.#arm(floor);
    }
  }

  /**
   * Header session affinity: the origin a session key is pinned to, if its idle TTL has not run
   * out. Expired entries are removed as they are found (and in bulk on each write).
   */
  affinityGet(key: string): (SessionPin & { expiresAt: number }) | undefined {
    this.#open();
    return this.#affinity.get(key, this.#clock.now());
  }

  /**
   * Pins a session key and returns the pin that holds. A new session's first claim wins (edges
   * racing on the same new key all learn the winner); `replace` re-pins (the old origin is gone);
   * either way the idle TTL (`ttlMs`) starts again. At the cap (affinity.ts), the 1% of sessions
   * that expire soonest make room.
   */
  affinityPut(key: string, poolId: string, origin: string, ttlMs: number, replace = false): SessionPin {
    this.#open();
    const now = this.#clock.now();
    return this.ctx.storage.transactionSync(() => this.#affinity.put(key, { poolId, origin }, ttlMs, replace, now));
  }

  /** The health event log, newest first; `before` is an event id for the next page. */
  events(limit = 50, before?: number): EventsPage {
    this.#open();
    const rows = this.#sql.all<{ id: number; at: number; pool_id: string; origin: string; from_state: string; to_state: string; reason: string }>(
      'SELECT * FROM health_events WHERE id < ? ORDER BY id DESC LIMIT ?',
      before ?? Number.MAX_SAFE_INTEGER,
      limit + 1,
    );
    const events = rows
      .slice(0, limit)
      .map((r) => ({ id: r.id, at: r.at, poolId: r.pool_id, origin: r.origin, from: r.from_state, to: r.to_state, reason: r.reason }));
    return rows.length > limit ? { events, next: events.at(-1)!.id } : { events };
  }

  /** Every origin's full record (for the admin API's health and backend-stats views). */
  records(): OriginRecord[] {
    this.#open();
    const now = this.#clock.now();
    return [...this.#entries].map(([k, e]) => {
      const [poolId, origin] = split(k);
      return { poolId, origin, health: e.health, total: e.total, usable: healthUsable(e.health, now) };
    });
  }

  /** Sends a test notification to `webhook` now, signed like the real ones (notify.ts); stores nothing. */
  testWebhook(webhook: Webhook): Promise<WebhookTestResult> {
    return this.#notifier.test(webhook);
  }

  /** Outbox rows waiting for subscriber `name`: a webhook's delivery status (`webhook:<id>`). */
  subscriberStatus(name: string): SubscriberStatus {
    this.#open();
    return this.#notifier.status(name);
  }

  /** Counters for operators: affinity sessions and evictions, undelivered outbox rows, rows written. */
  stats(): LbStateStats {
    this.#open();
    return {
      affinity: { sessions: this.#affinity.count(), max: this.#affinity.maxRows, evicted: this.#affinity.evicted() },
      outboxPending: this.#outbox.pending(),
      rowsWritten: this.#sql.rowsWritten,
    };
  }

  /** DNS failover's status: desired and published records, last run, success and error, next run (dns.ts). */
  dnsStatus(): DnsStatus {
    this.#open();
    return this.#dns.status(this.#clock.now(), this.#schedule.of('dns').get(this.#targets.lbId) ?? null);
  }

  /** Traffic totals since creation and health gauges, per watched origin (metrics.ts). */
  metrics(): LbMetrics {
    this.#open();
    return lbMetrics(this.#targets, (k) => this.#entries.get(k)?.health, this.#traffic, this.#clock.now());
  }

  /** The traffic series at `resolution` from `since` (epoch ms), for charts (metrics.ts). Throws on a bad argument. */
  series(resolution: Resolution, since?: number): SeriesReply {
    this.#open();
    return this.#traffic.series(resolution, since, this.#clock.now());
  }

  /** Probes `origins` with `monitor` now (admin API preview; the Worker holds no probe code). Stores nothing. */
  previewMonitor(monitor: Monitor, origins: ProbeTarget[]): Promise<ProbePreview[]> {
    return Promise.all(origins.map((o) => previewProbe(monitor, o)));
  }

  /** Cloudflare's two-step preview (previews.ts): probes every origin of `pools` with `monitor` now and keeps the result for an hour. */
  previewStore(monitor: Monitor, pools: Pool[]): Promise<StoredPreview> {
    return this.#previews.run(monitor, pools);
  }

  /** The preview kept here; null when none was made here or it expired. */
  async previewResult(): Promise<StoredPreview | null> {
    return (await this.#previews.read()) ?? null;
  }

  /** Test hook (not reachable over RPC): applies `hooks`, then waits for deliveries under way. */
  async [TESTING](hooks: TestHooks = {}): Promise<void> {
    if (hooks.clock) this.#clock = hooks.clock;
    if (hooks.subscribers) {
      this.#subscribers = hooks.subscribers;
      this.#subscribersHooked = true;
    }
    if (hooks.runners) Object.assign(this.#runners, hooks.runners);
    if (hooks.affinityMaxRows !== undefined) this.#affinity.maxRows = hooks.affinityMaxRows;
    if (hooks.deliveryDeadlineMs !== undefined) this.#deliveryDeadlineMs = hooks.deliveryDeadlineMs;
    if (hooks.dnsProvider) this.#dnsProvider = hooks.dnsProvider;
    while (this.#deliveries.size) await Promise.all(this.#deliveries);
    await this.#dns.idle();
  }

  // ------------------------------------------------------------------------------------- jobs

  /** `probe` jobs: probes the origins (concurrently), applies the results, answers each next due time. */
  async #probe(keys: string[], now: number): Promise<JobResult[]> {
    const plan = keys.map((k) => {
      const w = this.#watched.get(k);
      return w?.monitor ? { k, pool: w.pool, monitor: w.monitor, origin: w.origin } : undefined;
    });
    // probeOrigin never throws; should it ever, that origin's probe failed, not the round.
    const results = await Promise.all(
      plan.map(
        (p) =>
          p && probeOrigin(p.monitor, p.origin).catch((e: unknown): ProbeResult => ({ ok: false, rtt: 0, status: 0, reason: `probe failed: ${String(e)}` })),
      ),
    );
    const done = this.#clock.now();
    return this.ctx.storage.transactionSync(() => {
      let changed = false;
      const next = plan.map((p, i): JobResult => {
        const e = p && this.#entries.get(p.k);
        const r = results[i];
        if (!p || !e || !r) return null; // no longer watched or monitored
        const { health, change } = applyProbe(e.health, r, p.monitor, done);
        e.health = health;
        if (change) {
          changed = true;
          this.#emit({ at: done, poolId: p.pool.id, origin: p.origin.name, from: change.from, to: change.to, reason: change.reason });
        }
        if (r.ok && this.#latency.note('probe', p.pool.id, r.rtt, 1, done)) changed = true;
        // Envoy's successful_active_health_check_uneject_host, narrowed: only when the prober saw
        // the origin go down and come back is an ejection's evidence stale. An origin that keeps
        // passing probes while failing traffic stays ejected for its full ejection time.
        if (change?.from === 'unhealthy' && change.to === 'healthy' && health.ejectedUntil > done) {
          e.health = { ...health, ejectedUntil: 0 };
          this.#emit({
            at: done,
            poolId: p.pool.id,
            origin: p.origin.name,
            from: 'ejected',
            to: 'in rotation',
            reason: 'active health check passed after the origin was down',
          });
        }
        this.#origins.update(p.k, e);
        // Next probe one interval after this one started, plus up to 10% jitter.
        return now + p.monitor.interval * 1000 * (1 + this.#clock.random() * 0.1);
      });
      this.#derive(done);
      this.#saveLatency(done);
      if (changed) this.#setMeta('version', String(++this.#version));
      return next;
    });
  }

  /**
   * `deliver` job of one subscriber: leases its oldest due rows and starts their delivery without
   * waiting for it (probes never wait on a subscriber); the delivery reschedules the job when it settles.
   */
  #startDelivery(name: string, now: number): JobResult {
    const subscriber = this.#subscribers.find((s) => s.name === name);
    if (!subscriber) return null; // no longer registered: its rows wait for prune
    const leaseUntil = now + this.#deliveryDeadlineMs + LEASE_MARGIN_MS;
    const batch = this.ctx.storage.transactionSync(() => {
      const b = this.#outbox.lease(name, now, leaseUntil);
      if (b !== null && typeof b === 'object') this.#schedule.set('deliver', name, leaseUntil);
      return b;
    });
    if (batch === null || typeof batch === 'number') return batch;
    const delivery = this.#deliver(subscriber, batch);
    this.#deliveries.add(delivery);
    void delivery.finally(() => this.#deliveries.delete(delivery));
    this.ctx.waitUntil(delivery);
    return RESCHEDULED;
  }

  /** Delivers a leased batch within the deadline and settles it: removed, or backed off. Never throws. */
  async #deliver(subscriber: Subscriber, batch: Batch): Promise<void> {
    const error = await deliverWithin(subscriber, batch.events, this.#deliveryDeadlineMs);
    try {
      const now = this.#clock.now();
      const next = this.ctx.storage.transactionSync(() => {
        const head = this.#outbox.settle(batch, error, now, this.#clock.random());
        if (head === null) this.#schedule.remove('deliver', subscriber.name);
        else this.#schedule.set('deliver', subscriber.name, head);
        return head;
      });
      if (error !== undefined) {
        console.error(
          `LbState: delivering ${batch.events.length} event(s) to ${subscriber.name} failed (${batch.attempts + 1} in a row), next try at ${iso(next ?? now)}: ${error}`,
        );
      }
      await this.#arm();
    } catch (e) {
      console.error(`LbState: settling a delivery to ${subscriber.name} failed (its lease runs out and it goes again):`, e);
    }
  }

  /** `prune` job: event-log retention, old outbox rows, stale latency figures. Answers the next run, null when nothing is left. */
  #prune(now: number): JobResult {
    return this.ctx.storage.transactionSync(() => {
      this.#sql.run('DELETE FROM health_events WHERE at < ?', now - EVENTS_MAX_AGE_MS);
      this.#sql.run('DELETE FROM health_events WHERE id <= (SELECT id FROM health_events ORDER BY id DESC LIMIT 1 OFFSET ?)', EVENTS_MAX);
      const dropped = this.#outbox.dropBefore(now - EVENTS_MAX_AGE_MS);
      if (dropped) console.error(`LbState: dropped ${dropped} outbox row(s) undelivered for ${EVENTS_MAX_AGE_MS / 86_400_000} days`);
      this.#latency.prune(now);
      const left = this.#sql.first<{ any: number }>(
        'SELECT EXISTS (SELECT 1 FROM health_events) OR EXISTS (SELECT 1 FROM outbox) OR EXISTS (SELECT 1 FROM latency) AS any',
      );
      return left?.any ? now + PRUNE_EVERY_MS : null;
    });
  }

  // ---------------------------------------------------------------------------------- helpers

  /** A health transition: its event-log row, one outbox row per subscriber, a DNS run soon. Call inside the transaction that writes the transition. */
  #emit(event: HealthEvent): void {
    const now = this.#clock.now();
    this.#log(event);
    const names = this.#subscribers.filter((s) => s.wants?.(event) ?? true).map((s) => s.name);
    this.#outbox.add(event, names, now);
    for (const name of names) this.#schedule.soonest('deliver', name, now);
    this.#dns.touched(now);
  }

  /** An event-log row only (DNS failover's own events). Call inside a transaction. */
  #log(event: HealthEvent): void {
    const now = this.#clock.now();
    this.#sql.run(
      'INSERT INTO health_events (at, pool_id, origin, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?, ?)',
      event.at,
      event.poolId,
      event.origin,
      event.from,
      event.to,
      event.reason,
    );
    this.#schedule.ensure('prune', 'retention', now + PRUNE_EVERY_MS);
  }

  /** Sets the alarm to the earliest due job, never at or before now (nor before `floor`); deletes it when nothing is scheduled. */
  async #arm(floor = 0): Promise<number | null> {
    const next = this.#schedule.next();
    if (next === null) {
      await this.ctx.storage.deleteAlarm();
      return null;
    }
    // At least now + 1 ms: inside alarm() the runtime drops an alarm set for the instant it runs
    // at, which would stop every job for good. Set unconditionally: inside alarm() getAlarm()
    // reads null until a new alarm is set, so a compare-and-set would depend on where it runs.
    const at = Math.max(Math.ceil(next), Math.ceil(floor), Math.floor(this.#clock.now()) + 1);
    await this.ctx.storage.setAlarm(at);
    return at;
  }

  /** Reads what is stored (and migrates) on first use. */
  #open(): void {
    if (this.#opened) return;
    migrate(this.#sql.raw);
    const meta = new Map(this.#sql.all<{ key: string; value: string }>('SELECT key, value FROM meta').map((r) => [r.key, r.value]));
    this.#targetsJson = meta.get('targets') ?? '';
    this.#watch(this.#targetsJson ? (JSON.parse(this.#targetsJson) as Targets) : { lbId: '', pools: [] });
    this.#version = Number(meta.get('version') ?? 0);
    this.#entries = this.#origins.load();
    const now = this.#clock.now();
    this.#latency.load(now);
    this.#traffic.load();
    // A subscriber registered again after a while without its job: its waiting rows go out again
    // (the alarm is armed by the next sync, at the latest the cron watchdog's).
    for (const s of this.#subscribers) if (this.#outbox.has(s.name)) this.#schedule.ensure('deliver', s.name, now);
    this.#opened = true;
  }

  #watch(targets: Targets): void {
    this.#targets = targets;
    if (!this.#subscribersHooked) this.#subscribers = subscribersFor(targets, this.#notifier);
    this.#watched = new Map(
      targets.pools.flatMap(({ pool, monitor }) => pool.origins.map((origin) => [keyOf(pool.id, origin.name), { pool, monitor, origin }] as const)),
    );
  }

  /** Pool and fallback transitions since the last look (notify.ts), emitted; answers how many. Call inside a transaction. */
  #derive(now: number): number {
    const usable = (pool: Pool, i: number) => healthUsable(this.#entries.get(keyOf(pool.id, pool.origins[i]!.name))?.health, now);
    const events = this.#notifier.derive(this.#targets, usable, now);
    for (const e of events) this.#emit(e);
    return events.length;
  }

  #setMeta(key: string, value: string): void {
    this.#sql.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', key, value);
  }

  /** Writes the latency figures that moved or are due a re-write (inside a transaction); `prune` drops them when stale. */
  #saveLatency(now: number): void {
    if (this.#latency.save(now)) this.#schedule.ensure('prune', 'retention', now + PRUNE_EVERY_MS);
  }
}
