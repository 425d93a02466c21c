/**
 * The edge's view of health, per isolate:
 * - HealthViews: per load balancer, a cached LbState snapshot (same refresh rules as the config,
 *   see VersionedCache) turned into the `Usable` filter that routing applies. The rule itself is
 *   core's healthUsable.
 * - OutcomeReports: what attempts saw (passive health, dynamic_latency samples, traffic counts
 *   for metrics), batched and sent at most once a second per load balancer per isolate.
 * Both belong to the isolate's state (worker/isolate.ts); clocks are injected.
 */
import type { Pool } from '../../core/config/index.ts';
import { TrafficBatch } from '../../core/metrics/index.ts';
import type { Candidate, Usable } from '../../core/route/index.ts';
import { healthUsable, type Outcome } from '../../core/health/index.ts';
import type { Client, HealthReply, LatencyReport, LbStateApi, OutcomeReport } from '../../core/rpc/index.ts';
import { latencyAt, placesOf } from '../../core/health/latency.ts';
import type { PlaceFacts } from '../../core/steer/pools.ts';
import { VersionedCache } from '../config-cache/index.ts';

export interface HealthView {
  version: number;
  usable: Usable;
  /** Pool latency (ms) as seen from `place`, for dynamic_latency (core/health/latency latencyAt). */
  poolLatency: (poolId: string, place: PlaceFacts | undefined) => number | undefined;
}

/** What is known before an LbState has answered: every origin usable, no latency. */
export const EVERYTHING: HealthView = { version: -1, usable: () => true, poolLatency: () => undefined };

/** Builds the filter once per health version (core/health healthUsable at the time of each call). */
export function compileHealth(reply: HealthReply, now: () => number = Date.now): HealthView | undefined {
  const origins = reply.origins;
  if (!origins) return undefined;
  const latency = reply.latency ?? {};
  return {
    version: reply.version,
    poolLatency: (poolId, place) => latencyAt(latency, poolId, place),
    usable: (pool, i) => healthUsable(origins[pool.id]?.[pool.origins[i]!.name], now()),
  };
}

type Background = { waitUntil(p: Promise<unknown>): void };

/** Each load balancer's health view in this isolate. */
export class HealthViews {
  readonly #caches = new Map<string, VersionedCache<HealthReply, HealthView>>();
  readonly #now: () => number;
  readonly #deadlineMs: number | undefined;
  constructor(now: () => number = Date.now, deadlineMs?: number) {
    this.#now = now;
    this.#deadlineMs = deadlineMs;
  }

