/**
 * Forwarding: one request to a plan's candidates in turn, returning what happened
 * (`{response, answeredBy, attempts}`) rather than writing into shared state. A connection error
 * or per-try timeout moves on; 502/503/504 move on only for idempotent methods (core/forward
 * retryableStatus); at most MAX_ATTEMPTS_PER_POOL origins per pool; a body that cannot be sent
 * again (streamed, not buffered) gets one attempt.
 *
 * Hot-path notes (measured with `BENCH_PROFILE=1 npm run bench`): per_try_timeout is an
 * `AbortSignal.timeout`, a native timer; a JS setTimeout/clearTimeout pair per attempt cost ~8% of
 * throughput. In workerd the signal bounds the wait for response headers only: a body that
 * streams for longer reaches the client whole (an end-to-end test holds us to it). Responses go
 * back as they came: the runtime's HTTP layer owns the client connection and does not pass an
 * origin's Connection, Keep-Alive or Transfer-Encoding on (the end-to-end tests check it).
 */
import { AFFINITY_COOKIE, withoutCookie } from '../../core/affinity/index.ts';
import { originUrl, retryableStatus, upstreamHeaders, type RequestTarget } from '../../core/forward/index.ts';
import { outcomeOf, type Outcome } from '../../core/health/index.ts';
import type { Candidate, Plan } from '../../core/route/index.ts';
import { tracksLoad } from '../../core/steer/index.ts';
import type { LoadTracker } from '../../core/steer/load.ts';
import type { PlaceFacts } from '../../core/steer/pools.ts';

/** At most this many origins of one pool are tried for one request (each further pool of
 * failover_across_pools gets as many again). */
export const MAX_ATTEMPTS_PER_POOL = 3;
/** Request bodies up to this size (bytes, by Content-Length) are buffered so they can be retried. */
export const MAX_BUFFERED_BODY = 1024 * 1024;

/** What forwarding needs from the isolate. */
export interface ForwardDeps {
  /** The network; `fetch` in the Worker (called unbound: the runtime's fetch rejects any other `this`). */
  readonly fetch: typeof fetch;
  now(): number;
  /** Requests under way and response times per origin, for least_* steering. */
  readonly load: LoadTracker;
  /** Told what each attempt saw (passive health); `latencyMs` (to response headers) when timed for dynamic_latency, from `place`. */
  observe(lbId: string, candidate: Candidate, outcome: Outcome, latencyMs?: number, place?: PlaceFacts): void;
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

/** Walks `plan` until an origin gives a final answer. Never rejects. */
export async function forward(x: Exchange, plan: Plan, deps: ForwardDeps): Promise<Forwarded> {
  let attempts = 1;
  let last = await attempt(x, plan.first, deps);
  let answeredBy = last ? plan.first : undefined;
  const again = last ? x.body.replayable && retryableStatus(x.request.method, last.status) : x.body.replayable;
  if (again) {
    let inPool = 1;
    let rank = 0;
    for (const candidate of plan.rest()) {
      if (candidate.poolRank !== rank) [rank, inPool] = [candidate.poolRank, 0];
      if (inPool === MAX_ATTEMPTS_PER_POOL) continue;
      inPool++;
      attempts++;
      const response = await attempt(x, candidate, deps);
      if (!response) continue;
      if (last) await last.body?.cancel();
      last = response;
      answeredBy = candidate;
      if (!retryableStatus(x.request.method, response.status)) break;
    }
  }
  const response = last ?? plain(503, `No origin of load balancer ${x.lbName} answered (${attempts} tried).\n`, { 'retry-after': '5' });
  return { response, answeredBy, attempts };
}

/**
 * One try on one origin: the response, or undefined when the connection failed or no response
 * headers came within the per-try timeout (the body then streams without a deadline).
 */
async function attempt(x: Exchange, candidate: Candidate, deps: ForwardDeps): Promise<Response | undefined> {
  const headers = upstreamHeaders(x.request.headers, {
    clientIp: x.clientIp,
    proto: x.url.protocol === 'https:' ? 'https' : 'http',
    host: x.url.host,
    originHost: candidate.origin.header.Host?.[0],
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
  const started = tracked || x.latencyPlace ? deps.now() : 0;
  const send = deps.fetch;
  try {
    const res = await send(originUrl(x.url, candidate.origin), {
      method: x.request.method, headers, body: x.body.value, redirect: 'manual', signal: AbortSignal.timeout(x.timeoutMs),
    });
    // Load and latency count until response headers (the body streams outside our view).
    const ms = started ? deps.now() - started : 0;
    if (tracked) load.end(pool.id, pool.origins.length, candidate.originIndex, ms);
    deps.observe(x.lbId, candidate, outcomeOf(res.status), x.latencyPlace ? ms : undefined, x.latencyPlace);
    return res;
  } catch (e) {
    if (tracked) load.end(pool.id, pool.origins.length, candidate.originIndex);
    deps.observe(x.lbId, candidate, outcomeOf(undefined, isTimeout(e) ? 'timeout' : 'connect'));
    return undefined;
  }
}

function isTimeout(e: unknown): boolean {
  return e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
}

/** Our own answers: one line of text, never cached. */
export function plain(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers } });
}
