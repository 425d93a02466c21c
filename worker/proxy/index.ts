/**
 * The proxy: one load-balanced request, read top to bottom as its path —
 * load balancer → health → plan → affinity → body → forward → affinity write → trace.
 * `decide` (the first four steps) is shared with the routing explainer, so the explainer shows
 * what traffic would do, pin included. Never throws: every failure becomes a response.
 */
import { SESSION_SHED, failoverMode, ipCookiePlan, judgePin, pinAfter, pinnedPlan, type Pin, type PinVerdict } from '../../core/affinity/index.ts';
import type { LoadBalancer, Pool } from '../../core/config/index.ts';
import type { LoadStats } from '../../core/steer/index.ts';
import type { RequestTarget } from '../../core/forward/index.ts';
import {
  explainRoute,
  type AclMatch,
  route,
  type Explanation,
  type MatchedRule,
  type Plan,
  type RouteInputs,
  type Routed,
  type RuleOutcome,
  type Snapshot,
} from '../../core/route/index.ts';
import type { FixedResponse } from '../../core/config/index.ts';
import { effectivePolicy, steeringNeeds } from '../../core/steer/pools.ts';
import type { Affinity } from '../affinity/index.ts';
import type { HealthView } from '../health/index.ts';
import { ExplainedFacts, HttpFacts, type HypotheticalFacts, type Incoming } from './facts.ts';
import type { PlaceMemo } from '../../core/steer/place-memo.ts';
import { NO_BODY, forward, plain, requestBody, type ForwardDeps, type Forwarded } from './forward.ts';

export { MAX_ATTEMPTS_PER_POOL, MAX_BUFFERED_BODY } from './forward.ts';

/** What the proxy needs from the isolate for one request (worker/isolate.ts builds it). */
export interface ProxyDeps extends ForwardDeps {
  readonly snapshot: Snapshot;
  /** Uniform random numbers in [0, 1). */
  random(): number;
  /** The health view of a load balancer (all usable until known). */
  health(lbId: string): HealthView | Promise<HealthView>;
  /** The session affinity in effect for `lb`, a new instance for this request; undefined when none is configured (or cookie affinity has no key). */
  affinity(lb: LoadBalancer): Affinity | undefined;
  /** Per-pool requests under way from this isolate (least_* pool steering), and per-origin load (least_* origin steering); called unbound. */
  poolOutstanding(poolId: string): number;
  loadStats(pool: Pool): LoadStats;
  /** The longest a request waits on a Durable Object (ms): a pin lookup past it routes without the pin. */
  readonly deadlineMs: number;
  /** Places read from request.cf, remembered by client address (worker/proxy/facts.ts CfPlace); none: read per request. */
  readonly places?: PlaceMemo;
}

/**
 * Handles one load-balanced request; `url` is `request.url` split by core/forward splitUrl. Never
 * rejects and never answers 500: a failure of ours is a 502 with one line, logged once.
 */
