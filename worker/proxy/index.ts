/**
 * The proxy: resolve the load balancer by Host, apply its health view, plan candidates
 * (core/route), apply session affinity (./affinity.ts) and forward (./attempt.ts). A body is
 * buffered (and so retryable) up to MAX_BUFFERED_BODY bytes; larger or unsized bodies stream to
 * one attempt only.
 */
import { allUsable, planRoute } from '../../core/route/index.ts';
import type { LoadBalancer } from '../../core/config/index.ts';
import { sessionKey, type HeaderPins } from '../affinity/index.ts';
import type { HealthView } from '../health/index.ts';
import { withAffinity, withHeaderAffinity } from './affinity.ts';
import { NO_BODY, firstAttempt, loadStats, plain, poolOutstanding, requestBody, type Attempt, type Network } from './attempt.ts';
import { CfPlace, HttpFacts } from './facts.ts';
import type { RequestTarget } from '../../core/forward/index.ts';

export { MAX_ATTEMPTS_PER_POOL, MAX_BUFFERED_BODY } from './attempt.ts';

export interface ProxyDeps extends Network {
  /** Uniform random numbers in [0, 1). */
  random: () => number;
  /** The health view of a load balancer (issue "Health"); all usable when absent. */
  health?: (lbId: string) => HealthView | Promise<HealthView>;
  /** The key that signs affinity cookies; cookie affinity is off without one. */
  affinityKey?: () => Promise<CryptoKey> | undefined;
  /** The header-affinity table (LbState, cached per isolate); asked only for header affinity. */
  headerPins?: () => HeaderPins;
}

/**
 * Handles one load-balanced request (`url` is `request.url` split by core/forward splitUrl). Never throws or rejects:
 * every failure becomes a response. Written as a promise chain rather than async functions: for a
 * bodiless request the hot path is one fetch and one reaction, no extra async frames.
 */
export function proxyRequest(request: Request, url: RequestTarget, deps: ProxyDeps): Promise<Response> | Response {
  const lb = deps.snapshot.lookup(url.hostname);
  if (!lb || !lb.enabled) {
    return plain(404, `No load balancer is ${lb ? 'enabled' : 'configured'} for host ${url.hostname}.\n`);
  }
  const view = deps.health?.(lb.id) ?? NO_HEALTH;
  if (view instanceof Promise) return view.then((v) => proxyPlanned(request, url, deps, lb, v));
  return proxyPlanned(request, url, deps, lb, view);
}

const NO_HEALTH: HealthView = { version: -1, usable: allUsable, poolLatency: () => undefined };

function proxyPlanned(request: Request, url: RequestTarget, deps: ProxyDeps, lb: LoadBalancer, health: HealthView): Promise<Response> | Response {
  if (!lb.trace_header) return route(request, url, deps, lb, health);
  const trace: Trace = {};
  return Promise.resolve(route(request, url, deps, lb, health, trace)).then((res) => withTrace(res, lb, trace));
}

/** What X-LB-Trace reports, filled in by routing. */
interface Trace {
  attempt?: Attempt;
}

function withTrace(response: Response, lb: LoadBalancer, trace: Trace): Response {
  if (response.status === 101) return response;
  const a = trace.attempt;
  const by = a?.answeredBy;
  const parts = [`lb=${lb.name}`, `steering=${lb.steering_policy || 'default'}`];
  if (a) parts.push(`planned=${a.plan.pool.id}/${a.plan.first.origin.name}`, `attempts=${a.attempts}`);
  if (by) parts.push(`pool=${by.pool.id}`, `origin=${by.origin.name}`, `origin_steering=${by.pool.origin_steering.policy}`);
  if (lb.session_affinity && lb.session_affinity !== 'none') parts.push(`affinity=${lb.session_affinity}`);
  const out = new Response(response.body, response);
  out.headers.set('x-lb-trace', parts.join('; '));
  return out;
}

function route(request: Request, url: RequestTarget, deps: ProxyDeps, lb: LoadBalancer, health: HealthView, trace?: Trace): Promise<Response> | Response {
  const usable = health.usable;
  const place = new CfPlace(request);
  const plan = planRoute(deps.snapshot, lb, {
    random: deps.random, usable, facts: new HttpFacts(request, url), stats: loadStats,
    place, poolOutstanding, poolLatency: health.poolLatency,
  });
  if (!plan) return plain(503, `No origin of load balancer ${lb.name} is available.\n`, { 'retry-after': '5' });
  const a: Attempt = {
    request, url, deps, plan, lbName: lb.name, lbId: lb.id, trackPools: /^least_/.test(lb.steering_policy),
    body: NO_BODY,
    timeoutMs: lb.per_try_timeout * 1000,
    clientIp: request.headers.get('cf-connecting-ip') ?? undefined,
    attempts: 0,
    latencyPlace: lb.steering_policy === 'dynamic_latency' ? place : undefined,
  };
  if (trace) trace.attempt = a;
  const key = (lb.session_affinity === 'cookie' || lb.session_affinity === 'ip_cookie') ? deps.affinityKey?.() : undefined;
  if (key) return withAffinity(a, lb, usable, key);
  if (lb.session_affinity === 'header' && deps.headerPins) {
    const session = sessionKey(lb, request.headers);
    if (session) return withHeaderAffinity(a, lb, usable, deps.headerPins(), session);
  }
  if (!request.body) return firstAttempt(a);
  return requestBody(request).then((body) => {
    a.body = body;
    return firstAttempt(a);
  });
}

