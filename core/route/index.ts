/**
 * Routing: from a config snapshot and request facts to an ordered list of origin candidates.
 *
 * Selection and health are separate (pingora's `select_with(accept)`): selectors are built once
 * per config version and know nothing of health; `Usable` filters what they yield.
 */
import type { ConfigDocument, LoadBalancer, Origin, Pool } from '../config/index.ts';
import { WeightedSelector } from '../select/weighted.ts';

export interface CompiledPool {
  readonly pool: Pool;
  /** Weighted by `origin.weight`; disabled origins carry weight 0. */
  readonly selector: WeightedSelector;
}

/** An immutable, pre-indexed view of one config version, built once and shared by requests. */
export interface Snapshot {
  readonly version: number;
  readonly pools: ReadonlyMap<string, CompiledPool>;
  /** The load balancer serving `hostname` (lower case, no port): exact name first, then the longest wildcard. */
  lookup(hostname: string): LoadBalancer | undefined;
}

/** One place a request may be sent. */
export interface Candidate {
  readonly pool: Pool;
  /** 0 for the chosen pool, 1 for the next one (failover_across_pools), and so on. */
  readonly poolRank: number;
  readonly origin: Origin;
  readonly originIndex: number;
}

/** Health filter: whether an origin of a pool may take traffic now (see issue "Health"). */
export type Usable = (pool: Pool, originIndex: number) => boolean;
export const allUsable: Usable = () => true;

export function compileSnapshot(doc: ConfigDocument, version: number): Snapshot {
  const pools = new Map<string, CompiledPool>();
  for (const pool of doc.pools) {
    pools.set(pool.id, { pool, selector: new WeightedSelector(pool.origins.map((o) => (o.enabled ? o.weight : 0))) });
  }
  const exact = new Map<string, LoadBalancer>();
  const wildcards: [suffix: string, lb: LoadBalancer][] = [];
  for (const lb of doc.load_balancers) {
    if (lb.name.startsWith('*.')) wildcards.push([lb.name.slice(1), lb]);
    else exact.set(lb.name, lb);
  }
  wildcards.sort((a, b) => b[0].length - a[0].length);
  return {
    version,
    pools,
    lookup(hostname) {
      const hit = exact.get(hostname);
      if (hit) return hit;
      for (const [suffix, lb] of wildcards) if (hostname.endsWith(suffix) && hostname.length > suffix.length) return lb;
      return undefined;
    },
  };
}

/**
 * The pools to try, in order: `default_pools`, then `fallback_pool`, each once (Cloudflare's
 * failover order for `steering_policy` off). Disabled pools and unknown ids are skipped.
 */
export function poolOrder(snapshot: Snapshot, lb: LoadBalancer): CompiledPool[] {
  const ids = [...new Set([...lb.default_pools, lb.fallback_pool])];
  return ids.flatMap((id) => {
    const p = snapshot.pools.get(id);
    return p && p.pool.enabled ? [p] : [];
  });
}

function usableCount(p: CompiledPool, usable: Usable): number {
  let n = 0;
  p.pool.origins.forEach((o, i) => {
    if (o.enabled && o.weight > 0 && usable(p.pool, i)) n++;
  });
  return n;
}

export interface Plan {
  /** The pool chosen for the first attempt. */
  readonly pool: Pool;
  /** Candidates in attempt order: the chosen pool's origins, then (with failover_across_pools) the next pools'. */
  readonly candidates: Iterable<Candidate>;
}

/**
 * Chooses a pool and orders its origins. A pool qualifies when it has at least `minimum_origins`
 * usable origins; when none does, the first pool with any usable origin is the last resort.
 * Returns undefined when nothing is usable anywhere. `random` returns uniform numbers in [0, 1).
 */
export function planRoute(snapshot: Snapshot, lb: LoadBalancer, random: () => number, usable: Usable = allUsable): Plan | undefined {
  const order = poolOrder(snapshot, lb);
  let start = order.findIndex((p) => usableCount(p, usable) >= p.pool.minimum_origins);
  if (start < 0) start = order.findIndex((p) => usableCount(p, usable) > 0);
  if (start < 0) return undefined;
  const chosen = order.slice(start, lb.adaptive_routing.failover_across_pools ? undefined : start + 1);
  return {
    pool: chosen[0]!.pool,
    candidates: {
      *[Symbol.iterator]() {
        for (const [poolRank, p] of chosen.entries()) {
          for (const i of p.selector.order(random, (i) => usable(p.pool, i))) {
            yield { pool: p.pool, poolRank, origin: p.pool.origins[i]!, originIndex: i };
          }
        }
      },
    },
  };
}
