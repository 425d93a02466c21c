/**
 * Pool latency for `dynamic_latency` steering: exponentially weighted moving averages (ms) per
 * pool and per place. Places are `probe` (the LbState's health probes, Cloudflare's source) and,
 * our step beyond probe-only latency, `colo:<IATA>` and `region:<code>`: what real requests
 * through edges there measured (time to response headers). A decision reads the most local
 * place that has a figure for the pool: the edge's colo, then its region, then the probes.
 */
import { regionOf } from '../steer/regions.ts';
import type { PlaceFacts } from '../steer/pools.ts';

import { EWMA_ALPHA } from '../steer/policy.ts';
/** A place's figure for a pool is dropped when nothing refreshed it for this long (ms). */
export const LATENCY_TTL_MS = 10 * 60_000;

/** Figures by place, then pool id (ms, one decimal). */
export type LatencyTable = Record<string, Record<string, number>>;

interface Figure {
  ewma: number;
  published: number;
  at: number;
}

/** The averages one LbState keeps; `note` says when a figure moved enough to publish (> 10%). */
export class LatencyBook {
  readonly #figures = new Map<string, Map<string, Figure>>();

  /**
   * Folds `count` samples with mean `meanMs` into (place, pool): each sample weighs
   * EWMA_ALPHA, so a batch weighs 1 − (1 − α)^count. True when the figure moved more than
   * 10% from what was last published (or is new): edges should hear of it.
   */
  note(place: string, poolId: string, meanMs: number, count: number, now: number): boolean {
    if (!(count > 0) || !Number.isFinite(meanMs) || meanMs < 0) return false;
    let byPool = this.#figures.get(place);
    if (!byPool) this.#figures.set(place, (byPool = new Map()));
    const f = byPool.get(poolId);
    if (!f) {
      byPool.set(poolId, { ewma: meanMs, published: meanMs, at: now });
      return true;
    }
    f.ewma += (1 - (1 - EWMA_ALPHA) ** Math.min(count, 50)) * (meanMs - f.ewma);
    f.at = now;
    if (Math.abs(f.ewma - f.published) <= 0.1 * Math.max(f.published, 1)) return false;
    f.published = f.ewma;
    return true;
  }

  /** Every fresh figure (refreshed within LATENCY_TTL_MS of `now`); stale ones are forgotten. */
  table(now: number): LatencyTable {
    const out: LatencyTable = {};
    for (const [place, byPool] of this.#figures) {
      for (const [poolId, f] of byPool) {
        if (now - f.at > LATENCY_TTL_MS) byPool.delete(poolId);
        else (out[place] ??= {})[poolId] = Math.round(f.ewma * 10) / 10;
      }
      if (!byPool.size) this.#figures.delete(place);
    }
    return out;
  }
}

/** The places an edge's measurement is filed under: its colo and its region (either may be unknown). */
export function placesOf(place: PlaceFacts | undefined): string[] {
  const out: string[] = [];
  const colo = place?.colo?.toUpperCase();
  if (colo) out.push(`colo:${colo}`);
  const region = place && regionOf(place.country, place.continent, place.longitude);
  if (region) out.push(`region:${region}`);
  return out;
}

/** A pool's latency (ms) as seen from `place`: its colo's figure, else its region's, else the probes'. */
export function latencyAt(table: LatencyTable, poolId: string, place: PlaceFacts | undefined): number | undefined {
  for (const p of placesOf(place)) {
    const ms = table[p]?.[poolId];
    if (ms !== undefined) return ms;
  }
  return table.probe?.[poolId];
}
