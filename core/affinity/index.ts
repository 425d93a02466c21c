/**
 * Cookie session affinity (Cloudflare's `session_affinity: cookie | ip_cookie`): a signed cookie
 * names the origin, so any edge can honour it without asking a Durable Object.
 *
 * Cookie `__cflb` (Cloudflare's name) = base64url(`lbId|poolId|origin|expiresAt`) + "." +
 * base64url(HMAC-SHA256(payload)), expiresAt in epoch seconds. Web Crypto only (no node:*).
 */
import { AFFINITY_TTL, type LoadBalancer } from '../config/index.ts';

export { inDrainWindow } from './drain.ts';
export { failoverMode, ipCookiePlan, judgePin, mayPin, pinAfter, pinnedPlan, type Pin, type PinVerdict } from './pin.ts';
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
const b64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const unb64url = (s: string) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

/** Imports an HMAC-SHA256 key from a secret string. */
export function affinityKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', enc.encode(`edge-lb affinity v1:${secret}`), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

/** The cookie value pinning this load balancer's sessions to `poolId`/`origin` until `now + ttl`. */
export async function signPin(key: CryptoKey, lbId: string, pin: Pinned): Promise<string> {
  const payload = enc.encode(`${lbId}|${pin.poolId}|${pin.origin}|${pin.expiresAt}`);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, payload));
  return `${b64url(payload)}.${b64url(mac)}`;
}

/** The pin a cookie value carries for `lbId`, if its signature holds and it has not expired (`now` in s). */
export async function readPin(key: CryptoKey, lbId: string, value: string | undefined, now: number): Promise<Pinned | undefined> {
  if (!value) return undefined;
  const dot = value.indexOf('.');
  if (dot <= 0) return undefined;
  try {
    const payload = unb64url(value.slice(0, dot));
    const ok = await crypto.subtle.verify('HMAC', key, unb64url(value.slice(dot + 1)), payload);
    if (!ok) return undefined;
    const [lb, poolId, origin, exp] = new TextDecoder().decode(payload).split('|');
    const expiresAt = Number(exp);
    if (lb !== lbId || !poolId || !origin || !(expiresAt > now)) return undefined;
    return { poolId, origin, expiresAt };
  } catch {
    return undefined;
  }
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
  const joined = kept.map((p) => p.trim()).filter(Boolean).join('; ');
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
