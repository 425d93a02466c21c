/**
 * The proxy: resolve the load balancer by Host, plan candidates (core/route), and forward to each
 * in turn until one answers, at most MAX_ATTEMPTS_PER_POOL origins per pool. Retries: a connection error or per-try timeout always moves on
 * (nothing reached the origin); 502/503/504 move on only for idempotent methods. A body is
 * buffered (and so retryable) up to MAX_BUFFERED_BODY bytes; larger or unsized bodies stream to
 * one attempt only.
 *
 * Hot-path notes (measured with `BENCH_PROFILE=1 npm run bench`): per_try_timeout is an
 * `AbortSignal.timeout`, a native timer; a JS setTimeout/clearTimeout pair per attempt cost ~8% of
 * throughput. In workerd the signal bounds the wait for response headers only: a body that
 * streams for longer reaches the client whole (an end-to-end test holds us to it). Responses go back as they came: the runtime's HTTP layer
 * owns the client connection and does not pass an origin's Connection, Keep-Alive or
 * Transfer-Encoding on (the end-to-end tests check it); a copy to strip them cost ~4% throughput.
 */
import { allUsable, planRoute, type Candidate, type Plan, type Snapshot, type Usable } from '../../core/route/index.ts';
import { LoadTracker } from '../../core/steer/load.ts';
import { effectiveWeights, takesTraffic, tracksLoad, type RequestFacts } from '../../core/steer/index.ts';
import { RendezvousPolicy } from '../../core/steer/policies.ts';
import { sessionKey, type HeaderPins } from '../affinity/index.ts';
import type { HealthView } from '../health/index.ts';
import { AFFINITY_COOKIE, DEFAULT_COOKIE_TTL, cookieValue, readPin, setCookieHeader, signPin, withoutCookie, type Pinned } from '../../core/affinity/index.ts';
import type { PlaceFacts } from '../../core/steer/pools.ts';
import type { LoadBalancer, Pool } from '../../core/config/index.ts';
import { originUrl, retryableStatus, upstreamHeaders } from '../../core/forward/index.ts';

/** At most this many origins of one pool are tried for one request (each further pool of
 * failover_across_pools gets as many again). */
export const MAX_ATTEMPTS_PER_POOL = 3;
/** Request bodies up to this size (bytes, by Content-Length) are buffered so they can be retried. */
export const MAX_BUFFERED_BODY = 1024 * 1024;

export interface ProxyDeps {
  snapshot: Snapshot;
  /** Uniform random numbers in [0, 1). */
  random: () => number;
  /** The network; `fetch` in the Worker. */
  fetch: typeof fetch;
  /** The health view of a load balancer (issue "Health"); all usable when absent. */
  health?: (lbId: string) => HealthView | Promise<HealthView>;
  /** Told what each attempt saw (passive health). `status` undefined = no answer. */
  observe?: (lbId: string, candidate: Candidate, status: number | undefined) => void;
  /** The key that signs affinity cookies; cookie affinity is off without one. */
  affinityKey?: () => Promise<CryptoKey> | undefined;
  /** The header-affinity table (LbState, cached per isolate); asked only for header affinity. */
  headerPins?: () => HeaderPins;
}

/**
 * Handles one load-balanced request (`url` is `request.url` parsed). Never throws or rejects:
 * every failure becomes a response. Written as a promise chain rather than async functions: for a
 * bodiless request the hot path is one fetch and one reaction, no extra async frames.
 */
export function proxyRequest(request: Request, url: URL, deps: ProxyDeps): Promise<Response> | Response {
  const lb = deps.snapshot.lookup(url.hostname);
  if (!lb || !lb.enabled) {
    return plain(404, `No load balancer is ${lb ? 'enabled' : 'configured'} for host ${url.hostname}.\n`);
  }
  const view = deps.health?.(lb.id) ?? NO_HEALTH;
  if (view instanceof Promise) return view.then((v) => proxyPlanned(request, url, deps, lb, v));
  return proxyPlanned(request, url, deps, lb, view);
}

