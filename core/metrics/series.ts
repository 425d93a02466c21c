/**
 * A load balancer's traffic over time, as LbState keeps it and `series()` answers it: one point
 * per interval of the resolution, for the whole load balancer (TrafficCounts: status classes,
 * failures, bytes, latency histogram) plus the requests and errors of its busiest origins.
 *
 * Bounded by design (LbState stores each resolution as a ring of rows, one row per point):
 * - `10s`: 360 points (the last hour); `1m`: 1,440 points (the last 24 h); 1,800 rows per load
 *   balancer, whatever its number of origins.
 * - A point names at most SERIES_MAX_ORIGINS (20) origins, the busiest in it; the rest are summed
 *   in `other`. A point is ~250 bytes plus ~50 per origin named with typical names (at most ~230
 *   with the longest pool ids and origin names): ~1.3 KB typical, under 5 KB at worst; so at most
 *   ~2.3 MB typical and ~9 MB worst case per load balancer, with 10 or 1,000 origins alike.
 * - A minute point is the sum of its six 10 s points (its origins: the busiest of theirs).
 */
import { addInto, emptyCounts, type TrafficCounts } from './index.ts';

/** Resolutions of the series: the interval of a point (ms) and how many are kept. */
export const RESOLUTIONS = {
  '10s': { stepMs: 10_000, points: 360 },
  '1m': { stepMs: 60_000, points: 1440 },
} as const;
export type Resolution = keyof typeof RESOLUTIONS;

/** A point names at most this many origins (the busiest); the rest are summed in `other`. */
export const SERIES_MAX_ORIGINS = 20;

/** An origin's share of a point: attempts and failed attempts (5xx, connect errors, timeouts). */
export interface OriginShare {
  poolId: string;
  origin: string;
  requests: number;
  errors: number;
}

/** One interval [at, at + stepMs) of a load balancer's traffic. */
export interface SeriesPoint extends TrafficCounts {
  /** Start of the interval, epoch ms (a multiple of the step). */
  at: number;
  /** Attempts in the interval (responses + connect errors + timeouts). */
  requests: number;
  /** The busiest origins in the interval (at most SERIES_MAX_ORIGINS), most requests first, then by pool id and name. */
  origins: OriginShare[];
  /** Every other origin, summed. */
  other: { requests: number; errors: number };
}

/** The start of the interval that holds `t` (epoch ms). */
export const intervalOf = (t: number, stepMs: number): number => Math.floor(t / stepMs) * stepMs;

/** A point from its totals and every origin's share: the busiest SERIES_MAX_ORIGINS named, the rest in `other`. */
export function makePoint(at: number, counts: TrafficCounts, requests: number, shares: Iterable<OriginShare>, other = { requests: 0, errors: 0 }): SeriesPoint {
  const all = [...shares].sort((a, b) => b.requests - a.requests || cmp(a.poolId, b.poolId) || cmp(a.origin, b.origin));
  const rest = { ...other };
  for (const s of all.slice(SERIES_MAX_ORIGINS)) ((rest.requests += s.requests), (rest.errors += s.errors));
  return { at, ...counts, requests, origins: all.slice(0, SERIES_MAX_ORIGINS), other: rest };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The sum of `points` as one point at `at` (a minute from its 10 s points). */
export function mergePoints(at: number, points: readonly SeriesPoint[]): SeriesPoint {
  const counts = emptyCounts();
  const shares = new Map<string, OriginShare>();
  const other = { requests: 0, errors: 0 };
  let requests = 0;
  for (const p of points) {
    addInto(counts, p);
    requests += p.requests;
    other.requests += p.other.requests;
    other.errors += p.other.errors;
    for (const o of p.origins) {
      const k = `${o.poolId}/${o.origin}`;
      const s = shares.get(k);
      if (s) ((s.requests += o.requests), (s.errors += o.errors));
      else shares.set(k, { ...o });
    }
  }
  return makePoint(at, counts, requests, shares.values(), other);
}

/** A point with nothing in it. */
export const emptyPoint = (at: number): SeriesPoint => ({ at, ...emptyCounts(), requests: 0, origins: [], other: { requests: 0, errors: 0 } });

/** One point per step from `from` to `to` (exclusive, both multiples of `stepMs`): the stored point at that time, else an empty one. */
export function densePoints(stored: readonly SeriesPoint[], from: number, to: number, stepMs: number): SeriesPoint[] {
  const byAt = new Map(stored.map((p) => [p.at, p]));
  const out: SeriesPoint[] = [];
  for (let at = from; at < to; at += stepMs) out.push(byAt.get(at) ?? emptyPoint(at));
  return out;
}
