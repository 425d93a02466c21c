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
import { AFFINITY_COOKIE, affinityTtl, readPin, sessionId, sessionKey, setCookieHeader, signPin, type Pin, type Pinned } from '../../core/affinity/index.ts';
import type { LoadBalancer } from '../../core/config/index.ts';
import type { Client, LbStateApi } from '../../core/rpc/index.ts';
import type { Candidate } from '../../core/route/index.ts';
import type { RequestFacts } from '../../core/steer/index.ts';

/** What affinity reads of a request. */
export type PinSource = Required<Pick<RequestFacts, 'header' | 'cookie'>>;

export interface Affinity {
  /** Whether our affinity cookie is removed from what the origin sees. */
  readonly stripsCookie: boolean;
  /**
   * The pin the request carries (signature or table checked; not yet judged against config and
   * health). Synchronous when known without waiting (no cookie, a verified value seen before), so
   * the caller sets no deadline timer for it; a promise when it must decrypt or ask the table.
   */
  read(lb: LoadBalancer, request: PinSource): Pin | undefined | Promise<Pin | undefined>;
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
  readonly #memo: CookieMemo;
  /** `memo`: the isolate's (bound to `keys`); by default one of this object's own. */
  constructor(keys: Promise<CryptoKey[]>, now: () => number, memo: CookieMemo = new CookieMemo()) {
    this.#keys = keys;
    this.#now = now;
    this.#memo = memo.for(keys);
  }
  read(lb: LoadBalancer, request: PinSource): Pin | undefined | Promise<Pin | undefined> {
    const value = request.cookie(AFFINITY_COOKIE);
    if (!value) return undefined;
    const now = Math.floor(this.#now() / 1000);
    return this.#memo.verified(lb.id, value, now) ?? this.#unseal(lb, value, now);
  }
  async #unseal(lb: LoadBalancer, value: string, now: number): Promise<Pin | undefined> {
    const pin = await readPin(await this.#keys, lb.id, value, now);
    if (pin) this.#memo.remember(lb.id, value, pin);
    return pin;
  }
  async write(lb: LoadBalancer, _request: PinSource, by: Candidate, response: Response, https: boolean): Promise<Response> {
    // Every new session pinned to one origin within a bucket shares one sealed value (CookieMemo).
    const expiresAt = Math.ceil((Math.floor(this.#now() / 1000) + affinityTtl(lb)) / EXPIRY_BUCKET_S) * EXPIRY_BUCKET_S;
    const pin = { poolId: by.pool.id, origin: by.origin.name, expiresAt };
    let value = this.#memo.sealedFor(lb.id, pin);
    if (!value) this.#memo.seal(lb.id, pin, (value = await signPin((await this.#keys)[0]!, lb.id, pin)));
    const out = new Response(response.body, response);
    out.headers.append('set-cookie', setCookieHeader(lb, value, https));
    return out;
  }
}

/**
 * A cookie pin's expiry is rounded up to a multiple of this (s), so new sessions on one origin
 * within it share one sealed value (at most this much past session_affinity_ttl; the cookie's
 * Max-Age is the TTL itself, so browsers drop it first).
 */
export const EXPIRY_BUCKET_S = 60;
/** At most this many verified cookie values, and sealed values, are remembered per isolate. */
export const MAX_MEMO = 4096;

/**
 * The isolate's memo of cookie affinity's crypto (issue #13: AES-GCM on every request was most of
 * cookie affinity's cost): values it has verified (until their expiry) and the value it sealed per
 * load balancer, pin and expiry bucket. Bound to one key set: other keys (a rotation) empty it.
 * Each map is capped at MAX_MEMO, the oldest entry going first.
 */
export class CookieMemo {
  #keys: unknown;
  readonly #verified = new Map<string, Pinned>();
  readonly #sealed = new Map<string, string>();
  readonly #max: number;
  constructor(max = MAX_MEMO) {
    this.#max = max;
  }
  /** This memo for `keys`: emptied first when they are not the keys it was filled with. */
  for(keys: unknown): this {
    if (keys !== this.#keys) ((this.#keys = keys), this.#verified.clear(), this.#sealed.clear());
    return this;
  }
  get size(): number {
    return this.#verified.size + this.#sealed.size;
  }
  /** The pin `value` was verified to carry for `lbId`, unless it has expired by `now` (epoch s). */
  verified(lbId: string, value: string, now: number): Pinned | undefined {
    const pin = this.#verified.get(`${lbId}\u0000${value}`);
    return pin && pin.expiresAt > now ? pin : undefined;
  }
  remember(lbId: string, value: string, pin: Pinned): void {
    bounded(this.#verified, this.#max).set(`${lbId}\u0000${value}`, pin);
  }
  sealedFor(lbId: string, pin: Pinned): string | undefined {
    return this.#sealed.get(sealKey(lbId, pin));
  }
  seal(lbId: string, pin: Pinned, value: string): void {
    bounded(this.#sealed, this.#max).set(sealKey(lbId, pin), value);
    this.remember(lbId, value, pin);
  }
}

const sealKey = (lbId: string, p: Pinned) => `${lbId}\u0000${p.poolId}\u0000${p.origin}\u0000${p.expiresAt}`;
/** `map`, its oldest entry dropped when it is full. */
function bounded<K, V>(map: Map<K, V>, max: number): Map<K, V> {
  if (map.size >= max) map.delete(map.keys().next().value!);
  return map;
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

/** The session id of a request without a session key (one shared promise: compared by identity). */
const NO_SESSION: Promise<string | undefined> = Promise.resolve(undefined);

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

  /** The request's session id: SHA-256 of its session key; NO_SESSION when it carries none. */
  #sessionId(lb: LoadBalancer, request: PinSource): Promise<string | undefined> {
    if (!this.#id) {
      const key = sessionKey(lb, request);
      this.#id = key === undefined ? NO_SESSION : sessionId(lb.id, key);
    }
    return this.#id;
  }

  read(lb: LoadBalancer, request: PinSource): Pin | undefined | Promise<Pin | undefined> {
    const id = this.#sessionId(lb, request);
    return id === NO_SESSION ? undefined : this.#lookup(lb, id);
  }
  async #lookup(lb: LoadBalancer, pending: Promise<string | undefined>): Promise<Pin | undefined> {
    const id = await pending;
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
