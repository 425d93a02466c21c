/**
 * Admin authentication: `Authorization: Bearer <token>` through hono/bearer-auth, with two roles.
 *
 * - `ADMIN_TOKEN` (a secret) may do everything. `ADMIN_READ_TOKENS` (a secret: one token, or
 *   several separated by commas) may read: GET and HEAD, and the routing explainer's POST, which
 *   changes nothing. Any other method with a read-only token is 403 and changes nothing.
 * - Fails closed: with no ADMIN_TOKEN configured (unset or empty), every request is refused, read
 *   tokens included, and the message says the admin API is disabled.
 * - Tokens are compared in constant time (hono's timingSafeEqual: SHA-256 of both, then a
 *   constant-time compare), and every configured token is compared, so the time taken does not
 *   tell which one matched.
 * - Every refusal is 401 in the v4 envelope with `WWW-Authenticate: Bearer realm="edge-lb admin"`,
 *   including a malformed header (bearerAuth's own answer to that is 400).
 * - bearerAuth accepts RFC 6750 b64token characters only (A-Z a-z 0-9 - . _ ~ + / and trailing
 *   =), so tokens must be made of them (`openssl rand -hex 32` is); hence a comma can separate them.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { createMiddleware } from 'hono/factory';
import { timingSafeEqual } from 'hono/utils/buffer';
import { ErrorCode } from '../../core/config/index.ts';
import { API_PREFIX, failure, type AdminBindings, type AdminEnv, type Role } from './envelope.ts';

export const REALM = 'edge-lb admin';

/** Requests a read-only token may make besides GET and HEAD: `METHOD path-pattern`, matched on the routed path. */
const READ_ONLY_POSTS: readonly RegExp[] = [new RegExp(`^${API_PREFIX}/load_balancers/[^/]+/preview$`)];

function refusal(c: Context): Response {
  const configured = (c.env as AdminBindings | undefined)?.ADMIN_TOKEN;
  const message = configured ? 'a valid bearer token is required' : 'the admin API is disabled: no ADMIN_TOKEN is configured';
  return failure(c, 401, [{ code: ErrorCode.unauthorized, message }]);
}

/** Whether `token` is one of the comma-separated tokens of `list` (a secret binding), each compared in constant time. */
export async function tokenListed(list: string | undefined, token: string): Promise<boolean> {
  const tokens = (list ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return (await Promise.all(tokens.map((t) => timingSafeEqual(token, t)))).some(Boolean);
}

/** The role `token` has under `env`, compared in constant time against every configured token; undefined: none. */
export async function roleOf(env: AdminBindings, token: string): Promise<Role | undefined> {
  const admin = env.ADMIN_TOKEN;
  if (!admin) return undefined;
  const [isAdmin, isReader] = await Promise.all([timingSafeEqual(token, admin), tokenListed(env.ADMIN_READ_TOKENS, token)]);
  if (isAdmin) return 'admin';
  return isReader ? 'read' : undefined;
}

/** Whether a read-only token may make this request. */
export function readOnlyMayCall(method: string, path: string): boolean {
  return method === 'GET' || method === 'HEAD' || (method === 'POST' && READ_ONLY_POSTS.some((p) => p.test(path)));
}

/** The bearer check, then the read-only guard: use both, in this order (`app.use('*', ...adminAuth())`). */
export function adminAuth(): [MiddlewareHandler<AdminEnv>, MiddlewareHandler<AdminEnv>] {
  const refuse = { message: refusal, wwwAuthenticateHeader: `Bearer realm="${REALM}"` };
  const bearer = bearerAuth<AdminEnv>({
    realm: REALM,
    verifyToken: async (token, c) => {
      const role = await roleOf(c.env, token);
      if (role) (c.set('role', role), c.set('token', token));
      return role !== undefined;
    },
    noAuthenticationHeader: refuse,
    invalidAuthenticationHeader: refuse,
    invalidToken: refuse,
  });
  const writeGuard = createMiddleware<AdminEnv>(async (c, next) => {
    if (c.get('role') === 'read' && !readOnlyMayCall(c.req.method, c.req.path)) {
      return failure(c, 403, [{ code: ErrorCode.forbidden, message: `a read-only token cannot ${c.req.method} ${c.req.path}: it can read, never write` }]);
    }
    await next();
  });
  return [bearer, writeGuard];
}
