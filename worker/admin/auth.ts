/**
 * Admin authentication: `Authorization: Bearer <ADMIN_TOKEN>` through hono/bearer-auth.
 *
 * - Fails closed: with no ADMIN_TOKEN configured (unset or empty), every request is refused and
 *   the message says the admin API is disabled.
 * - The token is compared in constant time (hono's timingSafeEqual: SHA-256 of both, then a
 *   constant-time compare, as bearerAuth's own `token` option does; `verifyToken` is used
 *   because the token is a binding, read per request).
 * - Every refusal is 401 in the v4 envelope with `WWW-Authenticate: Bearer realm="edge-lb admin"`,
 *   including a malformed header (bearerAuth's own answer to that is 400).
 * - bearerAuth accepts RFC 6750 b64token characters only (A-Z a-z 0-9 - . _ ~ + / and trailing
 *   =), so ADMIN_TOKEN must be made of them (`openssl rand -hex 32` is).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { timingSafeEqual } from 'hono/utils/buffer';
import { ErrorCode } from '../../core/config/index.ts';
import { failure, type AdminBindings, type AdminEnv } from './envelope.ts';

export const REALM = 'edge-lb admin';

function refusal(c: Context): Response {
  const configured = (c.env as AdminBindings | undefined)?.ADMIN_TOKEN;
  const message = configured ? 'a valid bearer token is required' : 'the admin API is disabled: no ADMIN_TOKEN is configured';
  return failure(c, 401, [{ code: ErrorCode.unauthorized, message }]);
}

export function adminAuth(): MiddlewareHandler<AdminEnv> {
  const refuse = { message: refusal, wwwAuthenticateHeader: `Bearer realm="${REALM}"` };
  return bearerAuth<AdminEnv>({
    realm: REALM,
    verifyToken: async (token, c) => {
      const expected = c.env.ADMIN_TOKEN;
      return !!expected && (await timingSafeEqual(token, expected));
    },
    noAuthenticationHeader: refuse,
    invalidAuthenticationHeader: refuse,
    invalidToken: refuse,
  });
}
