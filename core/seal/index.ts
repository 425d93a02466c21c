/**
 * Sealed values for cookies: base64url(nonce ‖ AES-GCM(JSON of the value)), with associated data
 * binding a value to its use (a load balancer's id, the dashboard's session label). Opaque, and
 * impossible to forge or move to another use without the key. Web Crypto only (no node:*).
 * Used by cookie affinity (core/affinity signPin/readPin) and the dashboard session
 * (worker/dashboard/session.ts).
 */

/** AES-GCM nonce length (bytes, NIST SP 800-38D's recommended 96 bits). */
export const IV_BYTES = 12;
/** AES-GCM tag length (bytes): a sealed value is longer than IV_BYTES + TAG_BYTES. */
const TAG_BYTES = 16;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** base64url (RFC 4648 §5) without padding. */
export function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/**
 * Seals `value` (JSON) under `key` with associated data `aad`. `random` fills the nonce
 * (crypto.getRandomValues by default).
 */
export async function seal(
  key: CryptoKey,
  aad: string,
  value: unknown,
  random: (bytes: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer> = (b) => crypto.getRandomValues(b),
): Promise<string> {
  const iv = random(new Uint8Array(IV_BYTES));
  const plain = enc.encode(JSON.stringify(value));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: enc.encode(aad) }, key, plain));
  const out = new Uint8Array(IV_BYTES + sealed.length);
  out.set(iv);
  out.set(sealed, IV_BYTES);
  return b64url(out);
}

/**
 * The JSON value `token` seals with `aad` under the first of `keys` that opens it; undefined when
 * it is empty, longer than `maxLength` characters, not base64url, or opens under none (never
 * throws: a cookie is client input).
 */
export async function unseal(keys: CryptoKey | readonly CryptoKey[], aad: string, token: string | undefined, maxLength: number): Promise<unknown> {
  if (!token || token.length > maxLength || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = Uint8Array.from(atob(token.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
  if (bytes.length <= IV_BYTES + TAG_BYTES) return undefined;
  const params = { name: 'AES-GCM', iv: bytes.subarray(0, IV_BYTES), additionalData: enc.encode(aad) };
  for (const key of Array.isArray(keys) ? keys : [keys]) {
    try {
      return JSON.parse(dec.decode(await crypto.subtle.decrypt(params, key, bytes.subarray(IV_BYTES)))) as unknown;
    } catch {
      // not this key (or not ours at all)
    }
  }
  return undefined;
}
