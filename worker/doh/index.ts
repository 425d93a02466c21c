/**
 * The DNS-over-HTTPS route (RFC 8484): `/dns-query` on the hostnames in DOH_HOSTS
 * (worker/hosts.ts). The DNS side is dns/doh; this is the HTTP side, and it never answers 5xx.
 *
 * - GET `?dns=<base64url>` (RFC 8484 §4.1; `=` padding, which clients must not send, is
 *   tolerated) and POST with `Content-Type: application/dns-message` (parameters ignored).
 * - 405 for another method (with `Allow`), 415 for another POST media type, 400 for a missing,
 *   empty or undecodable `dns` parameter or body, or a message too short to carry an ID.
 * - Size: at most MAX_DNS_MESSAGE (4,096) bytes. RFC 8484 leaves the limit to the server; a
 *   query is one question plus an OPT record (with ECS and RFC 8467 padding, a few hundred
 *   bytes), and 4,096 is EDNS's customary largest UDP message (RFC 6891 §6.2.5). A larger POST
 *   body answers 413 (a Content-Length over the limit is refused unread; a chunked body is read
 *   only up to it); a GET whose `dns` parameter decodes past it answers 414 URI Too Long.
 * - 200 `application/dns-message` for every DNS answer, FORMERR and SERVFAIL included (§4.2.1:
 *   DNS errors are DNS responses); `Cache-Control: max-age=<TTL>` for answers and NODATA (§5.1),
 *   `no-store` for REFUSED and errors.
 *
 * Routing uses the isolate's snapshot and health caches, as traffic does (worker/isolate.ts):
 * the place is request.cf, the client CF-Connecting-IP (the resolver, for most DoH clients).
 */
import { answerDoh, MAX_DNS_MESSAGE, type DohAnswer, type DohContext, type DohHealth } from '../../dns/doh/index.ts';
import type { Pool } from '../../core/config/index.ts';
import type { LoadStats } from '../../core/steer/index.ts';
import type { PlaceFacts } from '../../core/steer/pools.ts';
import type { RequestTarget } from '../../core/forward/index.ts';
import type { Snapshot } from '../../core/route/index.ts';
import type { Backends, Isolate } from '../isolate.ts';
import { CfPlace } from '../proxy/facts.ts';
import { plain } from '../proxy/forward.ts';
import type { ProxyDeps } from '../proxy/index.ts';

export { MAX_DNS_MESSAGE };
export const DOH_PATH = '/dns-query';
const MEDIA_TYPE = 'application/dns-message';
/** Base64url characters of a message of MAX_DNS_MESSAGE bytes (padding aside). */
const MAX_PARAM_CHARS = Math.ceil((MAX_DNS_MESSAGE * 4) / 3) + 2;

/** Whether `url` is a DoH request's path (`/dns-query`, with or without a query string). */
export function isDohPath(url: RequestTarget): boolean {
  return url.path.startsWith(DOH_PATH) && (url.path.length === DOH_PATH.length || url.path.charCodeAt(DOH_PATH.length) === 63); /* ? */
}

/** Answers one DoH request (see the module comment). Never rejects; synchronous for a GET when config and health are cached. */
export function serveDoh(request: Request, isolate: Isolate, backends: Backends): Response | Promise<Response> {
  if (request.method === 'GET') {
    const bytes = readGet(request.url);
    return bytes instanceof Response ? bytes : respond(bytes, request, isolate, backends);
  }
  if (request.method !== 'POST') return plain(405, 'DNS-over-HTTPS takes GET and POST (RFC 8484 §4.1).\n', { allow: 'GET, POST' });
  return readPost(request).then(
    (bytes) => (bytes instanceof Response ? bytes : respond(bytes, request, isolate, backends)),
    () => plain(400, 'The DNS message could not be read.\n'),
  );
}

