/**
 * The edge's view of health: per load balancer, a cached LbState snapshot (same refresh rules as
 * the config: background refresh after 1 s, wait past 2 s) turned into the `Usable` filter that
 * routing applies; and the passive-health reports, batched, at most one per second per load
 * balancer per isolate.
 */
import type { Candidate, Usable } from '../../core/route/index.ts';
import type { Outcome } from '../../core/health/index.ts';
import type { HealthSnapshot, OutcomeReport } from '../../durable-objects/lb-state/index.ts';
import { lbState, type Env } from '../env.ts';
import { VersionedCache } from '../config-cache/index.ts';

type Reply = HealthSnapshot | { version: number; origins?: undefined };
export interface HealthView {
  version: number;
  usable: Usable;
  /** Pool latency (ms) from probe RTTs, for dynamic_latency. */
  poolLatency: (poolId: string) => number | undefined;
}

/** Builds the filter once per health version: an origin is usable unless marked down or ejected. */
export function compileHealth(reply: Reply, now: () => number = Date.now): HealthView | undefined {
  const origins = reply.origins;
  if (!origins) return undefined;
  const latency = reply.latency ?? {};
  return {
    version: reply.version,
    poolLatency: (poolId) => latency[poolId],
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
interface Buffer {
  /** Per origin, its outcomes in order as runs (a success run of any length is one entry). */
  runs: Map<string, OutcomeReport>;
  order: OutcomeReport[];
  lastSent: number;
  scheduled: boolean;
}
const buffers = new Map<string, Buffer>();

/**
 * Buffers what an attempt saw, run-length encoded per origin (order per origin is what outlier
 * detection needs); sends the batch now if none went in the last second, else schedules it.
 */
export function observe(env: Env, ctx: { waitUntil(p: Promise<unknown>): void }, lbId: string, candidate: Candidate, outcome: Outcome): void {
  let b = buffers.get(lbId);
  if (!b) buffers.set(lbId, (b = { runs: new Map(), order: [], lastSent: 0, scheduled: false }));
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
    buffer.runs.clear();
    buffer.lastSent = Date.now();
    buffer.scheduled = false;
    return items.length ? lbState(env, lbId).report(items).then(() => undefined, (e: unknown) => console.error('outcome report failed', String(e))) : undefined;
  };
  ctx.waitUntil(wait <= 0 ? Promise.resolve().then(send) : new Promise((r) => setTimeout(r, wait)).then(send));
}
