/**
 * Origin health as one TCP app of this proxy sees it, by core's rules (core/health):
 *
 * - Active: TCP connect probes of every origin of the load balancer's pools, at the pool
 *   monitor's `interval`, `timeout`, `retries`, `consecutive_up`/`consecutive_down` (or
 *   DEFAULT_MONITOR for a pool without one), judged by core/health applyProbe.
 * - Passive: every connect attempt's outcome (success, connect_error, timeout) goes through
 *   core/health applyOutcomes with the pool's `outlier_detection` (Envoy's ejection).
 * - The admin API's view (`/pools/{id}/health`, the Worker's probes and edge reports) is a third
 *   input, trusted for ADMIN_HEALTH_MAX_AGE_MS after it was read; then only our own view counts.
 *
 * usable(pool, i) = admin says healthy (or is stale) && core healthUsable(our record, now).
 * Clocks and the probe are injected, so the tests drive it without timers.
 */
import { applyOutcomes, applyProbe, healthUsable, NEW_ORIGIN, type OriginHealth, type Outcome } from '../../core/health/index.ts';
import type { Monitor, Pool } from '../../core/config/index.ts';

/** What a pool without a monitor is probed with: every 5 s, 2 s to connect, down after 2 failures. */
export const DEFAULT_MONITOR = { interval: 5, timeout: 2, retries: 0, consecutive_up: 1, consecutive_down: 2 } as const;
/** How long an admin health read stands without being refreshed (ms). */
export const ADMIN_HEALTH_MAX_AGE_MS = 30_000;

export type ProbeMonitor = Pick<Monitor, 'interval' | 'timeout' | 'retries' | 'consecutive_up' | 'consecutive_down'>;
/** One TCP connect probe: resolves with the round trip (ms) or rejects with the reason. */
export type Probe = (address: string, port: number, timeoutMs: number) => Promise<number>;

interface PoolState {
  pool: Pool;
  monitor: ProbeMonitor;
  healths: OriginHealth[];
  /** Origin name → healthy, from the admin API, and when it was read (epoch ms). */
  admin?: { at: number; healthy: Map<string, boolean> };
  nextProbeAt: number;
}

/** The identity of a pool's origins for health: a change of addresses or ports starts afresh. */
const shape = (pool: Pool, port: (o: Pool['origins'][number]) => number) => pool.origins.map((o) => `${o.name}@${o.address}:${port(o)}`).join(',');

export class AppHealth {
  readonly #pools = new Map<string, PoolState & { shape: string }>();
  readonly #now: () => number;
  readonly #port: (o: Pool['origins'][number]) => number;

  /** `port` maps an origin to the port connected to (the app's origin_port, or the origin's); `now` in epoch ms. */
  constructor(port: (o: Pool['origins'][number]) => number, now: () => number = Date.now) {
    this.#port = port;
    this.#now = now;
  }

  /** Sets the pools to watch (with their monitors); records of unchanged pools are kept. */
  setPools(pools: readonly { pool: Pool; monitor?: Monitor }[]): void {
    const next = new Map<string, PoolState & { shape: string }>();
    for (const { pool, monitor } of pools) {
      const s = shape(pool, this.#port);
      const old = this.#pools.get(pool.id);
      const kept = old && old.shape === s;
      next.set(pool.id, {
        pool,
        shape: s,
        monitor: monitor ?? DEFAULT_MONITOR,
        healths: kept ? old.healths : pool.origins.map(() => ({ ...NEW_ORIGIN })),
        admin: kept ? old.admin : undefined,
        nextProbeAt: kept ? old.nextProbeAt : this.#now(),
      });
    }
    this.#pools.clear();
    for (const [k, v] of next) this.#pools.set(k, v);
  }

  /** Whether origin `i` of `pool` is usable by health now. */
  usable = (pool: Pool, i: number): boolean => {
    const s = this.#pools.get(pool.id);
    if (!s) return true;
    const now = this.#now();
    if (s.admin && now - s.admin.at <= ADMIN_HEALTH_MAX_AGE_MS && s.admin.healthy.get(pool.origins[i]!.name) === false) return false;
    return healthUsable(s.healths[i], now);
  };

  /** A connect attempt's outcome (passive health). */
  report(poolId: string, i: number, outcome: Outcome): void {
    const s = this.#pools.get(poolId);
    if (!s?.pool.outlier_detection.enabled) return;
    const h = s.healths[i];
    if (outcome === 'success' && h && !h.consecutive5xx && !h.consecutiveGatewayFailure) return; // nothing to reset: no copy per connection
    s.healths = applyOutcomes(s.healths, [{ origin: i, outcome }], s.pool.outlier_detection, this.#now()).healths;
  }

  /** The admin API's view of a pool (origin name → healthy). */
  setAdminHealth(poolId: string, healthy: Map<string, boolean>): void {
    const s = this.#pools.get(poolId);
    if (s) s.admin = { at: this.#now(), healthy };
  }

  /** Runs the probes that are due (each origin's retries at once, as LbState does); resolves with the transitions. */
  async probeDue(probe: Probe): Promise<{ poolId: string; origin: string; from: string; to: string; reason: string }[]> {
    const changes: { poolId: string; origin: string; from: string; to: string; reason: string }[] = [];
    const now = this.#now();
    await Promise.all(
      [...this.#pools.values()]
        .filter((s) => s.nextProbeAt <= now)
        .map(async (s) => {
          s.nextProbeAt = now + s.monitor.interval * 1000;
          const results = await Promise.all(s.pool.origins.map((o) => probeWithRetries(probe, o.address, this.#port(o), s.monitor)));
          const healths = [...s.healths];
          results.forEach((r, i) => {
            const { health, change } = applyProbe(healths[i]!, r, s.monitor, this.#now());
            healths[i] = health;
            if (change) changes.push({ poolId: s.pool.id, origin: s.pool.origins[i]!.name, ...change });
          });
          if (this.#pools.get(s.pool.id) === s) s.healths = healths;
        }),
    );
    return changes;
  }

  /** Every origin's state (for metrics): probe verdict and whether it is usable now. */
  *states(): Generator<{ poolId: string; origin: string; verdict: string; usable: boolean }> {
    for (const s of this.#pools.values()) {
      for (const [i, o] of s.pool.origins.entries())
        yield { poolId: s.pool.id, origin: o.name, verdict: s.healths[i]!.verdict, usable: this.usable(s.pool, i) };
    }
  }
}

async function probeWithRetries(probe: Probe, address: string, port: number, m: ProbeMonitor) {
  let reason = '';
  for (let attempt = 0; attempt <= m.retries; attempt++) {
    try {
      const rtt = await probe(address, port, m.timeout * 1000);
      return { ok: true, rtt, status: 0, reason: '' };
    } catch (e) {
      reason = e instanceof Error ? e.message : String(e);
    }
  }
  return { ok: false, rtt: 0, status: 0, reason };
}
