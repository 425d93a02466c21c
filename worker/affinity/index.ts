/**
 * Session affinity at the edge: one interface — read the pin a request carries; write it for the
 * origin that answered — with two implementations (Cloudflare's `session_affinity` kinds):
 * - CookieAffinity (`cookie`, `ip_cookie`): a signed cookie names the origin, so any edge honours it
 *   without asking a Durable Object (core/affinity signPin/readPin).
 * - TableAffinity (`header`): the load balancer's LbState holds each session's origin with an idle
 *   TTL; edges cache pins (PinCache), ask the Durable Object only on a miss, write new sessions in
 *   the background and refresh the idle TTL at most every half TTL.
 * Whether a pin is honoured, and whether a response may create or move one, is decided in
 * core/affinity (judgePin, pinAfter) for both.
 */
import { AFFINITY_COOKIE, affinityTtl, readPin, sessionId, sessionKey, setCookieHeader, signPin, type Pin } from '../../core/affinity/index.ts';
import type { LoadBalancer } from '../../core/config/index.ts';
import type { Client, LbStateApi } from '../../core/rpc/index.ts';
import type { Candidate } from '../../core/route/index.ts';
import type { RequestFacts } from '../../core/steer/index.ts';

/** What affinity reads of a request. */
export type PinSource = Required<Pick<RequestFacts, 'header' | 'cookie'>>;

export interface Affinity {
  /** Whether our affinity cookie is removed from what the origin sees. */
  readonly stripsCookie: boolean;
  /** The pin the request carries (signature or table checked; not yet judged against config and health). */
  read(lb: LoadBalancer, request: PinSource): Promise<Pin | undefined>;
  /**
   * Records that `answeredBy` now holds the session (`replace`: the request carried a pin that was
   * not honoured or moved). Returns the response to send (the cookie kind adds Set-Cookie).
   */
  write(lb: LoadBalancer, request: PinSource, answeredBy: Candidate, response: Response, https: boolean, replace: boolean): Promise<Response>;
}

