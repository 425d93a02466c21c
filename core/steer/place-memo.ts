/**
 * Where a client is, remembered by its address for a few minutes, per isolate: the facts pool
 * steering and rules read (country, continent, coordinates, data center) without asking the
 * runtime again for each request.
 *
 * Why: in workerd, the first read of `request.cf` parses the request's cf JSON and freezes the
 * result, for every request that asks; beside a pass-through that never reads it, reading
 * `request.cf.country` cost ~10 µs of CPU per request (~3.5% of its throughput; BENCHMARKS.md,
 * "Rules and ACLs"). Those facts come from Cloudflare's geolocation of the client address (and the
 * isolate's own data center), so a client sending many requests, as a browser does over one
 * connection, gets the same answer each time. An entry lives PLACE_TTL_MS, so a change in the
 * geolocation database reaches routing within that long.
 *
 * Bounded: at most MAX_PLACES entries (the oldest goes first), and an address longer than any
 * textual IPv6 address (45 characters) is never stored, so a client that makes up addresses cannot
 * grow it past ~1 MB.
 */
import type { PlaceFacts } from './pools.ts';

/** Entries kept per isolate. */
export const MAX_PLACES = 10_000;
/** How long a remembered place is used (ms). */
export const PLACE_TTL_MS = 300_000;
/** The longest textual IP address (an IPv6 address with an embedded IPv4 one). */
const MAX_ADDRESS_LENGTH = 45;

export class PlaceMemo {
  readonly #places = new Map<string, { place: PlaceFacts; until: number }>();
  readonly #max: number;
  readonly #ttlMs: number;
  constructor(max = MAX_PLACES, ttlMs = PLACE_TTL_MS) {
    this.#max = max;
    this.#ttlMs = ttlMs;
  }
  get size(): number {
    return this.#places.size;
  }
  /** The place remembered for `address`, unless it is older than the TTL at `nowMs` (epoch ms). */
  get(address: string, nowMs: number): PlaceFacts | undefined {
    const hit = this.#places.get(address);
    return hit && hit.until > nowMs ? hit.place : undefined;
  }
  /** Remembers `place` for `address` from `nowMs`; an over-long address is not stored. */
  set(address: string, place: PlaceFacts, nowMs: number): void {
    if (address.length > MAX_ADDRESS_LENGTH) return;
    const places = this.#places;
    places.delete(address); // a refreshed entry goes to the back of the eviction order
    if (places.size >= this.#max) places.delete(places.keys().next().value!);
    places.set(address, { place, until: nowMs + this.#ttlMs });
  }
}
