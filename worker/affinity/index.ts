/**
 * Header session affinity (Cloudflare's `session_affinity: header`): the values of the configured
 * headers (or `cookie:a,b` cookies) form a session key; the load balancer's LbState holds the key's
 * origin with an idle TTL. Edges cache entries per isolate, ask the Durable Object only on a miss,
 * write new sessions in the background and refresh the idle TTL at most every half TTL.
 */
import { cookieValue } from '../../core/affinity/index.ts';
import type { LoadBalancer } from '../../core/config/index.ts';
import { lbState, type Env } from '../env.ts';

/** Cloudflare's default idle TTL (s) for header affinity. */
export const DEFAULT_HEADER_TTL = 1800;
const MAX_CACHED = 10_000;

/** The session key of a request, or undefined (no configured header present, or one missing with require_all_headers). */
export function sessionKey(lb: LoadBalancer, headers: Headers): string | undefined {
  const attrs = lb.session_affinity_attributes;
  const parts: string[] = [];
  for (const name of attrs?.headers ?? []) {
    const values = name.toLowerCase().startsWith('cookie:')
      ? name.slice(7).split(',').map((c) => [`cookie:${c.trim()}`, cookieValue(headers.get('cookie'), c.trim())] as const)
      : [[name.toLowerCase(), headers.get(name) ?? undefined] as const];
    for (const [label, value] of values) {
      if (value === undefined) {
        if (attrs?.require_all_headers) return undefined;
        continue;
      }
      parts.push(`${label}=${value}`);
    }
  }
  return parts.length ? parts.join('\n') : undefined;
}

interface Entry {
  poolId: string;
  origin: string;
  /** Idle expiry (epoch ms) as last known, and when this edge last extended it. */
  expiresAt: number;
  refreshedAt: number;
}
const cache = new Map<string, Entry>();

export interface HeaderPins {
  get(lb: LoadBalancer, key: string): Promise<{ poolId: string; origin: string } | undefined>;
  /** Pins a session in the background; `replace` re-pins one whose origin is gone. The table's
   * answer (the first claim wins for a new session) replaces this isolate's cached entry. */
  put(lb: LoadBalancer, key: string, poolId: string, origin: string, replace?: boolean): void;
}

/** The header-affinity table of this isolate, backed by each load balancer's LbState. */
export function headerPins(env: Env, ctx: { waitUntil(p: Promise<unknown>): void }): HeaderPins {
  const ttlMs = (lb: LoadBalancer) => (lb.session_affinity_ttl ?? DEFAULT_HEADER_TTL) * 1000;
  const write = (lb: LoadBalancer, key: string, poolId: string, origin: string, replace = false) =>
    ctx.waitUntil(
      lbState(env, lb.id).affinityPut(key, poolId, origin, ttlMs(lb), replace).then(
        (held) => {
          const now = Date.now();
          remember(`${lb.id}\u0000${key}`, { ...held, expiresAt: now + ttlMs(lb), refreshedAt: now });
        },
        (e: unknown) => console.error('affinity write failed', String(e)),
      ),
    );
  return {
    async get(lb, key) {
      const now = Date.now();
      const id = `${lb.id}\u0000${key}`;
      let e = cache.get(id);
      if (!e || e.expiresAt <= now) {
        const row = await lbState(env, lb.id).affinityGet(key);
        if (!row) {
          cache.delete(id);
          return undefined;
        }
        e = { ...row, refreshedAt: now };
        remember(id, e);
      }
      if (now - e.refreshedAt > ttlMs(lb) / 2) {
        e.refreshedAt = now;
        e.expiresAt = now + ttlMs(lb);
        write(lb, key, e.poolId, e.origin);
      }
      return { poolId: e.poolId, origin: e.origin };
    },
    put(lb, key, poolId, origin, replace) {
      const now = Date.now();
      remember(`${lb.id}\u0000${key}`, { poolId, origin, expiresAt: now + ttlMs(lb), refreshedAt: now });
      write(lb, key, poolId, origin, replace);
    },
  };
}

function remember(id: string, e: Entry): void {
  cache.delete(id);
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!); // oldest first
  cache.set(id, e);
}
