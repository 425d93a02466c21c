/**
 * Attempts: forwarding one request to the plan's candidates in turn. A connection error or
 * per-try timeout always moves on (nothing reached the origin); 502/503/504 move on only for
 * idempotent methods; at most MAX_ATTEMPTS_PER_POOL origins per pool.
 *
 * Hot-path notes (measured with `BENCH_PROFILE=1 npm run bench`): per_try_timeout is an
 * `AbortSignal.timeout`, a native timer; a JS setTimeout/clearTimeout pair per attempt cost ~8% of
 * throughput. In workerd the signal bounds the wait for response headers only: a body that
 * streams for longer reaches the client whole (an end-to-end test holds us to it). Responses go
 * back as they came: the runtime's HTTP layer owns the client connection and does not pass an
 * origin's Connection, Keep-Alive or Transfer-Encoding on (the end-to-end tests check it); a copy
 * to strip them cost ~4% throughput.
 */
import { AFFINITY_COOKIE, withoutCookie } from '../../core/affinity/index.ts';
import type { Pool } from '../../core/config/index.ts';
import { originUrl, retryableStatus, upstreamHeaders, type RequestTarget } from '../../core/forward/index.ts';
import type { Candidate, Plan, Snapshot } from '../../core/route/index.ts';
import { LoadTracker } from '../../core/steer/load.ts';
import { tracksLoad } from '../../core/steer/index.ts';
import type { PlaceFacts } from '../../core/steer/pools.ts';

/** At most this many origins of one pool are tried for one request (each further pool of
 * failover_across_pools gets as many again). */
export const MAX_ATTEMPTS_PER_POOL = 3;
/** Request bodies up to this size (bytes, by Content-Length) are buffered so they can be retried. */
export const MAX_BUFFERED_BODY = 1024 * 1024;

/** What forwarding needs from the Worker. */
export interface Network {
  snapshot: Snapshot;
  /** The network; `fetch` in the Worker (called unbound). */
  fetch: typeof fetch;
  /**
   * Told what each attempt saw (passive health). `status` undefined = no answer; `latencyMs`
   * (to response headers) when the attempt was timed for dynamic_latency, from `place`.
   */
  observe?(lbId: string, candidate: Candidate, status: number | undefined, latencyMs?: number, place?: PlaceFacts): void;
}

/** The first attempt, without iterators: the path nearly every request takes. */
export function firstAttempt(a: Attempt): Promise<Response> {
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

export interface Attempt {
  request: Request;
  url: RequestTarget;
  deps: Network;
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
  /** Set for dynamic_latency load balancers: attempts are timed and reported from this place. */
  latencyPlace?: PlaceFacts;
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
  if (tracked) load.start(pool.id, pool.origins.length, candidate.originIndex);
  const started = tracked || a.latencyPlace ? Date.now() : 0;
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
  const deps = a.deps;
  if (!deps.observe) return sent.catch(failed);
  return sent.then(
    (res) => (deps.observe!(a.lbId, candidate, res.status, a.latencyPlace ? Date.now() - started : undefined, a.latencyPlace), res),
    () => (deps.observe!(a.lbId, candidate, undefined), undefined),
  );
}

function failed(): undefined {
  return undefined;
}

/** This isolate's view of origin load, for least_* origin steering. */
const load = new LoadTracker();
export const loadStats = (pool: Pool) => load.stats(pool.id, pool.origins.length);
export const poolOutstanding = (poolId: string) => load.poolOutstanding(poolId);

function noAnswer(lbName: string, attempts: number): Response {
  return plain(503, `No origin of load balancer ${lbName} answered (${attempts} tried).\n`, { 'retry-after': '5' });
}

export interface Body {
  value: ArrayBuffer | ReadableStream | null;
  /** Whether the body can be sent again to another origin. */
  replayable: boolean;
}

export const NO_BODY: Body = { value: null, replayable: true };

export async function requestBody(request: Request): Promise<Body> {
  const length = Number(request.headers.get('content-length') ?? NaN);
  if (Number.isFinite(length) && length <= MAX_BUFFERED_BODY) return { value: await request.arrayBuffer(), replayable: true };
  return { value: request.body, replayable: false };
}

export function plain(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers } });
}
