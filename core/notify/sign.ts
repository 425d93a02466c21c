/**
 * Webhook signatures by the Standard Webhooks specification (standardwebhooks.com, v1 symmetric):
 *
 *   webhook-id:        the message id (our idempotency key, stable across retries)
 *   webhook-timestamp: unix seconds when this attempt was sent
 *   webhook-signature: "v1," + base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`))
 *
 * The key is the secret's bytes: the Worker secret holds `whsec_` + base64 of 24-64 random bytes
 * (`echo "whsec_$(openssl rand -base64 32)"`), as the specification's libraries expect. Receivers
 * recompute the signature over the raw body, compare in constant time, and refuse a timestamp more
 * than REPLAY_TOLERANCE_S from their clock (replays), then de-duplicate by webhook-id. The
 * specification's libraries (`standardwebhooks` for JavaScript, Python, Go, …) do all of it.
 */

/** The replay window receivers should enforce, either side of their clock (s): the specification's default. */
export const REPLAY_TOLERANCE_S = 300;
const PREFIX = 'whsec_';

/** Headers of a signed delivery, as sent (lower case). */
export interface SignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

const b64encode = (bytes: ArrayBuffer): string => btoa(String.fromCharCode(...new Uint8Array(bytes)));

/**
 * The key bytes of a secret value (`whsec_<base64>`, the prefix optional). Throws an Error saying
 * what is wrong (never quoting the value) unless it is base64 of 24-64 bytes.
 */
export function decodeSecret(value: string): Uint8Array<ArrayBuffer> {
  const b64 = value.trim().startsWith(PREFIX) ? value.trim().slice(PREFIX.length) : value.trim();
  let raw: string;
  try {
    raw = atob(b64);
  } catch {
    throw new Error('is not base64 (expected whsec_ followed by base64 of 24-64 random bytes)');
  }
  if (raw.length < 24 || raw.length > 64) throw new Error(`decodes to ${raw.length} bytes (expected 24-64 random bytes, whsec_ + base64)`);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

async function hmac(key: Uint8Array<ArrayBuffer>, content: string): Promise<string> {
  const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return b64encode(await crypto.subtle.sign('HMAC', k, new TextEncoder().encode(content)));
}

/** Signs `body` as message `id` sent at `timestampS` (unix seconds): the three headers. */
export async function sign(key: Uint8Array<ArrayBuffer>, id: string, timestampS: number, body: string): Promise<SignatureHeaders> {
  const t = String(Math.floor(timestampS));
  return { 'webhook-id': id, 'webhook-timestamp': t, 'webhook-signature': `v1,${await hmac(key, `${id}.${t}.${body}`)}` };
}

/**
 * What a receiver does: true when one of the space-separated `v1,` signatures matches and the
 * timestamp is within `toleranceS` of `nowS` (unix seconds). Never throws.
 */
export async function verify(
  key: Uint8Array<ArrayBuffer>,
  headers: Partial<SignatureHeaders>,
  body: string,
  nowS: number,
  toleranceS = REPLAY_TOLERANCE_S,
): Promise<boolean> {
  const id = headers['webhook-id'];
  const t = Number(headers['webhook-timestamp']);
  if (!id || !Number.isInteger(t) || Math.abs(nowS - t) > toleranceS) return false;
  const expected = new TextEncoder().encode(await hmac(key, `${id}.${t}.${body}`));
  return (headers['webhook-signature'] ?? '').split(' ').some((s) => {
    const got = new TextEncoder().encode(s.startsWith('v1,') ? s.slice(3) : '');
    // Constant time over equal lengths (the length of a base64 HMAC-SHA256 is public).
    return got.length === expected.length && got.reduce((d, b, i) => d | (b ^ expected[i]!), 0) === 0;
  });
}
