/**
 * Forwarding: one request to a plan's candidates in turn, returning what happened
 * (`{response, answeredBy, attempts}`) rather than writing into shared state. Which failures move
 * on is core/forward mayRetry: a connection error always; a timeout or a 502/503/504 only for
 * idempotent methods (or with retry_non_idempotent) — a POST that timed out ends with our 504.
 * At most MAX_ATTEMPTS_PER_POOL origins per pool; a body that cannot be sent again (streamed, not
 * buffered) gets one attempt. Hop-by-hop response fields (RFC 9110 §7.6.1) never reach the client.
 *
 * Hot-path notes (measured with `BENCH_PROFILE=1 npm run bench`): per_try_timeout is an
 * `AbortSignal.timeout`, a native timer; a JS setTimeout/clearTimeout pair per attempt cost ~8% of
 * throughput. In workerd the signal bounds the wait for response headers only: a body that
 * streams for longer reaches the client whole (an end-to-end test holds us to it). Responses go
 * back as they came: the runtime's HTTP layer owns the client connection and does not pass an
 * origin's Connection, Keep-Alive or Transfer-Encoding on (the end-to-end tests check it).
 *
 * Metrics: every attempt is counted (`ForwardDeps.count`: status or failure, ms to response
 * headers, body bytes by size or Content-Length, retry or not), a few numbers per attempt that ride
 * on the outcome reports. A benchmark bundle built with
 * `--define globalThis.EDGE_LB_METRICS_OFF:true` leaves the counting out (bench/metrics.ts).
 */
import { AFFINITY_COOKIE, withoutCookie } from '../../core/affinity/index.ts';
import { hasHopByHop, MAX_ATTEMPTS_PER_POOL, mayRetry, originUrl, stripHopByHop, upstreamHeaders, type RequestTarget } from '../../core/forward/index.ts';
import { outcomeOf, type Outcome } from '../../core/health/index.ts';
import { CONNECT_ERROR, TIMEOUT } from '../../core/metrics/index.ts';
import type { Candidate, Plan } from '../../core/route/index.ts';
import { tracksLoad } from '../../core/steer/index.ts';
import type { LoadTracker } from '../../core/steer/load.ts';
import type { PlaceFacts } from '../../core/steer/pools.ts';

export { MAX_ATTEMPTS_PER_POOL }; // core/forward's, re-exported by worker/proxy/index.ts
/** Request bodies up to this size (bytes, by Content-Length) are buffered so they can be retried. */
export const MAX_BUFFERED_BODY = 1024 * 1024;
/** False only in a benchmark bundle that compares against no counting (see the module's docstring). */
const METRICS = (globalThis as { EDGE_LB_METRICS_OFF?: boolean }).EDGE_LB_METRICS_OFF !== true;

/** What forwarding needs from the isolate. */
export interface ForwardDeps {
  /** The network; `fetch` in the Worker (called unbound: the runtime's fetch rejects any other `this`). */
  readonly fetch: typeof fetch;
  now(): number;
  /** Requests under way and response times per origin, for least_* steering. */
  readonly load: LoadTracker;
  /** Told what each attempt saw (passive health); `latencyMs` (to response headers) when timed for dynamic_latency, from `place`. */
  observe(lbId: string, candidate: Candidate, outcome: Outcome, latencyMs?: number, place?: PlaceFacts): void;
  /** Counts one attempt for metrics: `status`, or core/metrics CONNECT_ERROR / TIMEOUT; ms to response headers; body bytes sent and received (0 = unknown); `retry` when not the request's first attempt. */
  count(lbId: string, candidate: Candidate, status: number, ms: number, sent: number, received: number, retry: boolean): void;
}

/** One request as forwarding sends it. */
export interface Exchange {
  readonly request: Request;
  readonly url: RequestTarget;
  readonly body: Body;
  readonly lbId: string;
  readonly lbName: string;
  /** Per-try timeout in ms (per_try_timeout is in seconds). */
  readonly timeoutMs: number;
  readonly clientIp: string | undefined;
  /** Remove our affinity cookie from what the origin sees. */
  readonly stripAffinityCookie: boolean;
  /** The load balancer's retry_non_idempotent and trust_client_forwarded. */
  readonly retryNonIdempotent: boolean;
  readonly trustClientForwarded: boolean;
  /** Whether pool steering reads per-pool load (core/steer steeringNeeds). */
  readonly trackPools: boolean;
  /** Set for dynamic_latency load balancers: attempts are timed and reported from this place. */
  readonly latencyPlace: PlaceFacts | undefined;
}

/** What forwarding did: the response to send, the candidate whose response it is, and how many origins were tried. */
export interface Forwarded {
  response: Response;
  answeredBy?: Candidate;
  attempts: number;
}

export interface Body {
  value: ArrayBuffer | ReadableStream | null;
  /** Whether the body can be sent again to another origin. */
  replayable: boolean;
}

export const NO_BODY: Body = { value: null, replayable: true };

/** Buffers a body of known size up to MAX_BUFFERED_BODY (so it can be retried); streams anything else to one attempt. */
export async function requestBody(request: Request): Promise<Body> {
  if (!request.body) return NO_BODY;
  const length = Number(request.headers.get('content-length') ?? NaN);
  if (Number.isFinite(length) && length <= MAX_BUFFERED_BODY) return { value: await request.arrayBuffer(), replayable: true };
  return { value: request.body, replayable: false };
}

