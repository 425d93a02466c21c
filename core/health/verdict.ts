/**
 * A pool's verdict, the one rule that routing, the routing explainer, the admin health views and
 * DNS failover all call: an origin counts when it takes new traffic by configuration (enabled,
 * not draining, weight > 0; core/steer takesTraffic) and is usable by health; the pool is healthy
 * when it is enabled and at least `minimum_origins` origins count (Cloudflare's pool health).
 */
import type { Pool } from '../config/index.ts';
import { takesTraffic } from '../steer/index.ts';

/** Whether origin `i` of `pool` is usable by health now (the edge's cached view or LbState's records). */
export type UsableAt = (pool: Pool, originIndex: number) => boolean;

export interface PoolVerdict {
  /** Origins that take new traffic and are usable. */
  usable_count: number;
  /** Enabled and `usable_count >= minimum_origins`. */
  healthy: boolean;
}

/** Whether origin `i` of `pool` may be given a new request: it takes traffic and is usable. */
export function originCounts(pool: Pool, i: number, usable: UsableAt): boolean {
  return takesTraffic(pool.origins[i]!) && usable(pool, i);
}

/** How many origins of `pool` count, stopping early once `stopAt` is reached (the hot path asks "at least n?"). */
export function countUsable(pool: Pool, usable: UsableAt, stopAt = Infinity): number {
  let n = 0;
  for (let i = 0; i < pool.origins.length && n < stopAt; i++) if (originCounts(pool, i, usable)) n++;
  return n;
}

/** The pool's verdict against `minimum_origins`. */
export function poolVerdict(pool: Pool, usable: UsableAt): PoolVerdict {
  const usable_count = countUsable(pool, usable);
  return { usable_count, healthy: pool.enabled && usable_count >= pool.minimum_origins };
}
