/**
 * The operator's dashboard at `/dashboard/` on admin hostnames: server-rendered pages (hono/jsx)
 * that read and act through the admin API's typed client, in-process (api.ts), so a session has
 * exactly the rights of the token it signed in with.
 *
 * - `GET /dashboard/sign-in`, `POST /dashboard/sign-in` (token → sealed session cookie, session.ts),
 *   `POST /dashboard/sign-out`.
 * - `GET /dashboard/` overview, `GET /dashboard/lb/{id}` a load balancer; `…/live.json` of each is
 *   what the page polls (live.ts).
 * - Actions, POST forms (303 back to the page): `/lb/{id}/origin` (enable, disable, drain,
 *   undrain), `/lb/{id}/enabled`, `/lb/{id}/pool`, `/lb/{id}/monitor-preview`; `/lb/{id}/explain`
 *   (read-only sessions may use it, as the API allows).
 * - Gates (middleware.ts): body ≤ 64 KiB, hono/csrf (Origin / Sec-Fetch-Site), session, the
 *   session's CSRF token on every POST, admin role on writes. Pages carry a strict CSP (scripts
 *   and styles only from /dashboard/static, assets.ts) and are never cached.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { roleOf } from '../admin/auth.ts';
import type { AdminBindings } from '../admin/envelope.ts';
import { ApiFailure, loadBalancer, overview } from './api.ts';
import { lbActions, renderLb } from './actions.tsx';
import { assetResponse } from './assets.ts';
import { SignInForm, firstProblem } from './forms.ts';
import { lbLive, lbTraffic, overviewLive, withTraffic } from './live.ts';
import { clearSession, csrfToken, https, noStore, session, type DashEnv } from './middleware.ts';
import { newSession, sealSession, sessionCookie, sessionKey } from './session.ts';
import type { LbPageProps } from './views/lb.tsx';
import { Overview } from './views/overview.tsx';
import { SignIn } from './views/signin.tsx';

export interface DashboardDeps {
  /** The admin API app (worker/admin adminApp), called in-process with the request's env and ctx. */
  admin: { fetch(request: Request, env: AdminBindings, ctx: ExecutionContext): Response | Promise<Response> };
  /** Epoch ms; default Date.now (tests move it to expire sessions). */
  now?: () => number;
}

export const DASHBOARD_PREFIX = '/dashboard';
const P = DASHBOARD_PREFIX;
/** Largest form body accepted (bytes). */
const MAX_FORM_BYTES = 64 * 1024;

const WHY: Record<string, string> = {
  expired: 'Your session ended (it expired, was not valid, or the admin token changed): sign in again.',
  disabled: 'The dashboard is disabled: no ADMIN_TOKEN is configured.',
  bye: 'You are signed out.',
};