export async function proxyRequest(request: Request, url: RequestTarget, deps: ProxyDeps): Promise<Response> {
  try {
    // The load balancer, by Host.
    const configured = deps.snapshot.lookup(url.hostname);
    if (!configured || !configured.enabled) return plain(404, `No load balancer is ${configured ? 'enabled' : 'configured'} for host ${url.hostname}.\n`);

    // Its access control list: the first matching entry may deny or redirect.
    const incoming = new HttpFacts(request, url, deps);
    const acl = applyAcls(configured, incoming, deps.snapshot);
    if (acl && acl.action.type !== 'allow') return aclResponse(configured, acl);

    // Its rules: a fixed response, or the load balancer with the matching rules' overrides.
    const ruled = applyRules(configured, incoming, deps.snapshot);
    if (ruled?.fixed) return fixedResponse(ruled.fixed);
    const lb = ruled?.lb ?? configured;

    // Health, plan and the pin the request carries.
    const d = await decide(lb, incoming, deps);
    if (!d.plan) return plain(503, `No origin of load balancer ${lb.name} is available.\n`, { 'retry-after': '5' });

    // The body: buffered (so it can be retried) when small and sized, else streamed to one attempt.
    const body = request.body ? await requestBody(request) : NO_BODY;

    // Forward along the plan.
    const needs = steeringNeeds(lb);
    const done = await forward(
      {
        request,
        url,
        body,
        lbId: lb.id,
        lbName: lb.name,
        timeoutMs: lb.per_try_timeout * 1000,
        clientIp: incoming.clientIp,
        stripAffinityCookie: d.affinity?.stripsCookie ?? false,
        trackPools: needs.poolLoad,
        latencyPlace: needs.latency ? incoming.place : undefined,
        retryNonIdempotent: lb.retry_non_idempotent,
        trustClientForwarded: lb.trust_client_forwarded,
      },
      d.plan,
      deps,
    );

    // Affinity write: a new session, or one that moved (core/affinity pinAfter decides).
    let response = done.response;
    if (d.affinity && done.answeredBy && pinAfter(d.pinVerdict?.candidate, done.answeredBy, response.status, failoverMode(lb)) !== 'keep') {
      response = await d.affinity.write(lb, incoming, done.answeredBy, response, url.protocol === 'https:', d.pin !== undefined);
    }

    // Trace.
    return lb.trace_header && response.status !== 101 ? withTrace(response, lb, d, done, ruled, acl) : response;
  } catch (e) {
    console.error('proxy failure', e instanceof Error ? e.message : String(e));
    return plain(502, 'The load balancer failed to handle this request.\n');
  }
}

/** The entry of the load balancer's access control list that decides `incoming` (core/acl); undefined when none matches or it has none. */
export function applyAcls(lb: LoadBalancer, incoming: Incoming, snapshot: Snapshot): AclMatch | undefined {
  return snapshot.acls?.get(lb.id)?.evaluate(incoming.ruleView(lb.name));
}

/**
 * The answer of a deny or redirect entry: deny is a 403 of ours (plain text, not stored by
 * caches); redirect is its code with its Location and an empty body.
 */
export function aclResponse(lb: LoadBalancer, m: AclMatch): Response {
  const { redirect } = m.action;
  if (m.action.type === 'redirect' && redirect) return new Response(null, { status: redirect.code, headers: { location: redirect.location } });
  return plain(403, `Access to ${lb.name} is denied by its access control list.\n`);
}

/** The load balancer's rules run over `incoming` (core/route/rules.ts); undefined when it has none. */
export function applyRules(lb: LoadBalancer, incoming: Incoming, snapshot: Snapshot): RuleOutcome | undefined {
  const rules = snapshot.rules?.get(lb.id);
  return rules?.rules.length ? rules.apply(incoming.ruleView(lb.name)) : undefined;
}

/**
 * The response a rule's `fixed_response` answers with: its status, body, Content-Type and
 * Location as given. Cloudflare names no default Content-Type; ours is text/plain when a body is
 * sent without one.
 */
export function fixedResponse(f: FixedResponse): Response {
  const headers = new Headers();
  const body = f.message_body ?? '';
  if (f.content_type) headers.set('content-type', f.content_type);
  else if (body) headers.set('content-type', 'text/plain; charset=utf-8');
  if (f.location) headers.set('location', f.location);
  const nullBody = f.status_code === 204 || f.status_code === 205 || f.status_code === 304;
  return new Response(nullBody ? null : body, { status: f.status_code, headers });
}

/** A routing decision for one request, before anything is sent. */
export interface Decision {
  readonly inputs: RouteInputs;
  /** Steering's pool order and plan, before affinity (with the pinned pool shed when its session_percent shed the pin). */
  readonly routed: Routed;
  /** The plan to forward along (affinity's, when a pin is honoured or ip_cookie picks); undefined = no usable origin. */
  readonly plan: Plan | undefined;
  readonly affinity?: Affinity;
  /** The pin the request carried, and whether it is honoured (and why). */
  readonly pin?: Pin;
  readonly pinVerdict?: PinVerdict;
  /** Set when the pin could not be read (the table did not answer): routed without it. */
  readonly pinError?: string;
}

