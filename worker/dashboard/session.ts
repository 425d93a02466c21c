/**
 * Dashboard sessions: the admin or read-only token an operator signs in with, sealed into a cookie.
 *
 * - Cookie value = base64url(nonce ‖ AES-256-GCM(JSON [token, expiresAt (epoch s), csrf])), the
 *   the same sealing as the affinity cookie (core/seal). The token is never in clear:
 *   the dashboard calls the admin API with it, so a session has exactly the API's rights, and a
 *   token that is revoked (ADMIN_READ_TOKENS edited) stops working at once.
 * - Key: HKDF-SHA-256 of ADMIN_TOKEN (RFC 5869; salt and info name this use), so rotating
 *   ADMIN_TOKEN invalidates every session. A cookie is an offline oracle for ADMIN_TOKEN guesses,
 *   as any MAC keyed by it would be: ADMIN_TOKEN must be long and random (`openssl rand -hex 32`).
 * - Lifetime: SESSION_TTL_S (12 h), absolute. Expired, tampered or foreign cookies read as none.
 * - `csrf` (32 random bytes, base64url) is the synchronizer token every dashboard form carries.
 * - Cookie attributes: HttpOnly, SameSite=Strict, Path=/, and over https `Secure` with the
 *   `__Host-` name prefix (RFC 6265bis §4.1.3.2: no Domain, so no sibling host can set or read it).
 * Web Crypto only: the end-to-end test seals expired cookies with these functions under Node.
 */
import { b64url, seal, unseal } from '../../core/seal/index.ts';

/** Session lifetime in seconds (12 h). */
export const SESSION_TTL_S = 12 * 60 * 60;
/** Longest token accepted at sign-in (characters): keeps the cookie well under browsers' 4 KiB. */
export const MAX_TOKEN_LENGTH = 512;

export interface Session {
  token: string;
  /** Epoch seconds. */
  expiresAt: number;
  /** The synchronizer CSRF token of this session (base64url). */
  csrf: string;
}

const enc = new TextEncoder();
const AAD = 'edge-lb dashboard session v1';

let cached: { secret: string; key: Promise<CryptoKey> } | undefined;

/** The AES-256-GCM session key of `adminToken` (HKDF-SHA-256), imported once per isolate per token. */
export function sessionKey(adminToken: string): Promise<CryptoKey> {
  if (cached?.secret === adminToken) return cached.key;
  const key = (async () => {
    const material = await crypto.subtle.importKey('raw', enc.encode(adminToken), 'HKDF', false, ['deriveKey']);
    return crypto.subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt: enc.encode('edge-lb dashboard'), info: enc.encode('session cookie v1') },
      material,
      { name: 'AES-GCM', length: 256 },
      false,
      ['encrypt', 'decrypt'],
    );
  })();
  cached = { secret: adminToken, key };
  return key;
}

/** A new session for `token`, valid for SESSION_TTL_S from `nowS` (epoch s). */
export function newSession(token: string, nowS: number): Session {
  return { token, expiresAt: nowS + SESSION_TTL_S, csrf: b64url(crypto.getRandomValues(new Uint8Array(32))) };
}

/** The cookie value sealing `session` under `key` (core/seal). */
export function sealSession(key: CryptoKey, session: Session): Promise<string> {
  return seal(key, AAD, [session.token, session.expiresAt, session.csrf]);
}

/** The session a cookie value carries, if it opens under `key` and has not expired at `nowS` (epoch s). */
export async function openSession(key: CryptoKey, value: string | undefined, nowS: number): Promise<Session | undefined> {
  const opened = await unseal(key, AAD, value, 2048);
  if (!Array.isArray(opened)) return undefined;
  const [token, expiresAt, csrf] = opened as unknown[];
  if (typeof token !== 'string' || typeof csrf !== 'string' || typeof expiresAt !== 'number' || !(expiresAt > nowS)) return undefined;
  return { token, expiresAt, csrf };
}

/** The session cookie's name: `__Host-` prefixed over https (browsers only accept that prefix with Secure). */
export function cookieName(https: boolean): string {
  return https ? '__Host-edge-lb-session' : 'edge-lb-session';
}

/** Set-Cookie for a session (`value`) or, with `value` undefined, the header that clears it. */
export function sessionCookie(https: boolean, value: string | undefined, maxAgeS = SESSION_TTL_S): string {
  const attrs = `Path=/; HttpOnly; SameSite=Strict${https ? '; Secure' : ''}`;
  return value === undefined ? `${cookieName(https)}=; Max-Age=0; ${attrs}` : `${cookieName(https)}=${value}; Max-Age=${maxAgeS}; ${attrs}`;
}
