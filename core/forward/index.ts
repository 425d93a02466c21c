/**
 * What forwarding a request to an origin means, as pure functions: the origin URL, the header
 * rewrite of a reverse proxy (RFC 9110 section 7.6.1 hop-by-hop fields, de-facto X-Forwarded-*),
 * and the retry rules.
 */
import type { Origin } from '../config/index.ts';
import { GATEWAY_FAILURE_STATUS, outcomeOf, type Outcome } from '../health/index.ts';

/** Hop-by-hop fields (RFC 9110 §7.6.1, RFC 7230 §6.1) a proxy must not forward. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/** Methods whose repetition has the same effect as one request (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export const isIdempotent = (method: string): boolean => IDEMPOTENT.has(method.toUpperCase());

/**
 * Whether an attempt that ended with `outcome` may move on to the next origin — nginx's
 * proxy_next_upstream and HAProxy's retry-on, with their rule for non-idempotent requests: an
 * idempotent method (RFC 9110 §9.2.2) moves on after a connection error, a timeout or a gateway
 * failure (502/503/504); any other method only after a connection error, when the request never
 * reached an origin — after a timeout or a gateway failure nobody knows whether the origin acted.
 * `retryNonIdempotent` (the load balancer's `retry_non_idempotent`, nginx's `non_idempotent`)
 * lets every method move on as idempotent ones do.
 */
export function mayRetry(method: string, outcome: Outcome, retryNonIdempotent = false): boolean {
  if (outcome === 'success' || outcome === '5xx') return false;
  return outcome === 'connect_error' || retryNonIdempotent || isIdempotent(method);
}

/** At most this many origins of one pool are tried for one request (worker/proxy/forward.ts) or TCP
 * connection (tcp-proxy/src/connection.ts); each further pool of failover_across_pools gets as many again. */
export const MAX_ATTEMPTS_PER_POOL = 3;

/** Whether a response with `status` to a `method` request may be retried on the next candidate (mayRetry of its outcome). */
export const retryableStatus = (method: string, status: number, retryNonIdempotent = false): boolean =>
  GATEWAY_FAILURE_STATUS.has(status) && mayRetry(method, outcomeOf(status), retryNonIdempotent);

/** The parts of a request URL a proxy needs. */
export interface RequestTarget {
  /** Scheme with colon: "http:" or "https:". */
  protocol: string;
  /** Host and port as the client wrote them ("a.example.com:8080", "[::1]:8080"). */
  host: string;
  /** Host without port (IPv6 keeps its brackets). */
  hostname: string;
  /** Path and query ("/a/b?x=1"). */
  path: string;
}

/**
 * Splits an absolute URL as the runtime serializes `Request.url` (WHATWG: `scheme://host[:port]/path[?query]`,
 * already normalized) with string operations only: `new URL` and its getters cost ~2% of
 * throughput per request (BENCH_PROFILE=1). Not a general URL parser: give it `request.url`.
 */
export function splitUrl(url: string): RequestTarget {
  const colon = url.indexOf('://');
  const start = colon + 3;
  let end = url.indexOf('/', start);
  if (end < 0) end = url.length;
  const query = url.indexOf('?', start);
  if (query >= 0 && query < end) end = query;
  let host = url.slice(start, end);
  const at = host.lastIndexOf('@');
  if (at >= 0) host = host.slice(at + 1);
  const close = host.lastIndexOf(']');
  const port = host.lastIndexOf(':');
  const hostname = port > close ? host.slice(0, port) : host;
  const rest = url.slice(end);
  return { protocol: url.slice(0, colon + 1), host, hostname, path: rest.startsWith('/') ? rest : `/${rest}` };
}

/**
 * The URL to fetch on `origin` for a request to `incoming`: same scheme, path and query; host is
 * the origin's address (IPv6 in brackets); port 0 means the scheme's default.
 */
export function originUrl(incoming: RequestTarget, origin: Origin): string {
  const host = origin.address.includes(':') ? `[${origin.address}]` : origin.address;
  const defaultPort = incoming.protocol === 'https:' ? 443 : 80;
  const port = origin.port && origin.port !== defaultPort ? `:${origin.port}` : '';
  return `${incoming.protocol}//${host}${port}${incoming.path}`;
}

/** True when the request asks to switch protocols to WebSocket (RFC 6455 §4.1). */
export function isWebSocketUpgrade(headers: Headers): boolean {
  return headers.get('upgrade')?.toLowerCase() === 'websocket';
}