/**
 * Health → plan → affinity: what the proxy forwards along and the explainer reports. Synchronous
 * when health is cached and the load balancer has no affinity (nearly every request): no extra
 * async frames on the hot path.
 */
export function decide(lb: LoadBalancer, incoming: Incoming, deps: ProxyDeps): Decision | Promise<Decision> {
  const health = deps.health(lb.id);
  return health instanceof Promise ? health.then((h) => decideWith(lb, incoming, deps, h)) : decideWith(lb, incoming, deps, health);
}

function decideWith(lb: LoadBalancer, incoming: Incoming, deps: ProxyDeps, health: HealthView): Decision | Promise<Decision> {
  const inputs: RouteInputs = {
    random: deps.random,
    usable: health.usable,
    facts: incoming,
    place: incoming.place,
    stats: deps.loadStats,
    poolOutstanding: deps.poolOutstanding,
    poolLatency: health.poolLatency,
  };
  const routed = route(deps.snapshot, lb, inputs);
  const affinity = deps.affinity(lb);
  if (!routed.plan || !affinity) return { inputs, routed, plan: routed.plan };
  return withPin(lb, incoming, deps, health, inputs, routed, affinity);
}

/** The affinity step of decide: read the pin, judge it, and plan around it (or ip_cookie's pick). */
async function withPin(
  lb: LoadBalancer,
  incoming: Incoming,
  deps: ProxyDeps,
  health: HealthView,
  inputs: RouteInputs,
  routed: Routed,
  affinity: Affinity,
): Promise<Decision> {
  let pin: Pin | undefined;
  try {
    const read = affinity.read(lb, incoming);
    pin = read instanceof Promise ? await withDeadline(read, deps.deadlineMs) : read; // a timer only for a read that waits
  } catch (e) {
    return { inputs, routed, plan: routed.plan, affinity, pinError: e instanceof Error ? e.message : String(e) };
  }
  const pinVerdict = pin && judgePin(deps.snapshot, lb, pin, health.usable, deps.now(), incoming.clientIp);
  if (pin && pinVerdict?.why === SESSION_SHED) {
    // The session leaves its pool: a new session's plan over the same order with that pool shed (pinAfter then re-pins it).
    inputs = { ...inputs, shedPool: pin.poolId };
    routed = route(deps.snapshot, lb, inputs, routed.order);
  }
  let plan = routed.plan;
  if (!plan) return { inputs, routed, plan, affinity, pin, pinVerdict }; // unreached: shedPool skips a pool in planOver's first pass only
  if (pinVerdict?.candidate) plan = pinnedPlan(plan, pinVerdict.candidate, failoverMode(lb) !== 'none');
  else if (lb.session_affinity === 'ip_cookie' && incoming.clientIp) {
    plan = ipCookiePlan(plan, deps.snapshot.pools.get(plan.pool.id)!, incoming.clientIp, health.usable, deps.random);
  }
  return { inputs, routed, plan, affinity, pin, pinVerdict };
}

/** `p`, or a rejection after `ms`. */
function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => timer !== undefined && clearTimeout(timer));
}

/** X-LB-Trace: the effective steering policy, the plan's first pick, who answered, attempts. */
function withTrace(response: Response, lb: LoadBalancer, d: Decision, done: Forwarded, ruled: RuleOutcome | undefined, acl: AclMatch | undefined): Response {
  const by = done.answeredBy;
  const parts = [`lb=${lb.name}`, `steering=${effectivePolicy(lb)}`, `planned=${d.plan!.pool.id}/${d.plan!.first.origin.name}`, `attempts=${done.attempts}`];
  if (acl) parts.push(`acl=${acl.index}`);
  if (ruled?.matched.length) parts.push(`rules=${ruled.matched.join(',')}`);
  if (by) parts.push(`pool=${by.pool.id}`, `origin=${by.origin.name}`, `origin_steering=${by.pool.origin_steering.policy}`);
  if (lb.session_affinity && lb.session_affinity !== 'none') parts.push(`affinity=${lb.session_affinity}`);
  const out = new Response(response.body, response);
  out.headers.set('x-lb-trace', parts.join('; '));
  return out;
}

