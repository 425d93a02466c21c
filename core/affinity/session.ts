/**
 * Header session affinity's session key (Cloudflare's `session_affinity: header`): the values of
 * the configured `session_affinity_attributes.headers`, in order; an entry `cookie:a,b` takes the
 * values of cookies a and b. With `require_all_headers` every one must be present, else there is
 * no session. The key is hashed (SHA-256) before it is stored or cached anywhere: fixed size, and
 * no client header value is kept.
 */
import type { LoadBalancer } from '../config/index.ts';
import type { RequestFacts } from '../steer/index.ts';

/** The session key of a request, or undefined (no configured header present, or one missing with require_all_headers). */
export function sessionKey(lb: LoadBalancer, facts: Required<Pick<RequestFacts, 'header' | 'cookie'>>): string | undefined {
  const attrs = lb.session_affinity_attributes;
  const parts: string[] = [];
  for (const name of attrs?.headers ?? []) {
    const values = name.toLowerCase().startsWith('cookie:')
      ? name
          .slice(7)
          .split(',')
          .map((c) => [`cookie:${c.trim()}`, facts.cookie(c.trim())] as const)
      : [[name.toLowerCase(), facts.header(name) ?? undefined] as const];
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

const enc = new TextEncoder();

/** The stored form of a session key: base64url(SHA-256(lbId NUL key)), 43 characters whatever the client sent. */
export async function sessionId(lbId: string, key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', enc.encode(`${lbId}\u0000${key}`)));
  return btoa(String.fromCharCode(...digest))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}