/**
 * Forwarding headers a client may send that claim to say where the request came from. At the
 * edge the client address comes from the runtime (CF-Connecting-IP on Cloudflare), so these are
 * dropped unless the load balancer trusts the client's own (`trust_client_forwarded`).
 */
const FORWARDING_NAMES: ReadonlySet<string> = new Set(['forwarded', 'x-real-ip', 'true-client-ip', 'x-forwarded-port']);
const HOP_BY_HOP_NAMES: ReadonlySet<string> = new Set(HOP_BY_HOP);

/** Removes hop-by-hop fields, including those the Connection field names. Mutates and returns `headers`. */
export function stripHopByHop(headers: Headers): Headers {
  const named = (headers.get('connection') ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const name of [...HOP_BY_HOP, ...named]) headers.delete(name);
  return headers;
}

/**
 * Connection options the runtime's HTTP layer handles itself: it never passes an origin's
 * Connection or Keep-Alive on to the client (an end-to-end test holds us to it).
 */
const RUNTIME_CONNECTION_OPTIONS: ReadonlySet<string> = new Set(['keep-alive', 'close']);

/**
 * Whether an origin's response carries hop-by-hop fields that would reach the client (RFC 9110
 * §7.6.1): Proxy-Connection, Proxy-Authenticate, or a Connection that names fields beyond
 * keep-alive/close. Nearly every response has only `Connection: keep-alive`, and then is passed
 * on without a copy (a copy of every response cost ~6% of throughput). Each `has`/`get` crosses
 * into the runtime, hence two (three for a 407).
 */
export function hasHopByHop(headers: Headers, status = 200): boolean {
  // Proxy-Authenticate comes with a 407 (RFC 9110 §11.7.1): only then is it looked for.
  if (headers.has('proxy-connection') || (status === 407 && headers.has('proxy-authenticate'))) return true;
  const connection = headers.get('connection');
  if (connection === null) return false;
  for (const option of connection.split(',')) if (!RUNTIME_CONNECTION_OPTIONS.has(option.trim().toLowerCase())) return true;
  return false;
}

export interface ForwardFacts {
  /** The client's address (Cloudflare's CF-Connecting-IP), when known. */
  clientIp?: string;
  /** The scheme the client used, without colon: "http" or "https". */
  proto: string;
  /** The Host the client asked for. */
  host: string;
  /** `header.Host` of the origin, when set: the Host the origin expects. */
  originHost?: string;
  /** Pass on the client's Forwarded, X-Real-IP, True-Client-IP and X-Forwarded-Port (default: dropped). */
  trustClientForwarded?: boolean;
}

/**
 * The headers to send upstream: hop-by-hop fields removed (Upgrade/Connection kept for a
 * WebSocket handshake); the client address appended to X-Forwarded-For (Cloudflare's behaviour:
 * the last entry is the one the load balancer vouches for); the client's own Forwarded,
 * X-Real-IP, True-Client-IP and X-Forwarded-Port dropped unless `trustClientForwarded`;
 * X-Forwarded-Proto and X-Forwarded-Host set; Host replaced by the origin's `header.Host` when
 * configured.
 */
export function upstreamHeaders(incoming: Headers, facts: ForwardFacts): Headers {
  const headers = new Headers(incoming);
  // One pass over the fields the request has, deleting only those present: every has/get/delete
  // crosses into the runtime, and nearly every request carries none of the 13 names dropped (a
  // delete per listed name was ~3% of the Worker's CPU under load).
  const dropForwarding = facts.trustClientForwarded !== true;
  const seen: { connection?: string; upgrade?: string; prior?: string } = {};
  incoming.forEach((value, name) => {
    if (name === 'connection') seen.connection = value;
    else if (name === 'upgrade') seen.upgrade = value;
    else if (name === 'x-forwarded-for') seen.prior = value;
    if (HOP_BY_HOP_NAMES.has(name) || (dropForwarding && FORWARDING_NAMES.has(name))) headers.delete(name);
  });
  for (const option of seen.connection?.split(',') ?? []) if (option.trim()) headers.delete(option.trim().toLowerCase());
  if (seen.upgrade?.toLowerCase() === 'websocket') {
    headers.set('upgrade', 'websocket');
    headers.set('connection', 'Upgrade');
  }
  if (facts.clientIp) headers.set('x-forwarded-for', seen.prior ? `${seen.prior}, ${facts.clientIp}` : facts.clientIp);
  headers.set('x-forwarded-proto', facts.proto);
  headers.set('x-forwarded-host', facts.host);
  if (facts.originHost) headers.set('host', facts.originHost);
  return headers;
}
