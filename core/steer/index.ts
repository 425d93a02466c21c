/**
 * Builds a pool's origin steering policy from its config (once per config version) and derives
 * the hash key of a request.
 */
import type { Origin, Pool } from '../config/index.ts';
import { FirstPolicy, LeastLoadPolicy, MaglevPolicy, RandomPolicy, RendezvousPolicy, SmoothRoundRobinPolicy } from './policies.ts';
import type { OriginPolicy } from './policy.ts';

export type { DecisionContext, LoadStats, OriginPolicy } from './policy.ts';

/** What routing may need to know about a request. */
export interface RequestFacts {
  clientIp?: string;
  /** Path and query. */
  uri?: string;
  header?(name: string): string | null | undefined;
  cookie?(name: string): string | undefined;
}

/** Whether an origin may get new requests by configuration (health aside): enabled, not draining, weight > 0. */
export function takesTraffic(o: Origin): boolean {
  return o.enabled && !o.drain && o.weight > 0;
}

/** Effective weights: 0 for origins that take no new traffic. */
export function effectiveWeights(pool: Pool): number[] {
  return pool.origins.map((o) => (takesTraffic(o) ? o.weight : 0));
}

export function buildPolicy(pool: Pool): OriginPolicy {
  const weights = effectiveWeights(pool);
  const names = pool.origins.map((o) => o.name);
  const s = pool.origin_steering;
  switch (s.policy) {
    case 'hash':
      return s.hash_algorithm === 'rendezvous' ? new RendezvousPolicy(weights, names) : new MaglevPolicy(weights, names);
    case 'round_robin':
      return new SmoothRoundRobinPolicy(weights);
    case 'least_outstanding_requests':
    case 'least_connections':
      return new LeastLoadPolicy(weights, 'requests');
    case 'least_response_time':
      return new LeastLoadPolicy(weights, 'response_time');
    case 'first':
      return new FirstPolicy(weights);
    default:
      return new RandomPolicy(weights);
  }
}

/** Origin steering policies that read per-origin load (requests under way, response time). */
const LOAD_POLICIES: ReadonlySet<string> = new Set(['least_outstanding_requests', 'least_connections', 'least_response_time']);

/** Whether the pool's origin steering reads per-origin load (so the proxy tracks it for this pool). */
export const tracksLoad = (pool: Pool): boolean => LOAD_POLICIES.has(pool.origin_steering.policy);

/** The request's hash key for a `hash` pool ("" when the fact is missing: all such requests share one origin). */
export function hashKey(pool: Pool, facts: RequestFacts | undefined): string | undefined {
  if (pool.origin_steering.policy !== 'hash' || !facts) return undefined;
  const k = pool.origin_steering.hash_key;
  if (k.type === 'ip') return facts.clientIp ?? '';
  if (k.type === 'uri') return facts.uri ?? '';
  if (k.type === 'header') return facts.header?.(k.name!) ?? '';
  return facts.cookie?.(k.name!) ?? '';
}
