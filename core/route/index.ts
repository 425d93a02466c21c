/**
 * Routing: from a config snapshot and request facts to an ordered list of origin candidates.
 *
 * Selection and health are separate (pingora's `select_with(accept)`): selectors are built once
 * per config version and know nothing of health; `Usable` filters what they yield.
 */
import { poolReferences, type ConfigDocument, type LoadBalancer, type Origin, type Pool } from '../config/index.ts';
import { effectivePolicy, steerPools, type PlaceFacts } from '../steer/pools.ts';
import { RendezvousPolicy } from '../steer/policies.ts';
import { buildPolicy, effectiveWeights, hashKey, type DecisionContext, type LoadStats, type OriginPolicy, type RequestFacts } from '../steer/index.ts';
import { countUsable, poolVerdict, type UsableAt } from '../health/verdict.ts';
import { RuleSet } from './rules.ts';
import { AclSet } from '../acl/index.ts';
import { sheds } from './shedding.ts';

export { RuleSet, MAX_EFFECTIVE, type CompiledRule, type MatchedRule, type RuleOutcome } from './rules.ts';
export { AclSet, type AclMatch } from '../acl/index.ts';

export interface CompiledPool {
  readonly pool: Pool;
  /** The pool's origin steering, built once per config version (disabled/draining origins weigh 0). */
  readonly policy: OriginPolicy;
  /** ip_cookie's selector: weighted rendezvous hashing of the client IP, built on first use, once per config version. */
  readonly ipHash: OriginPolicy;
}

class Compiled implements CompiledPool {
  readonly pool: Pool;
  readonly policy: OriginPolicy;
  #ipHash: OriginPolicy | undefined;
  constructor(pool: Pool) {
    this.pool = pool;
    this.policy = buildPolicy(pool);
  }
  get ipHash(): OriginPolicy {
    return (this.#ipHash ??= new RendezvousPolicy(
      effectiveWeights(this.pool),
      this.pool.origins.map((o) => o.name),
    ));
  }
}