/** The answer to `bytes` as an HTTP response: routed over the isolate's snapshot and health. */
function respond(bytes: Uint8Array, request: Request, isolate: Isolate, backends: Backends): Response | Promise<Response> {
  const unavailable = (e: unknown) => {
    // No snapshot (a cold isolate whose ConfigStore did not answer in time): SERVFAIL, the DNS 503.
    logFailure(e);
    return httpAnswer(answerDoh(bytes, UNAVAILABLE) as DohAnswer | undefined);
  };
  try {
    const snapshot = isolate.snapshot(backends);
    if (snapshot instanceof Promise) return snapshot.then((s) => answerWith(bytes, request, isolate, backends, s)).catch(unavailable);
    return answerWith(bytes, request, isolate, backends, snapshot);
  } catch (e) {
    return unavailable(e);
  }
}

function answerWith(bytes: Uint8Array, request: Request, isolate: Isolate, backends: Backends, snapshot: Snapshot): Response | Promise<Response> {
  const answer = answerDoh(bytes, new RequestContext(request, snapshot, isolate.deps(snapshot, backends)), logFailure);
  return answer instanceof Promise ? answer.then(httpAnswer) : httpAnswer(answer);
}

/** One DoH request's DohContext: the isolate's routing dependencies, and request facts read only when asked for. */
class RequestContext implements DohContext {
  readonly snapshot: Snapshot;
  readonly random: () => number;
  readonly stats: (pool: Pool) => LoadStats | undefined;
  readonly poolOutstanding: (poolId: string) => number;
  readonly #request: Request;
  readonly #deps: ProxyDeps;
  #place: CfPlace | undefined;
  constructor(request: Request, snapshot: Snapshot, deps: ProxyDeps) {
    this.#request = request;
    this.#deps = deps;
    this.snapshot = snapshot;
    this.random = deps.random;
    this.stats = deps.loadStats;
    this.poolOutstanding = deps.poolOutstanding;
  }
  health(lbId: string): DohHealth | Promise<DohHealth> {
    return this.#deps.health(lbId);
  }
  /** request.cf, or the place remembered for this client address (the isolate's memo, as for proxied traffic). */
  get place(): PlaceFacts {
    return (this.#place ??= new CfPlace(this.#request, this.clientIp, this.#deps));
  }
  get clientIp(): string | undefined {
    return this.#request.headers.get('cf-connecting-ip') ?? undefined;
  }
}

function httpAnswer(answer: DohAnswer | undefined): Response {
  if (!answer) return plain(400, 'The DNS message is too short to carry an ID.\n');
  return new Response(answer.message, responseInit(answer.maxAge));
}

/** Response inits by max-age (seconds; undefined: no-store), at most MAX_INITS (load balancers' TTLs: a handful). */
const inits = new Map<number | undefined, ResponseInit>();
const MAX_INITS = 64;

/**
 * The headers of a DNS answer, built once per max-age: workerd's Response constructor copies a
 * Headers object faster than it reads an object literal's properties (about 3.5 against 4.3 µs
 * per Response in a loop inside workerd), and the template string is made once.
 */
function responseInit(maxAge: number | undefined): ResponseInit {
  let init = inits.get(maxAge);
  if (!init) {
    if (inits.size >= MAX_INITS) inits.clear();
    init = { headers: new Headers({ 'content-type': MEDIA_TYPE, 'cache-control': maxAge === undefined ? 'no-store' : `max-age=${maxAge}` }) };
    inits.set(maxAge, init);
  }
  return init;
}

/** The message of a GET (`dns` in the query string), or the HTTP error to answer. */
function readGet(url: string): Uint8Array | Response {
  const q = url.indexOf('?');
  const param = q < 0 ? null : dnsParam(url.slice(q + 1));
  if (!param) return plain(400, 'GET /dns-query needs a dns parameter: the DNS message in base64url (RFC 8484 §4.1).\n');
  if (param.length > MAX_PARAM_CHARS) return plain(414, `The DNS message is longer than ${MAX_DNS_MESSAGE} bytes.\n`);
  const bytes = base64url(param);
  if (!bytes) return plain(400, 'The dns parameter is not base64url (RFC 4648 §5).\n');
  return bytes.length > MAX_DNS_MESSAGE ? plain(414, `The DNS message is longer than ${MAX_DNS_MESSAGE} bytes.\n`) : bytes;
}

/** The message of a POST, or the HTTP error to answer. Rejects when the body cannot be read. */
async function readPost(request: Request): Promise<Uint8Array | Response> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== MEDIA_TYPE) return plain(415, `POST /dns-query takes Content-Type: ${MEDIA_TYPE} (RFC 8484 §4.1).\n`);
  const tooLarge = () => plain(413, `The DNS message is longer than ${MAX_DNS_MESSAGE} bytes.\n`);
  const length = Number(request.headers.get('content-length') ?? NaN);
  if (length > MAX_DNS_MESSAGE) return tooLarge();
  const body = await readCapped(request, MAX_DNS_MESSAGE);
  if (!body) return tooLarge();
  return body.length ? body : plain(400, 'The request body is empty: POST /dns-query takes one DNS message.\n');
}

