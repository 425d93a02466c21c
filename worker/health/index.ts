/**
 * The edge's view of health: per load balancer, a cached LbState snapshot (same refresh rules as
 * the config: background refresh after 1 s, wait past 2 s) turned into the `Usable` filter that
 * routing applies; and the passive-health reports, batched, at most one per second per load
 * balancer per isolate.
 */
import type { Candidate, Usable } from '../../core/route/index.ts';
import type { Outcome } from '../../core/health/index.ts';
import type { HealthSnapshot, LatencyReport, OutcomeReport } from '../../durable-objects/lb-state/index.ts';
import { latencyAt, placesOf } from '../../core/health/latency.ts';
import type { PlaceFacts } from '../../core/steer/pools.ts';
import { lbState, type Env } from '../env.ts';
import { VersionedCache } from '../config-cache/index.ts';

type Reply = HealthSnapshot | { version: number; origins?: undefined };
export interface HealthView {
  version: number;
  usable: Usable;
  /** Pool latency (ms) as seen from `place`, for dynamic_latency (core/health/latency latencyAt). */
  poolLatency: (poolId: string, place: PlaceFacts | undefined) => number | undefined;
}

/** Builds the filter once per health version: an origin is usable unless marked down or ejected. */
export function compileHealth(reply: Reply, now: () => number = Date.now): HealthView | undefined {
  const origins = reply.origins;
  if (!origins) return undefined;
  const latency = reply.latency ?? {};
  return {
    version: reply.version,
    poolLatency: (poolId, place) => latencyAt(latency, poolId, place),
    usable: (pool, i) => {
      const h = origins[pool.id]?.[pool.origins[i]!.name];
      return !h || (h.verdict !== 'unhealthy' && (h.ejectedUntil === 0 || h.ejectedUntil <= now()));
    },
  };
}

const EVERYTHING: HealthView = { version: -1, usable: () => true, poolLatency: () => undefined };
const caches = new Map<string, VersionedCache<Reply, HealthView>>();

/** The health view of load balancer `lbId` in this isolate (all usable until first known). */
export function healthOf(env: Env, lbId: string, ctx: { waitUntil(p: Promise<unknown>): void }): HealthView | Promise<HealthView> {
  let cache = caches.get(lbId);
  if (!cache) caches.set(lbId, (cache = new VersionedCache<Reply, HealthView>((r) => compileHealth(r), () => EVERYTHING)));
  const view = cache.get(openLbState, { env, lbId }, ctx);
  return view instanceof Promise ? view.catch(() => EVERYTHING) : view;
}

const openLbState = ({ env, lbId }: { env: Env; lbId: string }) => lbState(env, lbId);

/** Classifies an attempt the way Envoy's outlier detection does. `status` undefined = no answer. */
export function outcomeOf(status: number | undefined): Outcome {
  if (status === undefined || status === 502 || status === 503 || status === 504) return 'gateway_failure';
  return status >= 500 ? '5xx' : 'success';
}

const MIN_REPORT_INTERVAL_MS = 1000;
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
  lastSent: number;
  scheduled: boolean;
}
const buffers = new Map<string, Buffer>();

/**
 * Buffers what an attempt saw, run-length encoded per origin (order per origin is what outlier
 * detection needs), with its latency summed per pool and place when measured; sends the batch
 * now if none went in the last second, else schedules it.
 */
export function observe(env: Env, ctx: { waitUntil(p: Promise<unknown>): void }, lbId: string, candidate: Candidate, outcome: Outcome, sample?: LatencySample): void {
  let b = buffers.get(lbId);
  if (!b) buffers.set(lbId, (b = { runs: new Map(), order: [], latencies: new Map(), lastSent: 0, scheduled: false }));
  if (sample && outcome === 'success') {
    const places = placesOf(sample.place);
    const lk = `${candidate.pool.id}\u0000${places.join(' ')}`;
    const l = b.latencies.get(lk);
    if (l) (l.sumMs += sample.ms), l.count++;
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
  if (b.scheduled) return;
  const wait = b.lastSent + MIN_REPORT_INTERVAL_MS - Date.now();
  b.scheduled = true;
  const buffer = b;
  const send = () => {
    const items = buffer.order.splice(0);
    const latencies: LatencyReport[] = [...buffer.latencies.values()].map(({ sumMs, ...l }) => ({ ...l, meanMs: sumMs / l.count }));
    buffer.runs.clear();
    buffer.latencies.clear();
    buffer.lastSent = Date.now();
    buffer.scheduled = false;
    return items.length ? lbState(env, lbId).report(items, latencies).then(() => undefined, (e: unknown) => console.error('outcome report failed', String(e))) : undefined;
  };
  ctx.waitUntil(wait <= 0 ? Promise.resolve().then(send) : new Promise((r) => setTimeout(r, wait)).then(send));
}