/** The routing explainer's answer: core's explanation, then what affinity would do with the request's cookies or headers. */
export type RouteExplanation = Explanation & {
  /**
   * The load balancer's rules: how many conditions ran (`evaluated`: the rule index's candidates up
   * to the decision, not every enabled rule), those that matched, in evaluation order, and what they
   * set; `fixed_response` when one answered.
   */
  rules?: { evaluated: number; matched: MatchedRule[]; fixed_response?: FixedResponse };
  /** The load balancer's access control list: how many entries' match ran (`evaluated`: the candidates up to the decision) and the one that decided (null: none matched, allowed). */
  acl?: { evaluated: number; matched: AclMatch | null };
  affinity?: { session_affinity: string; pin: { pool_id: string; origin: string } | null; honoured: boolean; why: string };
};

/**
 * Routes hypothetical request facts through `decide`, the code traffic runs, with this isolate's
 * health and load; undefined for an unknown load balancer id.
 */
export async function explainRequest(lbId: string, facts: HypotheticalFacts, deps: ProxyDeps): Promise<RouteExplanation | undefined> {
  const configured = deps.snapshot.loadBalancers.get(lbId);
  if (!configured) return undefined;
  const incoming = new ExplainedFacts(configured.name.replace(/^\*\./, 'any.'), facts);
  const aclSet = deps.snapshot.acls?.get(lbId);
  const matchedAcl = applyAcls(configured, incoming, deps.snapshot);
  const acl = aclSet && { evaluated: aclSet.lastEvaluated, matched: matchedAcl ?? null };
  if (matchedAcl && matchedAcl.action.type !== 'allow') {
    const result = matchedAcl.action.type === 'deny' ? 'denied' : 'redirected';
    return { steering_policy: effectivePolicy(configured), pools: [], candidates: [], result, acl };
  }
  const ruled = applyRules(configured, incoming, deps.snapshot);
  const set = deps.snapshot.rules?.get(lbId);
  const rules = ruled && set && { evaluated: ruled.evaluated, matched: set.explain(ruled), ...(ruled.fixed ? { fixed_response: ruled.fixed } : {}) };
  if (ruled?.fixed) return { steering_policy: effectivePolicy(configured), pools: [], candidates: [], result: 'fixed response', rules, ...(acl && { acl }) };
  const lb = ruled?.lb ?? configured;
  const d = await decide(lb, incoming, deps);
  const out: RouteExplanation = explainRoute(deps.snapshot, lb, d.inputs, d.routed);
  if (rules) out.rules = rules;
  if (acl) out.acl = acl;
  if (!d.affinity) return out;
  const pin = d.pin ? { pool_id: d.pin.poolId, origin: d.pin.origin } : null;
  const why = d.pinError
    ? `pin lookup failed (${d.pinError}): routed without it`
    : (d.pinVerdict?.why ?? (lb.session_affinity === 'ip_cookie' && facts.client_ip ? 'no pin: new session, picked by client IP' : 'no pin: new session'));
  out.affinity = { session_affinity: lb.session_affinity, pin, honoured: !!d.pinVerdict?.candidate, why };
  if (d.plan && d.plan !== d.routed.plan) {
    out.origin = d.plan.first.origin.name;
    out.pool = d.plan.pool.id;
    out.candidates = [d.plan.first, ...d.plan.rest()].map((c) => `${c.pool.id}/${c.origin.name}`);
  }
  return out;
}
