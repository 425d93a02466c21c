/**
 * The dashboard inside workerd (the Worker's own fetch handler): sessions, gates and assets. The
 * browser end of it is test/e2e/dashboard.test.ts.
 */
import { SELF, createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../index.ts';
import { quantile } from './charts.ts';
import { isDashboardPath } from './index.tsx';
import { SESSION_TTL_S, newSession, openSession, sealSession, sessionKey } from './session.ts';

const TOKEN = 'test-admin-token';
const BASE = 'http://localhost/dashboard';
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const post = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  SELF.fetch(`${BASE}${path}`, {
    method: 'POST',
    body: form(fields),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost', ...headers },
    redirect: 'manual',
  });

/** Signs in with `token`; answers the Cookie header to send back. */
async function signIn(token = TOKEN): Promise<string> {
  const res = await post('/sign-in', { token });
  expect(res.status).toBe(303);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

const csrfOf = async (cookie: string) => {
  const html = await (await SELF.fetch(`${BASE}/`, { headers: { cookie } })).text();
  return /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
};

describe('sessions', () => {
  it('seal and open: the token is not in clear; expired, tampered or foreign values open to nothing', async () => {
    const key = await sessionKey(TOKEN);
    const s = newSession(TOKEN, 1_000);
    const sealed = await sealSession(key, s);
    expect(sealed).not.toContain(TOKEN);
    expect(await openSession(key, sealed, 1_000)).toEqual(s);
    expect(s.expiresAt).toBe(1_000 + SESSION_TTL_S);
    expect(await openSession(key, sealed, s.expiresAt)).toBeUndefined();
    const tampered = sealed.slice(0, 30) + (sealed[30] === 'A' ? 'B' : 'A') + sealed.slice(31);
    expect(await openSession(key, tampered, 1_000)).toBeUndefined();
    expect(await openSession(await sessionKey('another-admin-token'), sealed, 1_000)).toBeUndefined();
    expect(await openSession(key, 'x'.repeat(3000), 1_000)).toBeUndefined();
  });

  it('signs in to an HttpOnly SameSite=Strict cookie; over https it is __Host- and Secure', async () => {
    const res = await post('/sign-in', { token: TOKEN });
    expect(res.headers.get('set-cookie')).toMatch(/^edge-lb-session=[\w-]+; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict$/);
    const secure = await SELF.fetch('https://localhost/dashboard/sign-in', {
      method: 'POST',
      body: form({ token: TOKEN }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://localhost' },
      redirect: 'manual',
    });
    expect(secure.headers.get('set-cookie')).toMatch(/^__Host-edge-lb-session=[\w-]+; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
  });

  it('refuses a wrong or empty token with a message and no cookie', async () => {
    for (const token of ['wrong', '']) {
      const res = await post('/sign-in', { token });
      expect(res.status).toBe(token ? 401 : 400);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await res.text()).toMatch(token ? /neither the admin token nor a read-only token/ : /token: enter a token/);
    }
  });

  it('rotating ADMIN_TOKEN ends every session', async () => {
    const cookie = await signIn();
    expect((await SELF.fetch(`${BASE}/`, { headers: { cookie }, redirect: 'manual' })).status).toBe(200);
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request(`${BASE}/`, { headers: { cookie }, redirect: 'manual' }), { ...env, ADMIN_TOKEN: 'rotated-admin-token' }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard/sign-in?why=expired');
    expect(res.headers.get('set-cookie')).toMatch(/^edge-lb-session=; Max-Age=0/);
  });

  it('a read-only token that is no longer configured ends its session', async () => {
    const cookie = await signIn('test-read-token');
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request(`${BASE}/live.json`, { headers: { cookie } }), { ...env, ADMIN_READ_TOKENS: 'test-read-token-2' }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(401);
  });
});

describe('gates', () => {
  it('an action needs the session, its CSRF token, a same-origin request and the admin role', async () => {
    const cookie = await signIn();
    const csrf = await csrfOf(cookie);
    const action = { pool: 'nope', origin: 'a', op: 'disable' };
    expect((await post('/lb/x/origin', { ...action, _csrf: csrf })).status).toBe(303); // no session: to sign-in
    expect((await post('/lb/x/origin', action, { cookie })).status).toBe(403);
    expect((await post('/lb/x/origin', { ...action, _csrf: 'forged' }, { cookie })).status).toBe(403);
    expect((await post('/lb/x/origin', { ...action, _csrf: csrf }, { cookie, origin: 'http://evil.example' })).status).toBe(403);
    const reader = await signIn('test-read-token');
    const readerCsrf = await csrfOf(reader);
    const refused = await post('/lb/x/origin', { ...action, _csrf: readerCsrf }, { cookie: reader });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toMatch(/read-only session/);
  });

  it('serves its assets with immutable caching, only at the current version', async () => {
    const html = await (await SELF.fetch(`${BASE}/sign-in`)).text();
    const css = /href="(\/dashboard\/static\/[0-9a-f]{8}\/style\.css)"/.exec(html)![1]!;
    const res = await SELF.fetch(`http://localhost${css}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await res.text()).toContain('.tone-ok');
    const uplot = await SELF.fetch(`http://localhost${css.replace('style.css', 'uplot.js')}`);
    expect(await uplot.text()).toContain('uPlot');
    expect((await SELF.fetch(`${BASE}/static/00000000/style.css`)).status).toBe(404);
    // Load-balanced hostnames never see the dashboard.
    expect(isDashboardPath('/dashboard/lb/x?y=1')).toBe(true);
    expect(isDashboardPath('/dashboard-other')).toBe(false);
  });
});

describe('quantile (Prometheus histogram_quantile)', () => {
  it('interpolates within the bucket that holds the rank; the +Inf bucket answers the highest bound', () => {
    const bounds = [10, 100];
    expect(quantile(0.5, [0, 0, 0], bounds)).toBeNull();
    expect(quantile(0.5, [10, 0, 0], bounds)).toBe(5);
    expect(quantile(0.5, [0, 10, 0], bounds)).toBe(55);
    expect(quantile(0.95, [5, 5, 0], bounds)).toBe(91);
    expect(quantile(0.99, [0, 0, 4], bounds)).toBe(100);
  });
});