  /** The view of `lbId` (all usable until its LbState first answers, or while it cannot be reached). */
  get(lbId: string, open: (lbId: string) => Client<LbStateApi>, background: Background): HealthView | Promise<HealthView> {
    let cache = this.#caches.get(lbId);
    if (!cache) {
      const now = this.#now;
      cache = new VersionedCache<HealthReply, HealthView>(
        (r) => compileHealth(r, now),
        () => EVERYTHING,
        { now, deadlineMs: this.#deadlineMs },
      );
      this.#caches.set(lbId, cache);
    }
    const view = cache.get(open, lbId, background);
    return view instanceof Promise ? view.catch(() => EVERYTHING) : view;
  }
}

/** Reports are sent at most this often per load balancer per isolate (ms). */
export const MIN_REPORT_INTERVAL_MS = 1000;

/** A latency measurement of one attempt: ms to response headers, and where the edge is. */
export interface LatencySample {
  ms: number;
  place: PlaceFacts | undefined;
}

interface Buffer {
  /** Per origin, its outcomes in order as runs (a success run of any length is one entry). */
  runs: Map<string, OutcomeReport>;
  order: OutcomeReport[];
  /** Per pool and place: samples summed until sent. */
  latencies: Map<string, { poolId: string; places: string[]; sumMs: number; count: number }>;
  /** Traffic counts for metrics (core/metrics), per pool and origin. */
  traffic: TrafficBatch<Pool>;
  lastSent: number;
  scheduled: boolean;
}

/** Where batches go (each load balancer's LbState `report`), and what keeps the sending alive. */
export interface ReportTarget extends Background {
  lbState(lbId: string): Pick<Client<LbStateApi>, 'report'>;
}

/**
 * Buffers what attempts saw, run-length encoded per origin (order per origin is what outlier
 * detection needs), with latency summed per pool and place when measured; a load balancer's
 * batch goes now if none went in the last MIN_REPORT_INTERVAL_MS, else when that has passed.
 */
export class OutcomeReports {
  readonly #buffers = new Map<string, Buffer>();
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  constructor(now: () => number = Date.now, sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))) {
    this.#now = now;
    this.#sleep = sleep;
  }

  observe(lbId: string, candidate: Candidate, outcome: Outcome, sample: LatencySample | undefined, target: ReportTarget): void {
    const b = this.#buffer(lbId);
    if (sample && outcome === 'success') {
      const places = placesOf(sample.place);
      const lk = `${candidate.pool.id}\u0000${places.join(' ')}`;
      const l = b.latencies.get(lk);
      if (l) ((l.sumMs += sample.ms), l.count++);
      else if (places.length) b.latencies.set(lk, { poolId: candidate.pool.id, places, sumMs: sample.ms, count: 1 });
    }
    const key = `${candidate.pool.id}\u0000${candidate.origin.name}`;
    const last = b.runs.get(key);
    if (last && last.outcome === outcome) last.count++;
    else {
      const run: OutcomeReport = { poolId: candidate.pool.id, origin: candidate.origin.name, outcome, count: 1 };
      b.runs.set(key, run);
      b.order.push(run);
    }
    this.#schedule(lbId, b, target);
  }

  /**
   * Counts one attempt for metrics (core/metrics countAttempt: `status`, or CONNECT_ERROR /
   * TIMEOUT; ms to response headers; body bytes sent and received, 0 = unknown; whether it was a
   * retry). Allocates nothing once the origin has been counted in this batch.
   */
  count(lbId: string, candidate: Candidate, status: number, ms: number, sent: number, received: number, retry: boolean, target: ReportTarget): void {
    const b = this.#buffer(lbId);
    b.traffic.count(candidate.pool, candidate.originIndex, status, ms, sent, received, retry);
    this.#schedule(lbId, b, target);
  }

  #buffer(lbId: string): Buffer {
    let b = this.#buffers.get(lbId);
    if (!b) {
      b = { runs: new Map(), order: [], latencies: new Map(), traffic: new TrafficBatch(), lastSent: -Infinity, scheduled: false };
      this.#buffers.set(lbId, b);
    }
    return b;
  }

  /** Sends `b` now if nothing went in the last MIN_REPORT_INTERVAL_MS, else when that has passed. */
  #schedule(lbId: string, b: Buffer, target: ReportTarget): void {
    if (b.scheduled) return;
    b.scheduled = true;
    const wait = b.lastSent + MIN_REPORT_INTERVAL_MS - this.#now();
    const buffer = b;
    const send = () => {
      const items = buffer.order.splice(0);
      const latencies: LatencyReport[] = [...buffer.latencies.values()].map(({ sumMs, ...l }) => ({ ...l, meanMs: sumMs / l.count }));
      const traffic = buffer.traffic.drain();
      buffer.runs.clear();
      buffer.latencies.clear();
      buffer.lastSent = this.#now();
      buffer.scheduled = false;
      if (!items.length && !traffic.length) return undefined;
      return target
        .lbState(lbId)
        .report(items, latencies, traffic)
        .then(
          () => undefined,
          (e: unknown) => console.error('outcome report failed', String(e)),
        );
    };
    target.waitUntil(wait <= 0 ? Promise.resolve().then(send) : this.#sleep(wait).then(send));
  }
}
