/**
 * Pool steering (the load balancer's `steering_policy`), Cloudflare's semantics: the policy
 * orders the candidate pools; health then takes the first pool that is healthy enough, and
 * `fallback_pool` is always last (core/route).
 *
 * - `off`: `default_pools` in order. `""`: `geo` when any pool map is set, else `off`.
 * - `geo`: `pop_pools[colo]`, else `country_pools[country]`, else `region_pools[region]`, else
 *   `default_pools`.
 * - `random`: `default_pools` in weighted random order (`random_steering`: `pool_weights[id]`,
 *   else `default_weight`).
 * - `proximity`: `default_pools` by great-circle distance (haversine) from the request's
 *   coordinates to each pool's; pools without coordinates after those with; no request
 *   coordinates: failover order.
 * - `dynamic_latency`: lowest known latency first, pools without data after; with no data at all
 *   (the warm-up Cloudflare documents): failover order.
 * - `least_outstanding_requests` / `least_connections`: fewest requests under way from this
 *   isolate, per pool weight (`random_steering` weights).
 */
import type { LoadBalancer } from '../config/index.ts';
import { regionOf } from './regions.ts';

/** Where a request comes from (Cloudflare's request.cf: colo, country, continent, latitude, longitude). */
export interface PlaceFacts {
  colo?: string;
  country?: string;
  continent?: string;
  latitude?: number;
  longitude?: number;
}

export interface PoolSteeringInputs {
  random: () => number;
  place?: PlaceFacts;
  /** Pool coordinates by id (degrees), from the pools' latitude/longitude. */
  coordinates?: (poolId: string) => { latitude: number; longitude: number } | undefined;
  /** Latency (ms) of a pool as seen from here, when known. */
  latency?: (poolId: string, place: PlaceFacts | undefined) => number | undefined;
  /** Requests under way to a pool from this isolate. */
  outstanding?: (poolId: string) => number;
}

/** The effective policy: `""` means geo when any pool map is set, else off. */
export function effectivePolicy(lb: LoadBalancer): Exclude<LoadBalancer['steering_policy'], ''> {
  if (lb.steering_policy) return lb.steering_policy;
  let policy = implied.get(lb);
  if (!policy) {
    policy = [lb.pop_pools, lb.country_pools, lb.region_pools].some((m) => Object.keys(m).length > 0) ? 'geo' : 'off';
    implied.set(lb, policy); // load balancers are immutable per config version: asked on every request, computed once
  }
  return policy;
}
const implied = new WeakMap<LoadBalancer, 'geo' | 'off'>();

/** Pool steering policies that read per-pool load (requests under way from this isolate). */
const POOL_LOAD_POLICIES: ReadonlySet<string> = new Set(['least_outstanding_requests', 'least_connections']);

/**
 * What the edge must measure for this load balancer's pool steering, by its effective policy:
 * `poolLoad` (least_* steering reads requests under way per pool) and `latency` (dynamic_latency
 * reads real requests' time to headers). Origin steering's own needs: core/steer tracksLoad.
 */
export function steeringNeeds(lb: LoadBalancer): { poolLoad: boolean; latency: boolean } {
  const policy = effectivePolicy(lb);
  return { poolLoad: POOL_LOAD_POLICIES.has(policy), latency: policy === 'dynamic_latency' };
}

/** Pool ids in the order the policy prefers them (before health; without the fallback pool). */
export function steerPools(lb: LoadBalancer, inputs: PoolSteeringInputs): readonly string[] {
  const policy = effectivePolicy(lb);
  const place = inputs.place;
  switch (policy) {
    case 'geo': {
      const colo = place?.colo?.toUpperCase();
      if (colo && lb.pop_pools[colo]) return lb.pop_pools[colo]!;
      const country = place?.country?.toUpperCase();
      if (country && lb.country_pools[country]) return lb.country_pools[country]!;
      const region = regionOf(country, place?.continent, place?.longitude);
      if (region && lb.region_pools[region]) return lb.region_pools[region]!;
      return lb.default_pools;
    }
    case 'random':
      return weightedOrder(lb.default_pools, (id) => poolWeight(lb, id), inputs.random);
    case 'proximity': {
      if (place?.latitude === undefined || place.longitude === undefined || !inputs.coordinates) return lb.default_pools;
      const d = (id: string) => {
        const c = inputs.coordinates!(id);
        return c ? haversineKm(place.latitude!, place.longitude!, c.latitude, c.longitude) : Infinity;
      };
      return stableSortBy(lb.default_pools, d);
    }
    case 'dynamic_latency': {
      const latency = inputs.latency;
      if (!latency) return lb.default_pools;
      const ms = new Map(lb.default_pools.map((id) => [id, latency(id, place)]));
      if (![...ms.values()].some((v) => v !== undefined)) return lb.default_pools;
      return stableSortBy(lb.default_pools, (id) => ms.get(id) ?? Infinity);
    }
    case 'least_outstanding_requests':
    case 'least_connections': {
      const outstanding = inputs.outstanding;
      if (!outstanding) return lb.default_pools;
      return stableSortBy(lb.default_pools, (id) => (outstanding(id) + 1) / Math.max(poolWeight(lb, id), 1e-9));
    }
    default:
      return lb.default_pools;
  }
}

function poolWeight(lb: LoadBalancer, id: string): number {
  return lb.random_steering?.pool_weights[id] ?? lb.random_steering?.default_weight ?? 1;
}

function stableSortBy(ids: readonly string[], key: (id: string) => number): string[] {
  return ids
    .map((id, i) => [key(id), i, id] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .map(([, , id]) => id);
}

/** Weighted random order without replacement (each next pool drawn by weight among the rest). */
function weightedOrder(ids: readonly string[], weight: (id: string) => number, random: () => number): string[] {
  const left = ids.filter((id) => weight(id) > 0);
  const zero = ids.filter((id) => weight(id) <= 0);
  const out: string[] = [];
  while (left.length) {
    let target = random() * left.reduce((s, id) => s + weight(id), 0);
    let k = 0;
    while (k < left.length - 1 && target >= weight(left[k]!)) target -= weight(left[k++]!);
    out.push(left.splice(k, 1)[0]!);
  }
  return [...out, ...zero];
}

/** Great-circle distance in km (haversine formula, mean Earth radius 6,371 km). */
export function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(a)));
}
