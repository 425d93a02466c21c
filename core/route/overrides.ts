/**
 * A rule's `overrides` as load balancer fields (core/route/rules.ts lays them over the load
 * balancer, in rule order). Most fields are the load balancer's own and are copied as given; an
 * absent field is left out, so it never replaces the load balancer's value with undefined.
 *
 * Cloudflare's declarative fields (its SDK's `Rules.Overrides`, npm `cloudflare` 7.3.0
 * resources/load-balancers/load-balancers.d.ts) map onto the fields they stand for:
 *
 * - `pools`: "a flat, ordered list of pool IDs to route the matched audience to. Replaces the
 *   resolved topology with exactly these pools." Here: `default_pools` = `pools`, and
 *   `country_pools`, `region_pools` and `pop_pools` empty, so no steering policy can reach a
 *   pool outside the list: `off`, `""` (now implying off) and `geo` (no map entry matches, so
 *   geo falls to default_pools) use the list in order; `random`, `proximity`,
 *   `dynamic_latency`, `least_outstanding_requests` and `least_connections` order exactly these
 *   pools as they would order default_pools. The `fallback_pool` (which Cloudflare uses when
 *   every pool is unhealthy) becomes the list's last pool, unless the same rule sets
 *   `fallback_pool` itself, which then holds: the matched requests never reach another pool.
 *   `pools` wins over `default_pools` and the geo maps given in the same rule.
 * - `pool_weights` / `pool_default_weight`: `random_steering` = `{pool_weights, default_weight}`
 *   ("the declarative alternative to random_steering"; the schema refuses both in one rule).
 *   Like every object override it replaces random_steering whole: a field not given takes
 *   random_steering's default (`pool_weights` {}, `default_weight` 1), not the load balancer's.
 *
 * Pure: no I/O, no clock.
 */
import type { LoadBalancer, RuleOverrides } from '../config/index.ts';

/** Override fields that are load balancer fields of the same name, copied as given. */
const SAME_NAME = [
  'steering_policy',
  'default_pools',
  'fallback_pool',
  'session_affinity',
  'session_affinity_ttl',
  'session_affinity_attributes',
  'country_pools',
  'region_pools',
  'pop_pools',
  'random_steering',
  'adaptive_routing',
  'location_strategy',
  'ttl',
] as const satisfies readonly (keyof RuleOverrides & keyof LoadBalancer)[];

/** Every override field, in the order the explainer names them (as the user wrote them). */
export const OVERRIDE_FIELDS = [...SAME_NAME, 'pools', 'pool_weights', 'pool_default_weight'] as const satisfies readonly (keyof RuleOverrides)[];

/**
 * The load balancer fields that `o` sets (see the module doc): a partial load balancer to spread
 * over one, holding only fields `o` gives (or that its `pools`/`pool_weights` stand for).
 */
export function overrideFields(o: RuleOverrides): Partial<LoadBalancer> {
  const out: Record<string, unknown> = {};
  for (const f of SAME_NAME) if (o[f] !== undefined) out[f] = o[f];
  if (o.pools !== undefined) {
    out.default_pools = o.pools;
    out.country_pools = {};
    out.region_pools = {};
    out.pop_pools = {};
    out.fallback_pool = o.fallback_pool ?? o.pools[o.pools.length - 1];
  }
  if (o.pool_weights !== undefined || o.pool_default_weight !== undefined) {
    out.random_steering = { pool_weights: o.pool_weights ?? {}, default_weight: o.pool_default_weight ?? 1 };
  }
  return out as Partial<LoadBalancer>;
}