/** Walks `plan` until an origin gives a final answer, or a failure that may not move on (mayRetry). Never rejects. */
export async function forward(x: Exchange, plan: Plan, deps: ForwardDeps): Promise<Forwarded> {
  const method = x.request.method;
  let attempts = 1;
  let result = await attempt(x, plan.first, deps, false);
  let answeredBy = typeof result === 'string' ? undefined : plan.first;
  if (x.body.replayable && mayRetry(method, outcomeOfResult(result), x.retryNonIdempotent)) {
    let inPool = 1;
    let rank = 0;
    for (const candidate of plan.rest()) {
      if (candidate.poolRank !== rank) [rank, inPool] = [candidate.poolRank, 0];
      if (inPool === MAX_ATTEMPTS_PER_POOL) continue;
      inPool++;
      attempts++;
      const next = await attempt(x, candidate, deps, true);
      if (typeof next === 'string') {
        // An answer we hold stands unless another origin answers; a failure that may not move on ends the walk.
        if (typeof result === 'string') result = next;
        if (!mayRetry(method, next, x.retryNonIdempotent)) break;
        continue;
      }
      if (typeof result !== 'string') await result.body?.cancel();
      result = next;
      answeredBy = candidate;
      if (!mayRetry(method, outcomeOf(next.status), x.retryNonIdempotent)) break;
    }
  }
  if (typeof result !== 'string') return { response: clientFacing(result), answeredBy, attempts };
  if (result === 'timeout' && !mayRetry(method, 'timeout', x.retryNonIdempotent)) {
    return {
      response: plain(504, `The origin did not answer ${method} within per_try_timeout; not retried elsewhere: ${method} is not idempotent.\n`),
      attempts,
    };
  }
  return { response: plain(503, `No origin of load balancer ${x.lbName} answered (${attempts} tried).\n`, { 'retry-after': '5' }), attempts };
}

/** The outcome class of an attempt's result. */
function outcomeOfResult(result: Response | 'connect_error' | 'timeout'): Outcome {
  return typeof result === 'string' ? result : outcomeOf(result.status);
}

/** The origin's response without hop-by-hop fields; untouched (no copy) when it has none, as nearly every response. */
function clientFacing(res: Response): Response {
  if (res.status === 101 || !hasHopByHop(res.headers, res.status)) return res;
  const out = new Response(res.body, res);
  stripHopByHop(out.headers);
  return out;
}

/**
 * One try on one origin: the response, or why there was none — `connect_error` (no connection,
 * or it broke) or `timeout` (no response headers within the per-try timeout; the body of a
 * response that did come streams without a deadline).
 */
async function attempt(x: Exchange, candidate: Candidate, deps: ForwardDeps, retry: boolean): Promise<Response | 'connect_error' | 'timeout'> {
  const headers = upstreamHeaders(x.request.headers, {
    clientIp: x.clientIp,
    proto: x.url.protocol === 'https:' ? 'https' : 'http',
    host: x.url.host,
    originHost: candidate.origin.header.Host?.[0],
    trustClientForwarded: x.trustClientForwarded,
  });
  if (x.stripAffinityCookie) {
    const rest = withoutCookie(headers.get('cookie'), AFFINITY_COOKIE);
    if (rest === null) headers.delete('cookie');
    else headers.set('cookie', rest);
  }
  const pool = candidate.pool;
  const tracked = x.trackPools || tracksLoad(pool);
  const load = deps.load;
  if (tracked) load.start(pool.id, pool.origins.length, candidate.originIndex);
  const started = METRICS || tracked || x.latencyPlace ? deps.now() : 0;
  const send = deps.fetch;
  try {
    const res = await send(originUrl(x.url, candidate.origin), {
      method: x.request.method,
      headers,
      body: x.body.value,
      redirect: 'manual',
      signal: AbortSignal.timeout(x.timeoutMs),
    });
    // Load and latency count until response headers (the body streams outside our view).
    const ms = started ? deps.now() - started : 0;
    if (tracked) load.end(pool.id, pool.origins.length, candidate.originIndex, ms);
    deps.observe(x.lbId, candidate, outcomeOf(res.status), x.latencyPlace ? ms : undefined, x.latencyPlace);
    if (METRICS) deps.count(x.lbId, candidate, res.status, ms, sentBytes(x), Number(res.headers.get('content-length')) || 0, retry);
    return res;
  } catch (e) {
    if (tracked) load.end(pool.id, pool.origins.length, candidate.originIndex);
    const failure = isTimeout(e) ? 'timeout' : 'connect_error';
    deps.observe(x.lbId, candidate, failure);
    if (METRICS) deps.count(x.lbId, candidate, failure === 'timeout' ? TIMEOUT : CONNECT_ERROR, 0, sentBytes(x), 0, retry);
    return failure;
  }
}

/** The request body's size in bytes: buffered, or its Content-Length when streamed; 0 without a body or a known size. */
function sentBytes(x: Exchange): number {
  const body = x.body.value;
  if (body === null) return 0;
  return body instanceof ArrayBuffer ? body.byteLength : Number(x.request.headers.get('content-length')) || 0;
}

function isTimeout(e: unknown): boolean {
  return e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
}

/** Our own answers: one line of text, never cached. */
export function plain(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers } });
}