/** An immutable, pre-indexed view of one config version, built once and shared by requests. */
export interface Snapshot {
  readonly version: number;
  readonly pools: ReadonlyMap<string, CompiledPool>;
  /** Load balancers by id. */
  readonly loadBalancers: ReadonlyMap<string, LoadBalancer>;
  /** Each load balancer's pools in failover order (see poolOrder), computed once per version. */
  readonly poolOrders: ReadonlyMap<string, readonly CompiledPool[]>;
  /** Every pool id a load balancer references (default, fallback, region, country and PoP pools). */
  readonly poolsOf: ReadonlyMap<string, ReadonlySet<string>>;
  /** The ConfigStore's affinity cookie secrets, newest first (empty when none came with the snapshot). */
  readonly affinityKeys: readonly string[];
  /** Load balancing rules, compiled once per version, by load balancer id (only load balancers with rules). */
  readonly rules?: ReadonlyMap<string, RuleSet>;
  /** Access control lists (core/acl), compiled once per version, by load balancer id (only load balancers with entries). */
  readonly acls?: ReadonlyMap<string, AclSet>;
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

/** Health filter: whether an origin of a pool is usable by health now (core/health healthUsable). */
export type Usable = UsableAt;
export const allUsable: Usable = () => true;

export function compileSnapshot(doc: ConfigDocument, version: number, affinityKeys: readonly string[] = []): Snapshot {
  const pools = new Map<string, CompiledPool>();
  for (const pool of doc.pools) {
    pools.set(pool.id, new Compiled(pool));
  }
  const exact = new Map<string, LoadBalancer>();
  const wildcards: [suffix: string, lb: LoadBalancer][] = [];
  for (const lb of doc.load_balancers) {
    if (lb.name.startsWith('*.')) wildcards.push([lb.name.slice(1), lb]);
    else exact.set(lb.name, lb);
  }
  wildcards.sort((a, b) => b[0].length - a[0].length);
  const poolOrders = new Map(doc.load_balancers.map((lb) => [lb.id, poolOrder(pools, lb)]));
  return {
    version,
    pools,
    loadBalancers: new Map(doc.load_balancers.map((lb) => [lb.id, lb])),
    poolOrders,
    affinityKeys,
    rules: new Map(doc.load_balancers.filter((lb) => lb.rules.length).map((lb) => [lb.id, new RuleSet(lb)])),
    // A document stored before `acls` existed has no such field: no AclSet.
    acls: new Map(doc.load_balancers.filter((lb) => lb.acls?.length).map((lb) => [lb.id, new AclSet(lb.acls)])),
    poolsOf: new Map(doc.load_balancers.map((lb) => [lb.id, new Set(poolReferences(lb).map(([, id]) => id))])),
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
export function poolOrder(pools: ReadonlyMap<string, CompiledPool>, lb: Pick<LoadBalancer, 'default_pools' | 'fallback_pool'>): CompiledPool[] {
  const ids = [...new Set([...lb.default_pools, lb.fallback_pool])];
  return ids.flatMap((id) => {
    const p = pools.get(id);
    return p && p.pool.enabled ? [p] : [];
  });
}

/** Whether `p` has at least `need` origins that count (core/health/verdict; stops early). */
function hasUsable(p: CompiledPool, usable: Usable, need: number): boolean {
  return countUsable(p.pool, usable, need) >= need;
}

export interface Plan {
  /** The pool chosen for the first attempt. */
  readonly pool: Pool;
  /** The first candidate: a weighted draw from the chosen pool (computed without generators). */
  readonly first: Candidate;
  /** The candidates after `first`, in attempt order: the chosen pool's other origins, then
   * (with failover_across_pools) the next pools'. Drawn lazily: only retries pay for them. */
  rest(): Iterable<Candidate>;
}

/** Per-request inputs of routing beyond the config: randomness, request facts, load. */
export interface RouteInputs {
  /** Uniform numbers in [0, 1). */
  random: () => number;
  /** Health filter; all usable when absent. */
  usable?: Usable;
  /** For hash policies (client IP, URI, header, cookie). */
  facts?: RequestFacts;
  /** Per-pool load as this isolate sees it, for least_* policies. */
  stats?: (pool: Pool) => LoadStats | undefined;
  /** Where the request comes from, for pool steering (geo, proximity). */
  place?: PlaceFacts;
  /** Pool latency (ms) as seen from `place` (dynamic_latency), and requests under way (least_*). */
  poolLatency?: (poolId: string, place: PlaceFacts | undefined) => number | undefined;
  poolOutstanding?: (poolId: string) => number;
  /**
   * A pool id treated as shedding this request whatever its `default_percent`: the pool a pinned
   * session was shed from by `session_percent` (core/route/shedding.ts), so the session moves.
   * Like any shed, it keeps the request when no other pool qualifies.
   */
  shedPool?: string;
}

/** Pool orders of rule-overridden load balancers (RuleSet keeps each combination's object), with the pools they were built from. */
const overridden = new WeakMap<LoadBalancer, { pools: Snapshot['pools']; order: CompiledPool[] }>();

/** The `off` order of `lb`, a rule's overridden copy of a configured load balancer: built once per object and snapshot. */
function overriddenOrder(snapshot: Snapshot, lb: LoadBalancer): CompiledPool[] {
  const hit = overridden.get(lb);
  if (hit && hit.pools === snapshot.pools) return hit.order;
  const order = poolOrder(snapshot.pools, lb);
  overridden.set(lb, { pools: snapshot.pools, order });
  return order;
}

/**
 * The pools to try for this request: steering's order, then the fallback pool (cached for `off`,
 * also for a rule's overridden copy of the configured load balancer).
 */
function steeredOrder(snapshot: Snapshot, lb: LoadBalancer, input: RouteInputs): readonly CompiledPool[] {
  if (effectivePolicy(lb) === 'off') {
    const cached = snapshot.loadBalancers.get(lb.id) === lb ? snapshot.poolOrders.get(lb.id) : overriddenOrder(snapshot, lb);
    return cached ?? poolOrder(snapshot.pools, lb);
  }
  const ids = steerPools(lb, {
    random: input.random,
    place: input.place,
    coordinates: (id) => {
      const p = snapshot.pools.get(id)?.pool;
      return p && p.latitude !== undefined && p.longitude !== undefined ? { latitude: p.latitude, longitude: p.longitude } : undefined;
    },
    latency: input.poolLatency,
    outstanding: input.poolOutstanding,
  });
  return poolOrder(snapshot.pools, { ...lb, default_pools: [...ids] });
}

/**
 * Chooses a pool and orders its origins. A pool qualifies when it has at least `minimum_origins`
 * usable origins; when none does, the first pool with any usable origin is the last resort.
 * Disabled, draining and zero-weight origins never qualify. With nothing usable anywhere: with
 * `panic_mode`, health is ignored (Envoy's panic routing); otherwise undefined.
 */
export function planRoute(snapshot: Snapshot, lb: LoadBalancer, input: RouteInputs): Plan | undefined {
  return planOver(steeredOrder(snapshot, lb, input), lb, input);
}

/** A routing decision with the pool order it was made over (what the explainer reports). */
export interface Routed {
  readonly order: readonly CompiledPool[];
  readonly plan: Plan | undefined;
}

/**
 * planRoute, keeping the steered pool order: the proxy hands this to the explainer so both report
 * one decision. `order` reuses an order already steered (a shed session plans again over it).
 */
export function route(snapshot: Snapshot, lb: LoadBalancer, input: RouteInputs, order: readonly CompiledPool[] = steeredOrder(snapshot, lb, input)): Routed {
  return { order, plan: planOver(order, lb, input) };
}

/** planRoute over a pool order already steered (the explainer reports the same order it plans over). */
function planOver(order: readonly CompiledPool[], lb: LoadBalancer, input: RouteInputs): Plan | undefined {
  const usable = input.usable ?? allUsable;
  // A pool's load_shedding passes a share of requests on to the next qualifying pool (core/route/shedding.ts); with none left, it keeps them.
  const shed = (p: CompiledPool) =>
    p.pool.id === input.shedPool || (p.pool.load_shedding != null && sheds(p.pool.load_shedding, p.pool.id, 'default', input.facts?.clientIp, input.random));
  let start = order.findIndex((p) => hasUsable(p, usable, p.pool.minimum_origins) && !shed(p));
  if (start < 0) start = order.findIndex((p) => hasUsable(p, usable, p.pool.minimum_origins));
  if (start < 0) start = order.findIndex((p) => hasUsable(p, usable, 1));
  if (start < 0 && lb.panic_mode && usable !== allUsable) return planOver(order, lb, { ...input, usable: allUsable }); // Envoy's panic mode
  if (start < 0) return undefined;
  return new RoutePlan(order, start, lb.adaptive_routing.failover_across_pools ? order.length : start + 1, input, usable);
}

/** A Plan as a class: no closures allocated per request on the hot path. */
class RoutePlan implements Plan {
  readonly pool: Pool;
  readonly first: Candidate;
  readonly #order: readonly CompiledPool[];
  readonly #start: number;
  readonly #end: number;
  readonly #input: RouteInputs;
  readonly #usable: Usable;

  constructor(order: readonly CompiledPool[], start: number, end: number, input: RouteInputs, usable: Usable) {
    this.#order = order;
    this.#start = start;
    this.#end = end;
    this.#input = input;
    this.#usable = usable;
    const head = order[start]!;
    this.pool = head.pool;
    const pool = head.pool;
    const index = head.policy.first(this.#context(head), usable === allUsable ? allIndices : (i) => usable(pool, i));
    this.first = { pool, poolRank: 0, origin: pool.origins[index]!, originIndex: index };
  }

  #context(p: CompiledPool): DecisionContext {
    const input = this.#input;
    return { random: input.random, key: hashKey(p.pool, input.facts), stats: input.stats?.(p.pool) };
  }

  *rest(): Generator<Candidate, void, undefined> {
    const first = this.first.originIndex;
    for (let k = this.#start; k < this.#end; k++) {
      const p = this.#order[k]!;
      const rank = k - this.#start;
      const ctx = this.#context(p);
      const accept = (i: number) => this.#usable(p.pool, i);
      const indices = rank === 0 ? p.policy.rest(ctx, accept, first) : firstThenRest(p.policy, ctx, accept);
      for (const i of indices) yield { pool: p.pool, poolRank: rank, origin: p.pool.origins[i]!, originIndex: i };
    }
  }
}

const allIndices = () => true;

function* firstThenRest(policy: OriginPolicy, ctx: DecisionContext, accept: (i: number) => boolean): Generator<number> {
  const first = policy.first(ctx, accept);
  if (first < 0) return;
  yield first;
  yield* policy.rest(ctx, accept, first);
}

/** Every candidate of a plan in attempt order: `first`, then `rest()`. */
export function* candidatesOf(plan: Plan): Generator<Candidate, void, undefined> {
  yield plan.first;
  yield* plan.rest();
}

/** Why routing chose what it chose (the routing explainer); produced by the same code as traffic. */
export interface Explanation {
  steering_policy: string;
  /** In steering order; `latency_ms` is the figure dynamic_latency steered by (as seen from the request's place). */
  pools: {
    id: string;
    name: string;
    usable_origins: number;
    minimum_origins: number;
    latency_ms?: number;
    verdict: 'chosen' | 'skipped: below minimum_origins' | 'skipped: load shedding' | 'not reached' | 'last resort';
  }[];
  pool?: string;
  origin_steering?: string;
  hash_key?: string;
  origin?: string;
  candidates: string[];
  /** 'fixed response': a load balancing rule answers the request itself; 'denied' / 'redirected': an ACL entry does (worker/proxy explainRequest). */
  result: 'routed' | 'panic' | 'no usable origin' | 'fixed response' | 'denied' | 'redirected';
}

/** Why `routed` (route(), by default a fresh decision) chose what it chose; `plan` may be affinity's plan over the same order. */
export function explainRoute(snapshot: Snapshot, lb: LoadBalancer, input: RouteInputs, routed: Routed = route(snapshot, lb, input)): Explanation {
  const usable = input.usable ?? allUsable;
  const { order, plan } = routed;
  const verdicts = order.map((p) => poolVerdict(p.pool, usable));
  const chosen = plan ? order.findIndex((p) => p.pool.id === plan.pool.id) : -1;
  const pools = order.map((p, i) => ({
    id: p.pool.id,
    name: p.pool.name,
    usable_origins: verdicts[i]!.usable_count,
    minimum_origins: p.pool.minimum_origins,
    ...(effectivePolicy(lb) === 'dynamic_latency' ? { latency_ms: input.poolLatency?.(p.pool.id, input.place) } : {}),
    verdict: (i === chosen
      ? verdicts[i]!.healthy
        ? 'chosen'
        : 'last resort'
      : chosen >= 0 && i > chosen
        ? 'not reached'
        : verdicts[i]!.healthy
          ? 'skipped: load shedding'
          : 'skipped: below minimum_origins') as Explanation['pools'][number]['verdict'],
  }));
  if (!plan) return { steering_policy: effectivePolicy(lb), pools, candidates: [], result: 'no usable origin' };
  const panic = verdicts.every((v) => v.usable_count === 0);
  return {
    steering_policy: effectivePolicy(lb),
    pools,
    pool: plan.pool.id,
    origin_steering: plan.pool.origin_steering.policy,
    hash_key: hashKey(plan.pool, input.facts),
    origin: plan.first.origin.name,
    candidates: [...candidatesOf(plan)].map((c) => `${c.pool.id}/${c.origin.name}`),
    result: panic ? 'panic' : 'routed',
  };
}
