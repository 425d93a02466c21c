/**
 * Cookie session affinity (Cloudflare's `session_affinity: cookie | ip_cookie`): a signed cookie
 * names the origin, so any edge can honour it without asking a Durable Object.
 *
 * Cookie `__cflb` (Cloudflare's name) = base64url(nonce ‖ AES-256-GCM(pool, origin, expiry)),
 * bound to the load balancer id; see signPin. Web Crypto only (no node:*).
 */
import { AFFINITY_TTL, type LoadBalancer } from '../config/index.ts';
import { seal, unseal } from '../seal/index.ts';

export { inDrainWindow } from './drain.ts';
export { SESSION_SHED, failoverMode, ipCookiePlan, judgePin, mayPin, pinAfter, pinnedPlan, type Pin, type PinVerdict } from './pin.ts';
export { sessionId, sessionKey } from './session.ts';

export const AFFINITY_COOKIE = '__cflb';

/** The load balancer's affinity TTL in seconds: session_affinity_ttl, else Cloudflare's default for its kind (core/config AFFINITY_TTL). */
export function affinityTtl(lb: LoadBalancer): number {
  return lb.session_affinity_ttl ?? AFFINITY_TTL[lb.session_affinity === 'header' ? 'header' : 'cookie'].default;
}

export interface Pinned {
  poolId: string;
  origin: string;
  expiresAt: number;
}

const enc = new TextEncoder();

/**
 * The cookie key from a secret string: AES-256-GCM keyed by SHA-256(domain label ‖ secret). The
 * secret is AFFINITY_SECRET when set, else the random key the ConfigStore generated (never the
 * admin token: one cookie must not let anyone test token guesses offline).
 */
export async function affinityKey(secret: string): Promise<CryptoKey> {
  const material = await crypto.subtle.digest('SHA-256', enc.encode(`edge-lb affinity v2:${secret}`));
  return crypto.subtle.importKey('raw', material, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
}

/**
 * The cookie value pinning this load balancer's sessions to `poolId`/`origin` until `expiresAt`
 * (epoch s): base64url(nonce ‖ AES-GCM(pool ‖ origin ‖ expiry)) with the load balancer id as
 * associated data. Opaque: it reveals no internal name, and cannot be forged or moved to another
 * load balancer without the key. `random` fills the nonce (crypto.getRandomValues by default).
 */
export async function signPin(
  key: CryptoKey,
  lbId: string,
  pin: Pinned,
  random?: (bytes: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer>,
): Promise<string> {
  return seal(key, lbId, [pin.poolId, pin.origin, pin.expiresAt], random);
}

/** The pin a cookie value carries for `lbId`, if it opens under one of `keys` (core/seal) and has not expired (`now` in s). */
export async function readPin(keys: CryptoKey | readonly CryptoKey[], lbId: string, value: string | undefined, now: number): Promise<Pinned | undefined> {
  const opened = await unseal(keys, lbId, value, 1024);
  if (!Array.isArray(opened)) return undefined;
  const [poolId, origin, expiresAt] = opened as unknown[];
  if (typeof poolId !== 'string' || typeof origin !== 'string' || typeof expiresAt !== 'number' || !(expiresAt > now)) return undefined;
  return { poolId, origin, expiresAt };
}

/**
 * Cookie pairs are separated by `;` and, where several Cookie fields were combined into one
 * (HTTP/2 crumbs, RFC 9113 §8.2.3; the Fetch Headers API joins them with ", "), by `,` — which
 * RFC 6265 keeps out of cookie values.
 */
const COOKIE_SEPARATOR = /[;,]/;

/** The value of cookie `name` in a Cookie header (several fields combined included). */
export function cookieValue(header: string | null, name: string): string | undefined {
  for (const part of (header ?? '').split(COOKIE_SEPARATOR)) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Cookie header without cookie `name` (null when nothing is left): the origin never sees ours. */
export function withoutCookie(header: string | null, name: string): string | null {
  if (!header) return header;
  const kept = header.split(COOKIE_SEPARATOR).filter((p) => {
    const eq = p.indexOf('=');
    return eq <= 0 || p.slice(0, eq).trim() !== name;
  });
  const joined = kept
    .map((p) => p.trim())
    .filter(Boolean)
    .join('; ');
  return joined || null;
}

/**
 * The Set-Cookie header for a pin, with the load balancer's `session_affinity_attributes`:
 * SameSite Auto = Lax (None forces Secure, as browsers require), Secure Auto = on for https.
 */
export function setCookieHeader(lb: LoadBalancer, value: string, https: boolean): string {
  const ttl = affinityTtl(lb);
  const attrs = lb.session_affinity_attributes;
  const sameSite = !attrs || attrs.samesite === 'Auto' ? 'Lax' : attrs.samesite;
  const secure = sameSite === 'None' || attrs?.secure === 'Always' || ((attrs?.secure ?? 'Auto') === 'Auto' && https);
  return `${AFFINITY_COOKIE}=${value}; Max-Age=${ttl}; Path=/; HttpOnly; SameSite=${sameSite}${secure ? '; Secure' : ''}`;
}
