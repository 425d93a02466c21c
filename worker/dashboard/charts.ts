/**
 * Chart data from a load balancer's traffic series (LbState `series()`, core/metrics/series: one
 * point per 10 s, the interval under way not included), shaped as uPlot's columns.
 *
 * The admin API has no JSON route for the series (it serves the Prometheus exposition), so the
 * dashboard reads it from the load balancer's LbState over RPC, and only for a load balancer the
 * session's token was just allowed to read through the API. Without metrics (an LbState that
 * does not answer `series`) the charts fall back to the request counts the page polls.
 */
import { LATENCY_BOUNDS_MS } from '../../core/metrics/index.ts';
import type { SeriesPoint } from '../../core/metrics/series.ts';
import type { SeriesReply } from '../../core/rpc/index.ts';
import { lbState } from '../rpc.ts';

/** uPlot columns: `t` in epoch s; rates in requests/s; errors in % of requests; latency in ms; share in % per origin key. */
export interface ChartSeries {
  stepS: number;
  t: number[];
  rate: number[];
  errors: (number | null)[];
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
  share: Record<string, (number | null)[]>;
}

/** How far back the charts go (ms): 10 minutes, 60 points of 10 s. */
export const CHART_WINDOW_MS = 10 * 60_000;

/**
 * The `q` quantile (0-1) of a histogram of per-bucket counts (core/metrics: not cumulative; the
 * last bucket is above every bound), in ms: Prometheus' histogram_quantile, linear within the
 * bucket that holds the rank (from 0 for the first bucket), the highest bound for the +Inf bucket.
 * Null when the histogram is empty.
 */
export function quantile(q: number, buckets: readonly number[], bounds: readonly number[] = LATENCY_BOUNDS_MS): number | null {
  const total = buckets.reduce((n, x) => n + x, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i]!;
    if (below + n >= rank && n > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1]!;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      return lower + (bounds[i]! - lower) * ((rank - below) / n);
    }
    below += n;
  }
  return bounds[bounds.length - 1]!;
}

/** Two decimals are plenty on a chart, and keep the JSON small. */
const r2 = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);
const failed = (p: SeriesPoint) => (p.codes[4] ?? 0) + p.connectErrors + p.timeouts;

/** The charts show at least this many points (a minute of 10 s points) before the first with traffic. */
const MIN_POINTS = 6;

/**
 * The charts' columns from `reply`, with a share line for each of `keys` (`<pool id>/<origin>`).
 * Leading points without traffic are left out (a new load balancer's charts do not start with
 * minutes of nothing), but at least MIN_POINTS are kept.
 */
export function chartSeries(reply: SeriesReply, keys: readonly string[]): ChartSeries {
  const stepS = reply.stepMs / 1000;
  const busy = reply.points.findIndex((p) => p.requests > 0);
  const pts = reply.points.slice(Math.max(0, Math.min(busy < 0 ? Infinity : busy, reply.points.length - MIN_POINTS)));
  const share: ChartSeries['share'] = {};
  for (const k of keys)
    share[k] = pts.map((p) => (p.requests ? r2((100 * (p.origins.find((o) => `${o.poolId}/${o.origin}` === k)?.requests ?? 0)) / p.requests) : null));
  return {
    stepS,
    t: pts.map((p) => p.at / 1000),
    rate: pts.map((p) => r2(p.requests / stepS)!),
    errors: pts.map((p) => (p.requests ? r2((100 * failed(p)) / p.requests) : null)),
    p50: pts.map((p) => r2(quantile(0.5, p.latency))),
    p95: pts.map((p) => r2(quantile(0.95, p.latency))),
    p99: pts.map((p) => r2(quantile(0.99, p.latency))),
    share,
  };
}

/** Requests/s and error rate (%) over the last `n` points (null when nothing was sent). */
export function recent(reply: SeriesReply, n = 3): { rate: number; errors: number | null } {
  const pts = reply.points.slice(-n);
  const requests = pts.reduce((s, p) => s + p.requests, 0);
  const errs = pts.reduce((s, p) => s + failed(p), 0);
  return { rate: pts.length ? requests / (pts.length * (reply.stepMs / 1000)) : 0, errors: requests ? (100 * errs) / requests : null };
}

/** The 10 s series of `lbId` since `sinceMs`, or undefined when its LbState has no metrics to give. */
export async function readSeries(env: Pick<Env, 'LB_STATE'>, lbId: string, sinceMs: number): Promise<SeriesReply | undefined> {
  try {
    return await lbState(env, lbId).series('10s', sinceMs);
  } catch (e) {
    console.warn('dashboard: no traffic series', lbId, e instanceof Error ? e.message : String(e));
    return undefined;
  }
}