const NO_HEALTH: HealthView = { version: -1, usable: allUsable, poolLatency: () => undefined };

function proxyPlanned(request: Request, url: URL, deps: ProxyDeps, lb: LoadBalancer, health: HealthView): Promise<Response> | Response {
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

function route(request: Request, url: URL, deps: ProxyDeps, lb: LoadBalancer, health: HealthView, trace?: Trace): Promise<Response> | Response {
  const usable = health.usable;
  const plan = planRoute(deps.snapshot, lb, {
    random: deps.random, usable, facts: new HttpFacts(request, url), stats: loadStats,
    place: new CfPlace(request), poolOutstanding, poolLatency: health.poolLatency,
  });
  if (!plan) return plain(503, `No origin of load balancer ${lb.name} is available.\n`, { 'retry-after': '5' });
  const a: Attempt = {
    request, url, deps, plan, lbName: lb.name, lbId: lb.id, trackPools: /^least_/.test(lb.steering_policy),
    body: NO_BODY,
    timeoutMs: lb.per_try_timeout * 1000,
    clientIp: request.headers.get('cf-connecting-ip') ?? undefined,
    attempts: 0,
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

/**
 * Cookie session affinity, Cloudflare's semantics. A valid pin to a usable origin sends the
 * request there; `zero_downtime_failover` decides what a failure on it does: `none` = no other
 * origin, `temporary` = others, cookie unchanged, `sticky` = others, cookie moved to the one that
 * answered. A pin to an origin that is disabled, draining or unhealthy moves the session. New
 * sessions: the usual pick (`ip_cookie`: by hash of the client IP), and a cookie for the origin
 * that answered. Our cookie never reaches the origin.
 */
async function withAffinity(a: Attempt, lb: LoadBalancer, usable: Usable, keyPromise: Promise<CryptoKey>): Promise<Response> {
  const key = await keyPromise;
  const now = Math.floor(Date.now() / 1000);
  const pin = await readPin(key, lb.id, cookieValue(a.request.headers.get('cookie'), AFFINITY_COOKIE), now);
  const pinned = pin ? pinnedCandidate(a.deps.snapshot, pin, usable) : undefined;
  const failover = lb.session_affinity_attributes?.zero_downtime_failover ?? 'none';
  if (pinned) a.plan = pinnedPlan(a.plan, pinned, failover !== 'none');
  else if (lb.session_affinity === 'ip_cookie' && a.clientIp) a.plan = ipPlan(a.plan, a.clientIp, usable);
  a.stripAffinityCookie = true;
  if (a.request.body) a.body = await requestBody(a.request);
  const response = await firstAttempt(a);
  const by = a.answeredBy;
  const moved = by && pinned && (by.pool.id !== pinned.pool.id || by.originIndex !== pinned.originIndex);
  if (!by || response.status === 101 || (pinned && !(moved && failover === 'sticky'))) return response;
  const value = await signPin(key, lb.id, { poolId: by.pool.id, origin: by.origin.name, expiresAt: now + (lb.session_affinity_ttl ?? DEFAULT_COOKIE_TTL) });
  const out = new Response(response.body, response);
  out.headers.append('set-cookie', setCookieHeader(lb, value, a.url.protocol === 'https:'));
  return out;
}

/**
 * Header affinity: the session key's origin from the table when usable; `zero_downtime_failover`
 * `temporary` lets a failure go elsewhere without re-pinning, `none` does not. A new session, or
 * one whose origin is no longer usable, is pinned to the origin that answered.
 */
async function withHeaderAffinity(a: Attempt, lb: LoadBalancer, usable: Usable, pins: HeaderPins, session: string): Promise<Response> {
  const pin = await pins.get(lb, session);
  const pinned = pin ? pinnedCandidate(a.deps.snapshot, { ...pin, expiresAt: Infinity }, usable) : undefined;
  const failover = lb.session_affinity_attributes?.zero_downtime_failover ?? 'none';
  if (pinned) a.plan = pinnedPlan(a.plan, pinned, failover !== 'none');
  if (a.request.body) a.body = await requestBody(a.request);
  const response = await firstAttempt(a);
  const by = a.answeredBy;
  if (by && !pinned && response.status < 500) pins.put(lb, session, by.pool.id, by.origin.name, pin !== undefined);
  return response;
}

function pinnedCandidate(snapshot: Snapshot, pin: Pinned, usable: Usable): Candidate | undefined {
  const pool = snapshot.pools.get(pin.poolId)?.pool;
  const i = pool ? pool.origins.findIndex((o) => o.name === pin.origin) : -1;
  const origin = pool?.origins[i];
  if (!pool || !origin || !pool.enabled || !takesTraffic(origin) || !usable(pool, i)) return undefined;
  return { pool, poolRank: 0, origin, originIndex: i };
}

/** The pinned origin first; with failover, then the plan's candidates without it. */
function pinnedPlan(plan: Plan, pinned: Candidate, failover: boolean): Plan {
  const same = (c: Candidate) => c.pool.id === pinned.pool.id && c.originIndex === pinned.originIndex;
  return {
    pool: pinned.pool,
    first: pinned,
    *rest() {
      if (!failover) return;
      if (!same(plan.first)) yield plan.first;
      for (const c of plan.rest()) if (!same(c)) yield c;
    },
  };
}

/** ip_cookie's first pick: weighted rendezvous hashing of the client IP over the chosen pool. */
function ipPlan(plan: Plan, clientIp: string, usable: Usable): Plan {
  const pool = plan.pool;
  const i = new RendezvousPolicy(effectiveWeights(pool), pool.origins.map((o) => o.name)).first({ random: Math.random, key: clientIp }, (k) => usable(pool, k));
  if (i < 0 || i === plan.first.originIndex) return plan;
  return pinnedPlan(plan, { pool, poolRank: 0, origin: pool.origins[i]!, originIndex: i }, true);
}

/** The first attempt, without iterators: the path nearly every request takes. */
function firstAttempt(a: Attempt): Promise<Response> {
  return attempt(a, a.plan.first).then((response) => {
    if (response) a.answeredBy = a.plan.first;
    if (response && !(a.body.replayable && retryableStatus(a.request.method, response.status))) return response;
    if (!response && !a.body.replayable) return noAnswer(a.lbName, a.attempts);
    return retry(a, response);
  });
}

/** Attempts after the first: at most MAX_ATTEMPTS_PER_POOL per pool; the last retryable answer wins over our 503. */
async function retry(a: Attempt, previous: Response | undefined): Promise<Response> {
  let last = previous;
  let inPool = 1;
  let rank = 0;
  for (const candidate of a.plan.rest()) {
    if (candidate.poolRank !== rank) [rank, inPool] = [candidate.poolRank, 0];
    if (inPool === MAX_ATTEMPTS_PER_POOL) continue;
    inPool++;
    const response = await attempt(a, candidate);
    if (!response) continue;
    if (last) await last.body?.cancel();
    last = response;
    a.answeredBy = candidate;
    if (!retryableStatus(a.request.method, response.status)) break;
  }
  return last ?? noAnswer(a.lbName, a.attempts);
}

interface Attempt {
  request: Request;
  url: URL;
  deps: ProxyDeps;
  plan: Plan;
  lbName: string;
  lbId: string;
  /** Whether pool steering reads per-pool load (least_* steering_policy). */
  trackPools: boolean;
  /** The candidate whose response is being returned, and how many origins were tried. */
  answeredBy?: Candidate;
  attempts: number;
  /** Remove our affinity cookie from what the origin sees. */
  stripAffinityCookie?: boolean;
  body: Body;
  /** Per-try timeout in ms (per_try_timeout is in seconds). */
  timeoutMs: number;
  clientIp: string | undefined;
}

/**
 * One try on one origin: the response, or undefined when the connection failed or no response
 * headers came within the per-try timeout (the body then streams without a deadline).
 */
function attempt(a: Attempt, candidate: Candidate): Promise<Response | undefined> {
  a.attempts++;
  const headers = upstreamHeaders(a.request.headers, {
    clientIp: a.clientIp,
    proto: a.url.protocol === 'https:' ? 'https' : 'http',
    host: a.url.host,
    originHost: candidate.origin.header.Host?.[0],
  });
  if (a.stripAffinityCookie) {
    const rest = withoutCookie(headers.get('cookie'), AFFINITY_COOKIE);
    if (rest === null) headers.delete('cookie');
    else headers.set('cookie', rest);
  }
  const send = a.deps.fetch; // called unbound: the runtime's fetch rejects any other `this`
  const pool = candidate.pool;
  const tracked = a.trackPools || tracksLoad(pool);
  const started = tracked ? (load.start(pool.id, pool.origins.length, candidate.originIndex), Date.now()) : 0;
  let sent = send(originUrl(a.url, candidate.origin), {
    method: a.request.method, headers, body: a.body.value, redirect: 'manual', signal: AbortSignal.timeout(a.timeoutMs),
  });
  if (tracked) {
    // Load counts until response headers (the body streams outside our view), latency likewise.
    sent = sent.then(
      (res) => (load.end(pool.id, pool.origins.length, candidate.originIndex, Date.now() - started), res),
      (e: unknown) => {
        load.end(pool.id, pool.origins.length, candidate.originIndex);
        throw e;
      },
    );
  }
  const observe = a.deps.observe;
  if (!observe) return sent.catch(failed);
  return sent.then(
    (res) => (observe(a.lbId, candidate, res.status), res),
    () => {
      observe(a.lbId, candidate, undefined);
      return undefined;
    },
  );
}

function failed(): undefined {
  return undefined;
}

/** This isolate's view of origin load, for least_* origin steering. */
const load = new LoadTracker();
const loadStats = (pool: Pool) => load.stats(pool.id, pool.origins.length);
const poolOutstanding = (poolId: string) => load.poolOutstanding(poolId);

/** Where the request comes from (request.cf), read only if pool steering asks. */
class CfPlace implements PlaceFacts {
  readonly #cf: IncomingRequestCfProperties | undefined;
  constructor(request: Request) {
    this.#cf = request.cf as IncomingRequestCfProperties | undefined;
  }
  get colo(): string | undefined {
    return this.#cf?.colo;
  }
  get country(): string | undefined {
    return this.#cf?.country ?? undefined;
  }
  get continent(): string | undefined {
    return this.#cf?.continent ?? undefined;
  }
  get latitude(): number | undefined {
    return coordinate(this.#cf?.latitude);
  }
  get longitude(): number | undefined {
    return coordinate(this.#cf?.longitude);
  }
}

function coordinate(v: string | undefined): number | undefined {
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Request facts for hash keys, read lazily from the request (no work unless a hash pool asks). */
class HttpFacts implements RequestFacts {
  readonly request: Request;
  readonly url: URL;
  constructor(request: Request, url: URL) {
    this.request = request;
    this.url = url;
  }
  get clientIp(): string | undefined {
    return this.request.headers.get('cf-connecting-ip') ?? undefined;
  }
  get uri(): string {
    return this.url.pathname + this.url.search;
  }
  header(name: string): string | null {
    return this.request.headers.get(name);
  }
  cookie(name: string): string | undefined {
    return cookieValue(this.request.headers.get('cookie'), name);
  }
}

function noAnswer(lbName: string, attempts: number): Response {
  return plain(503, `No origin of load balancer ${lbName} answered (${attempts} tried).\n`, { 'retry-after': '5' });
}

interface Body {
  value: ArrayBuffer | ReadableStream | null;
  /** Whether the body can be sent again to another origin. */
  replayable: boolean;
}

const NO_BODY: Body = { value: null, replayable: true };

async function requestBody(request: Request): Promise<Body> {
  const length = Number(request.headers.get('content-length') ?? NaN);
  if (Number.isFinite(length) && length <= MAX_BUFFERED_BODY) return { value: await request.arrayBuffer(), replayable: true };
  return { value: request.body, replayable: false };
}

function plain(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers } });
}