/** The body, or undefined once it passes `cap` bytes (the rest is never read). */
async function readCapped(request: Request, cap: number): Promise<Uint8Array | undefined> {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > cap) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) (out.set(c, at), (at += c.length));
  return out;
}

/** The first `dns` parameter of a query string (URLSearchParams's reading, without building the object: the hot path). */
function dnsParam(query: string): string | null {
  for (let at = 0; at <= query.length;) {
    let end = query.indexOf('&', at);
    if (end < 0) end = query.length;
    if (query.startsWith('dns=', at)) {
      const value = query.slice(at + 4, end);
      return value.includes('%') || value.includes('+') ? new URLSearchParams(query.slice(at, end)).get('dns') : value;
    }
    at = end + 1;
  }
  return null;
}

/** Each base64url character's 6-bit value (RFC 4648 §5), -1 for every other code unit below 128. */
const BASE64URL = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) BASE64URL['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i)] = i;

/**
 * Base64url (RFC 4648 §5) to bytes; undefined when not base64url. As TC39's `Uint8Array.fromBase64`
 * with lastChunkHandling "loose" (worker/doh/index.test.ts holds them to the same results): the `=`
 * padding that completes the last group is tolerated, bits past the last whole byte are ignored
 * (RFC 4648 §3.5 lets a decoder), and only ASCII whitespace, which fromBase64 skips, is refused.
 * By hand because on a DoH query's few dozen characters workerd's fromBase64 costs several times
 * this loop (`BENCH_PROFILE=1 node bench/doh.ts`).
 */
export function base64url(s: string): Uint8Array | undefined {
  let n = s.length;
  if (n % 4 === 0 && s.charCodeAt(n - 1) === 61 /* = */) n -= s.charCodeAt(n - 2) === 61 ? 2 : 1;
  if (n % 4 === 1) return undefined;
  const out = new Uint8Array((n * 3) >> 2);
  let bits = 0;
  let held = 0;
  let at = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? BASE64URL[c]! : -1;
    if (v < 0) return undefined;
    bits = ((bits << 6) | v) & 0xffffff;
    held += 6;
    if (held >= 8) {
      held -= 8;
      out[at++] = bits >> held;
    }
  }
  return out;
}

function logFailure(e: unknown): void {
  console.error('doh failure', e instanceof Error ? e.message : String(e));
}

/** What answers when no config is at hand: every well-formed query fails as SERVFAIL. */
const UNAVAILABLE: DohContext = {
  snapshot: {
    version: -1,
    pools: new Map(),
    loadBalancers: new Map(),
    poolOrders: new Map(),
    poolsOf: new Map(),
    affinityKeys: [],
    lookup() {
      throw new Error('no configuration');
    },
  },
  health: () => ({ usable: () => false }),
  random: Math.random,
  place: {},
  clientIp: undefined,
};
