/**
 * The proxy: resolve the load balancer by Host, plan candidates (core/route), and forward to each
 * in turn until one answers, at most MAX_ATTEMPTS_PER_POOL origins per pool. Retries: a connection error or per-try timeout always moves on
 * (nothing reached the origin); 502/503/504 move on only for idempotent methods. A body is
 * buffered (and so retryable) up to MAX_BUFFERED_BODY bytes; larger or unsized bodies stream to
 * one attempt only.
 */
import { planRoute, type Snapshot } from '../../core/route/index.ts';
import { hasHopByHop, originUrl, retryableStatus, stripHopByHop, upstreamHeaders } from '../../core/forward/index.ts';

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
}

/** Handles one load-balanced request (`url` is `request.url` parsed). Never throws: every failure becomes a response. */
export async function proxyRequest(request: Request, url: URL, deps: ProxyDeps): Promise<Response> {
  const lb = deps.snapshot.lookup(url.hostname);
  if (!lb || !lb.enabled) {
    return plain(404, `No load balancer is ${lb ? 'enabled' : 'configured'} for host ${url.hostname}.\n`);
  }
  const plan = planRoute(deps.snapshot, lb, deps.random);
  if (!plan) return plain(503, `No origin of load balancer ${lb.name} is available.\n`, { 'retry-after': '5' });

  const body = request.body ? await requestBody(request) : NO_BODY;
  const timeoutMs = lb.per_try_timeout * 1000;
  const facts = { clientIp: request.headers.get('cf-connecting-ip') ?? undefined, proto: url.protocol.slice(0, -1), host: url.host };
  let attempts = 0;
  let inPool = 0;
  let rank = 0;
  let last: Response | undefined;
  for (const candidate of plan.candidates) {
    if (candidate.poolRank !== rank) [rank, inPool] = [candidate.poolRank, 0];
    if (inPool === MAX_ATTEMPTS_PER_POOL) continue;
    attempts++;
    inPool++;
    const host = candidate.origin.header.Host?.[0];
    const headers = upstreamHeaders(request.headers, { ...facts, originHost: host });
    let response: Response;
    try {
      response = await fetchWithTimeout(deps.fetch, originUrl(url, candidate.origin), {
        method: request.method,
        headers,
        body: body.value,
        redirect: 'manual',
      }, timeoutMs);
    } catch {
      if (!body.replayable) break;
      continue;
    }
    if (retryableStatus(request.method, response.status) && body.replayable) {
      if (last) await last.body?.cancel();
      last = response;
      continue;
    }
    if (last) await last.body?.cancel();
    return toClient(response);
  }
  if (last) return toClient(last);
  return plain(503, `No origin of load balancer ${lb.name} answered (${attempts} tried).\n`, { 'retry-after': '5' });
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

/** fetch, aborted if the response headers take longer than `ms`; the body then streams freely. */
async function fetchWithTimeout(f: typeof fetch, url: string, init: RequestInit, ms: number): Promise<Response> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`no response headers within ${ms} ms`)), ms);
  try {
    return await f(url, { ...init, signal: abort.signal });
  } finally {
    clearTimeout(timer);
  }
}

/** The origin's response for the client: hop-by-hop fields removed; a WebSocket handshake passed as is. */
function toClient(response: Response): Response {
  if (response.status === 101 || (response as Response & { webSocket?: unknown }).webSocket) return response;
  if (!hasHopByHop(response.headers)) return response;
  const out = new Response(response.body, response);
  stripHopByHop(out.headers);
  return out;
}

function plain(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers } });
}
