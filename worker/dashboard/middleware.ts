/**
 * The dashboard's gates, in the order they run on a signed-in route:
 *
 * 1. `session`: the sealed session cookie (session.ts) must open under the key of the current
 *    ADMIN_TOKEN, be unexpired, and carry a token that still has a role (admin/auth.ts roleOf,
 *    the API's own check). Otherwise: the cookie is cleared and pages redirect (303) to sign-in,
 *    live JSON answers 401. It sets the viewer (role, CSRF token) and the typed admin client.
 * 2. `csrfToken` on every POST: the form's `_csrf` must equal the session's synchronizer token
 *    (constant-time compare), else 403 and nothing is done. hono/csrf (Origin / Sec-Fetch-Site,
 *    applied app-wide in index.tsx) stops cross-site form posts first; the token also covers
 *    browsers that send neither header and same-site attackers (a sibling subdomain).
 * 3. `adminOnly` on actions that write: a read-only session gets 403 (the API would refuse too).
 */
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import { timingSafeEqual } from 'hono/utils/buffer';
import { roleOf } from '../admin/auth.ts';
import type { AdminBindings } from '../admin/envelope.ts';
import { adminClient, type AdminFetch, type Api } from './api.ts';
import { cookieName, openSession, sessionCookie, sessionKey, type Session } from './session.ts';
import type { Viewer } from './views/layout.tsx';

export type DashEnv = {
  Bindings: AdminBindings;
  Variables: { session: Session; viewer: Viewer; api: Api; form: Record<string, string> };
};

export const https = (c: Context) => c.req.url.startsWith('https:');

/** Pages and live JSON hold a session's view: never cached. */
export const noStore = (c: Context) => c.header('cache-control', 'no-store');

/** Forgets the session cookie (Set-Cookie with Max-Age=0, same attributes). */
export function clearSession(c: Context): void {
  c.header('set-cookie', sessionCookie(https(c), undefined), { append: true });
}

/** Where an unauthenticated request goes: pages to sign-in (with `why`), JSON to a 401. */
function unauthenticated(c: Context, why: string): Response {
  if (c.req.path.endsWith('.json')) return c.json({ error: why }, 401);
  return c.redirect(`/dashboard/sign-in?why=${why}`, 303);
}

/** Gate 1 (see the module doc). `admin` answers the in-process admin API calls; `now` gives epoch ms. */
export function session(admin: (c: Context<DashEnv>) => AdminFetch, now: () => number) {
  return createMiddleware<DashEnv>(async (c, next) => {
    const adminToken = c.env.ADMIN_TOKEN;
    if (!adminToken) return unauthenticated(c, 'disabled');
    const value = getCookie(c, cookieName(https(c)));
    if (value === undefined) return unauthenticated(c, 'signed-out');
    const s = await openSession(await sessionKey(adminToken), value, Math.floor(now() / 1000));
    const role = s && (await roleOf(c.env, s.token));
    if (!s || !role) {
      clearSession(c);
      return unauthenticated(c, 'expired');
    }
    c.set('session', s);
    c.set('viewer', { role, csrf: s.csrf });
    c.set('api', adminClient(admin(c), new URL(c.req.url).origin, s.token));
    await next();
  });
}

/** The form fields of a POST (strings only; files are dropped), for the handlers after the CSRF gate. */
async function formOf(c: Context): Promise<Record<string, string>> {
  const type = c.req.header('content-type') ?? '';
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(type)) return {};
  const body = await c.req.parseBody();
  return Object.fromEntries(Object.entries(body).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** Gate 2 (see the module doc): also leaves the parsed form in `c.var.form`. */
export const csrfToken = createMiddleware<DashEnv>(async (c, next) => {
  if (c.req.method !== 'POST') return next();
  const form = await formOf(c);
  const sent = form._csrf;
  if (!sent || !(await timingSafeEqual(sent, c.get('session').csrf))) {
    return c.text(
      'This form did not come from this dashboard session (missing or wrong CSRF token): nothing was changed. Reload the page and try again.\n',
      403,
    );
  }
  c.set('form', form);
  await next();
});

/** Gate 3 (see the module doc). */
export const adminOnly = createMiddleware<DashEnv>(async (c, next) => {
  if (c.get('viewer').role !== 'admin') return c.text('A read-only session can look, not change: nothing was changed.\n', 403);
  await next();
});