/** Cookie and ip_cookie affinity: `__cflb`, a sealed (AES-GCM) pin with an absolute expiry (epoch s). */
export class CookieAffinity implements Affinity {
  readonly stripsCookie = true;
  /** Newest first: the first seals, any reads (a rotated-out key keeps its sessions). */
  readonly #keys: Promise<CryptoKey[]>;
  readonly #now: () => number;
  constructor(keys: Promise<CryptoKey[]>, now: () => number) {
    this.#keys = keys;
    this.#now = now;
  }
  async read(lb: LoadBalancer, request: PinSource): Promise<Pin | undefined> {
    const value = request.cookie(AFFINITY_COOKIE);
    return value ? readPin(await this.#keys, lb.id, value, Math.floor(this.#now() / 1000)) : undefined;
  }
  async write(lb: LoadBalancer, _request: PinSource, by: Candidate, response: Response, https: boolean): Promise<Response> {
    const expiresAt = Math.floor(this.#now() / 1000) + affinityTtl(lb);
    const value = await signPin((await this.#keys)[0]!, lb.id, { poolId: by.pool.id, origin: by.origin.name, expiresAt });
    const out = new Response(response.body, response);
    out.headers.append('set-cookie', setCookieHeader(lb, value, https));
    return out;
  }
}

/** At most this many header-affinity pins are cached per isolate (least recently used go first). */
export const MAX_CACHED_PINS = 10_000;

interface CachedPin extends Pin {
  /** Idle expiry (epoch ms) as last known, and when this edge last extended it. */
  expiresAt: number;
  refreshedAt: number;
}

/** The isolate's cache of header-affinity pins by session id: LRU, capped at `max`, evictions counted. */
export class PinCache {
  readonly #entries = new Map<string, CachedPin>();
  readonly #max: number;
  /** Table lookups under way, so concurrent first requests of one session ask the Durable Object once. */
  readonly inflight = new Map<string, Promise<(Pin & { expiresAt: number }) | undefined>>();
  evictions = 0;
  constructor(max = MAX_CACHED_PINS) {
    this.#max = max;
  }
  get size(): number {
    return this.#entries.size;
  }
  get(id: string): CachedPin | undefined {
    const e = this.#entries.get(id);
    if (e) this.set(id, e); // most recently used last
    return e;
  }
  set(id: string, e: CachedPin): void {
    this.#entries.delete(id);
    if (this.#entries.size >= this.#max) {
      this.#entries.delete(this.#entries.keys().next().value!);
      this.evictions++;
    }
    this.#entries.set(id, e);
  }
  delete(id: string): void {
    this.#entries.delete(id);
  }
}

/** Header affinity: the session key (hashed; core/affinity sessionKey, sessionId) pinned in the load balancer's LbState. */
export class TableAffinity implements Affinity {
  readonly stripsCookie = false;
  readonly #cache: PinCache;
  readonly #table: (lbId: string) => Client<LbStateApi>;
  readonly #background: { waitUntil(p: Promise<unknown>): void };
  readonly #now: () => number;
  /** The request's hashed session id, computed once by `read` and reused by `write` (one instance per request). */
  #id: Promise<string | undefined> | undefined;
  constructor(cache: PinCache, table: (lbId: string) => Client<LbStateApi>, background: { waitUntil(p: Promise<unknown>): void }, now: () => number) {
    this.#cache = cache;
    this.#table = table;
    this.#background = background;
    this.#now = now;
  }

  /** The request's session id: SHA-256 of its session key, undefined when it carries none. */
  #sessionId(lb: LoadBalancer, request: PinSource): Promise<string | undefined> {
    if (!this.#id) {
      const key = sessionKey(lb, request);
      this.#id = key === undefined ? Promise.resolve(undefined) : sessionId(lb.id, key);
    }
    return this.#id;
  }

  async read(lb: LoadBalancer, request: PinSource): Promise<Pin | undefined> {
    const id = await this.#sessionId(lb, request);
    if (id === undefined) return undefined;
    const now = this.#now();
    let e = this.#cache.get(id);
    if (!e || e.expiresAt <= now) {
      let lookup = this.#cache.inflight.get(id);
      if (!lookup) {
        lookup = this.#table(lb.id)
          .affinityGet(id)
          .finally(() => this.#cache.inflight.delete(id));
        this.#cache.inflight.set(id, lookup);
      }
      const row = await lookup;
      if (!row) {
        this.#cache.delete(id);
        return undefined;
      }
      e = { poolId: row.poolId, origin: row.origin, expiresAt: row.expiresAt, refreshedAt: now };
      this.#cache.set(id, e);
    }
    const ttlMs = affinityTtl(lb) * 1000;
    if (now - e.refreshedAt > ttlMs / 2) {
      e.refreshedAt = now;
      e.expiresAt = now + ttlMs;
      this.#put(lb, id, e, false);
    }
    return { poolId: e.poolId, origin: e.origin };
  }

  async write(lb: LoadBalancer, request: PinSource, by: Candidate, response: Response, _https: boolean, replace: boolean): Promise<Response> {
    const id = await this.#sessionId(lb, request);
    if (id === undefined) return response;
    const now = this.#now();
    const e: CachedPin = { poolId: by.pool.id, origin: by.origin.name, expiresAt: now + affinityTtl(lb) * 1000, refreshedAt: now };
    this.#cache.set(id, e);
    this.#put(lb, id, e, replace);
    return response;
  }

  /** Writes the pin in the background; the table's answer (a new session's first claim wins) replaces the cached entry. */
  #put(lb: LoadBalancer, id: string, pin: Pin, replace: boolean): void {
    const ttlMs = affinityTtl(lb) * 1000;
    this.#background.waitUntil(
      this.#table(lb.id)
        .affinityPut(id, pin.poolId, pin.origin, ttlMs, replace)
        .then(
          (held) => {
            const now = this.#now();
            this.#cache.set(id, { ...held, expiresAt: now + ttlMs, refreshedAt: now });
          },
          (e: unknown) => console.error('affinity write failed', String(e)),
        ),
    );
  }
}