export function dashboardApp({ admin, now = Date.now }: DashboardDeps) {
  const app = new Hono<DashEnv>();
  app.use(
    `${P}/*`,
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
      referrerPolicy: 'no-referrer',
      xFrameOptions: 'DENY',
    }),
  );
  app.get(P, (c) => c.redirect(`${P}/`, 301));
  app.get(`${P}/static/:version/:name`, (c) => assetResponse(c.req.param('version'), c.req.param('name')) ?? c.notFound());
  app.use(`${P}/*`, bodyLimit({ maxSize: MAX_FORM_BYTES, onError: (c) => c.text(`The form is larger than ${MAX_FORM_BYTES / 1024} KiB.\n`, 413) }));
  app.use(`${P}/*`, csrf());

  app.get(`${P}/sign-in`, (c) => {
    noStore(c);
    return c.html(<SignIn notice={WHY[c.req.query('why') ?? '']} />);
  });
  app.post(`${P}/sign-in`, async (c) => {
    noStore(c);
    const form = SignInForm.safeParse(await c.req.parseBody());
    if (!form.success) return c.html(<SignIn error={`Not signed in: ${firstProblem(form.error)}.`} />, 400);
    const adminToken = c.env.ADMIN_TOKEN;
    if (!adminToken) return c.html(<SignIn error={WHY.disabled} />, 401);
    const role = await roleOf(c.env, form.data.token);
    if (!role) return c.html(<SignIn error="Not signed in: that token is neither the admin token nor a read-only token of this deployment." />, 401);
    const sealed = await sealSession(await sessionKey(adminToken), newSession(form.data.token, Math.floor(now() / 1000)));
    c.header('set-cookie', sessionCookie(https(c), sealed));
    return c.redirect(`${P}/`, 303);
  });

  // Everything below needs a session; every POST below needs its CSRF token.
  app.use(
    `${P}/*`,
    session((c) => (req) => admin.fetch(req, c.env, c.executionCtx as ExecutionContext), now),
    csrfToken,
  );

  app.post(`${P}/sign-out`, (c) => {
    clearSession(c);
    return c.redirect(`${P}/sign-in?why=bye`, 303);
  });
  app.get(`${P}/`, async (c) => {
    noStore(c);
    return c.html(<Overview viewer={c.get('viewer')} rows={await withTraffic(c.env, await overview(c.get('api')), now())} />);
  });
  app.get(`${P}/live.json`, async (c) => {
    noStore(c);
    return c.json(overviewLive(await withTraffic(c.env, await overview(c.get('api')), now()), now()));
  });
  app.get(`${P}/lb/:id`, (c) => renderLb(c, c.req.param('id'), { notice: doneNotice(c.req.query('done'), c.req.query('subject')) }));
  app.get(`${P}/lb/:id/live.json`, async (c) => {
    noStore(c);
    const lb = await loadBalancer(c.get('api'), c.req.param('id'));
    return c.json(lbLive(lb, await lbTraffic(c.env, lb, now()), now()));
  });
  app.route(`${P}/lb`, lbActions());

  app.notFound((c) => c.text(`No dashboard page ${c.req.path}.\n`, 404));
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    if (err instanceof ApiFailure) {
      if (err.status === 401) {
        clearSession(c);
        return c.req.path.endsWith('.json') ? c.json({ error: 'expired' }, 401) : c.redirect(`${P}/sign-in?why=expired`, 303);
      }
      if (err.status === 404) return c.text(`Not found: ${err.message}.\n`, 404);
    }
    console.error('dashboard error', err instanceof Error ? err.message : String(err));
    return c.text('The dashboard could not load this page; try again shortly.\n', 502);
  });
  return app;
}

/** The notice after an action's redirect: `done` is one of the codes actions.tsx sends (no free text from the URL). */
function doneNotice(done: string | undefined, subject: string | undefined): LbPageProps['notice'] {
  const messages: Record<string, string> = {
    enable: 'Origin {} is enabled: it takes traffic again when healthy.',
    disable: 'Origin {} is disabled: out of rotation.',
    drain: 'Origin {} is draining: no new requests, those under way finish.',
    undrain: 'Origin {} is no longer draining.',
    'lb-enabled': 'The load balancer is enabled.',
    'lb-disabled': 'The load balancer is disabled: its hostname answers 404.',
    'pool-enabled': 'Pool {} is enabled.',
    'pool-disabled': 'Pool {} is disabled: traffic skips it.',
  };
  const text = done && Object.hasOwn(messages, done) ? messages[done]! : undefined;
  return text ? { tone: 'ok', text: text.replace('{}', (subject ?? '').slice(0, 128)) } : undefined;
}

/** Whether a request path (with its query) is the dashboard's: `/dashboard`, `/dashboard/…`, `/dashboard?…`. */
export function isDashboardPath(path: string): boolean {
  return (
    path.startsWith(DASHBOARD_PREFIX) &&
    (path.length === DASHBOARD_PREFIX.length || path[DASHBOARD_PREFIX.length] === '/' || path[DASHBOARD_PREFIX.length] === '?')
  );
}
