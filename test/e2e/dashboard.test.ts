/**
 * The operator's dashboard in a real browser (Debian's Chromium through playwright-core) against
 * the real Worker under wrangler dev, with real origins on 127.0.0.1 and steady traffic through
 * the load balancer. Screenshots land in test-results/dashboard/ (git-ignored).
 */
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OriginServer, startOrigins } from '../../scripts/lib/origin-server.ts';
import { startWranglerDev, type WranglerDev } from '../../scripts/lib/wrangler-dev.ts';
import { sealSession, sessionKey } from '../../worker/dashboard/session.ts';
import { send } from '../http-client.ts';
import { ARTEFACTS, axeViolations, launchChromium, serious, waitForText } from './dashboard/browser.ts';
import { adminResult, teardown, tempState } from './stack.ts';

// Page functions run in the browser; this project's types are Node's and Workers', so declare what they touch.
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  activeElement: { getAttribute(name: string): string | null; textContent: string | null } | null;
};
declare const window: Record<string, unknown>;

const TOKEN = 'e2e-dashboard-admin-0123456789';
const READ_TOKEN = 'e2e-dashboard-read-0123456789';
const HOST = 'dash.e2e.test';
const COOKIE = 'edge-lb-session';
let state: string;
let worker: WranglerDev;
let origins: OriginServer[];
let browser: Browser;
let context: BrowserContext;
let page: Page;
let load: { stop(): Promise<void> };
/** Script errors and CSP refusals seen on the main page (the dashboard's CSP allows only its own files). */
const pageErrors: string[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const admin = <T>(path: string, method = 'GET', body?: unknown) => adminResult<T>(worker.url, TOKEN, path, method, body);
type PoolConfig = { origins: { name: string; enabled: boolean; drain: boolean }[]; enabled: boolean };
const originConfig = async (name: string) => (await admin<PoolConfig>('/pools/web')).origins.find((o) => o.name === name)!;

/** Steady GET traffic through the load balancer (4 at a time) until stopped. */
function steadyLoad() {
  let running = true;
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      await send(`${worker.url}/load`, { host: HOST }).catch(() => undefined);
      await sleep(25);
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Waits until the locator's text matches; on failure the error ends with wrangler's last log lines. */
const expectText = (locator: Locator, expected: string | RegExp, timeoutMs?: number) =>
  waitForText(locator, expected, timeoutMs, () => `wrangler (last 2,000 chars): ${worker.output().slice(-2000)}`);
const cell = (key: string, field: string) => page.locator(`[data-k="${key}"] [data-f="${field}"]`);

async function signIn(p: Page, token: string): Promise<void> {
  await p.goto(`${worker.url}/dashboard/`);
  await p.getByLabel('Admin or read-only token').fill(token);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.waitForURL(`${worker.url}/dashboard/`);
}

beforeAll(async () => {
  state = tempState('dashboard');
  origins = await startOrigins(['a', 'b', 'c']);
  worker = await startWranglerDev({ persistTo: state, vars: { ADMIN_TOKEN: TOKEN, ADMIN_READ_TOKENS: READ_TOKEN } });
  await admin('/config', 'PUT', {
    monitors: [{ id: 'mon', path: '/health', interval: 5, timeout: 1, retries: 0, consecutive_down: 1, consecutive_up: 1 }],
    pools: [{ id: 'web', name: 'web', monitor: 'mon', origins: origins.map((o) => ({ name: o.name, address: '127.0.0.1', port: o.port })) }],
    load_balancers: [{ id: 'lb', name: HOST, default_pools: ['web'], fallback_pool: 'web' }],
  });
  load = steadyLoad();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && /Content Security Policy|uPlot|TypeError/.test(m.text()) && pageErrors.push(m.text()));
}, 90_000);

afterAll(async () => {
  await load?.stop();
  await browser?.close();
  await teardown(worker, origins ?? [], state);
});

describe('the dashboard in a browser', () => {
  it('refuses a wrong token with a clear message and no cookie', async () => {
    await page.goto(`${worker.url}/dashboard/`);
    expect(page.url()).toContain('/dashboard/sign-in');
    await page.getByLabel('Admin or read-only token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expectText(page.getByRole('alert'), /neither the admin token nor a read-only token/);
    expect(await context.cookies()).toEqual([]);
  });

  it('signs in to a sealed HttpOnly SameSite=Strict cookie and shows every load balancer with its health', async () => {
    await signIn(page, TOKEN);
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: COOKIE, httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(cookie!.value).not.toContain(TOKEN);
    const row = page.locator('[data-k="lb"]');
    await expectText(row.getByRole('link'), HOST);
    await expectText(row.locator('[data-f="origins"]'), '3 / 3', 20_000);
    await expectText(row.locator('[data-f="status"]'), 'healthy');
    // Live: requests/s from the traffic metrics, updated in place.
    await page.waitForFunction(() => Number(document.querySelector('[data-k="lb"] [data-f="rate"]')?.textContent) > 0, undefined, { timeout: 20_000 });
    await page.screenshot({ path: join(ARTEFACTS, 'overview.png'), fullPage: true });
    expect(serious(await axeViolations(page))).toEqual([]);
  });

  it('shows the origins, and drains one from the page: its share falls to 0 in the table', async () => {
    await page.getByRole('link', { name: HOST }).click();
    await page.waitForURL(/\/dashboard\/lb\/lb$/);
    for (const o of ['a', 'b', 'c']) await expectText(cell(`web/${o}`, 'health'), 'healthy');
    await expectText(cell('web/b', 'share'), /^[1-9]\d* %$/);
    await page.getByRole('button', { name: 'Drain origin b of pool web' }).click();
    await expectText(page.getByRole('status').filter({ hasText: 'draining' }), 'Origin b is draining');
    expect(await originConfig('b')).toMatchObject({ drain: true, enabled: true });
    await expectText(cell('web/b', 'rotation'), 'draining');
    await expectText(cell('web/b', 'share'), '0 %', 20_000);
  });

  it('an origin that dies turns unhealthy on the page without a reload', async () => {
    await page.evaluate(() => (window.stillHere = true));
    await origins[2]!.stop();
    await expectText(cell('web/c', 'health'), /unhealthy|ejected/, 20_000);
    await expectText(cell('web/c', 'rotation'), 'out of rotation');
    await expectText(page.locator('[data-events]'), /web\/c.*healthy → (unhealthy|ejected)/);
    expect(await page.evaluate(() => window.stillHere)).toBe(true);
  });

  it("shows the drained origin's share at 0 in the chart (traffic metrics, 10 s points)", async () => {
    const lastShare = () =>
      page.evaluate(() => {
        const chart = (window.edgeLb as { charts: { share?: { labels: string[]; data: (number | null)[][] } } }).charts.share;
        if (!chart) return undefined;
        const last = (i: number) => chart.data[i + 1]!.filter((v) => v !== null).at(-1);
        return Object.fromEntries(chart.labels.map((l, i) => [l, last(i)]));
      });
    const deadline = Date.now() + 30_000;
    while ((await lastShare())?.b !== 0 && Date.now() < deadline) await sleep(1000);
    const share = await lastShare();
    expect(share).toMatchObject({ b: 0 });
    expect(share!.a).toBeGreaterThan(0);
    // Drawn from the traffic metrics (not from the page's own polls), latency percentiles included.
    expect(await page.evaluate(() => (window.edgeLb as { source: string }).source)).toBe('metrics');
    const p50 = await page.evaluate(() => (window.edgeLb as { charts: { latency: { data: (number | null)[][] } } }).charts.latency.data[1]!);
    expect(p50.some((v) => v !== null && v > 0)).toBe(true);
    expect(pageErrors).toEqual([]);
    await page.screenshot({ path: join(ARTEFACTS, 'load-balancer.png'), fullPage: true });
    // On a phone: the same page at 390 × 844 CSS pixels (tables scroll sideways, charts stack).
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(page.url());
    await expectText(phone.locator('[data-live-status]'), 'Live: updated');
    await phone.screenshot({ path: join(ARTEFACTS, 'load-balancer-phone.png'), fullPage: true });
    await phone.close();
  });

  it('has labelled, keyboard-reachable actions and no serious accessibility violations', async () => {
    let focused = '';
    for (let i = 0; i < 60 && focused !== 'Disable origin a of pool web'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent ?? '');
    }
    expect(focused).toBe('Disable origin a of pool web');
    expect(serious(await axeViolations(page))).toEqual([]);
  });

  it('previews the monitor and explains a routing decision', async () => {
    await page.getByRole('button', { name: 'Preview monitor of pool web' }).click();
    const preview = page.getByRole('table', { name: /What one probe of each origin saw/ });
    const probe = (o: string) => preview.locator('tbody tr').filter({ has: page.getByRole('rowheader', { name: o, exact: true }) });
    await expectText(probe('c'), 'unhealthy');
    await expectText(probe('a'), /healthy\d/);
    await page.getByLabel('Country (ISO 3166, 2 letters)').fill('DE');
    await page.getByLabel('Client IP').fill('192.0.2.7');
    await page.getByRole('button', { name: 'Explain' }).click();
    await expectText(page.locator('[data-explanation]'), /routed.*pool web, origin a/);
  });

  it('is readable without JavaScript: the server renders the tables', async () => {
    const noJs = await browser.newContext({ javaScriptEnabled: false, storageState: await context.storageState() });
    const p = await noJs.newPage();
    await p.goto(`${worker.url}/dashboard/lb/lb`);
    const row = (o: string) => p.locator(`[data-k="web/${o}"]`);
    await waitForText(row('a'), /a127\.0\.0\.1:\d+healthyin rotation/);
    await waitForText(row('b'), 'draining');
    await waitForText(row('c'), /unhealthy|ejected/);
    await noJs.close();
  });
});

describe('refusals', () => {
  it('an action without its CSRF token, or from another origin, is 403 and changes nothing', async () => {
    const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
    const post = (form: Record<string, string>, origin = worker.url) =>
      page.request.post(`${worker.url}/dashboard/lb/lb/origin`, { form, headers: { origin }, maxRedirects: 0 });
    expect((await post({ pool: 'web', origin: 'a', op: 'disable' })).status()).toBe(403);
    expect((await post({ pool: 'web', origin: 'a', op: 'disable', _csrf: 'forged' })).status()).toBe(403);
    expect((await post({ pool: 'web', origin: 'a', op: 'disable', _csrf: csrf }, 'http://evil.example')).status()).toBe(403);
    expect(await originConfig('a')).toMatchObject({ enabled: true, drain: false });
  });

  it('a read-only session sees no actions and is refused one', async () => {
    const ro = await browser.newContext();
    const p = await ro.newPage();
    await signIn(p, READ_TOKEN);
    await p.goto(`${worker.url}/dashboard/lb/lb`);
    await expectText(p.getByText('Signed in read-only'), 'read-only');
    expect(await p.getByRole('button', { name: /Drain|Disable/ }).count()).toBe(0);
    const csrf = await p.locator('input[name="_csrf"]').first().inputValue();
    const res = await p.request.post(`${worker.url}/dashboard/lb/lb/origin`, {
      form: { pool: 'web', origin: 'a', op: 'disable', _csrf: csrf },
      headers: { origin: worker.url },
      maxRedirects: 0,
    });
    expect(res.status()).toBe(403);
    expect(await originConfig('a')).toMatchObject({ enabled: true });
    await ro.close();
  });

  it('a forged, tampered or expired session cookie goes back to sign-in', async () => {
    const [real] = await context.cookies();
    const now = Math.floor(Date.now() / 1000);
    const flip = (s: string) => s.slice(0, 20) + (s[20] === 'A' ? 'B' : 'A') + s.slice(21);
    const values = {
      forged: await sealSession(await sessionKey('some-other-admin-token'), { token: TOKEN, expiresAt: now + 3600, csrf: 'x' }),
      tampered: flip(real!.value),
      expired: await sealSession(await sessionKey(TOKEN), { token: TOKEN, expiresAt: now - 1, csrf: 'x' }),
      garbage: 'not-a-session',
    };
    for (const [what, value] of Object.entries(values)) {
      const other = await browser.newContext();
      await other.addCookies([{ name: COOKIE, value, url: worker.url }]);
      const p = await other.newPage();
      await p.goto(`${worker.url}/dashboard/lb/lb`);
      expect(p.url(), what).toContain('/dashboard/sign-in');
      await expectText(p.getByRole('status'), /session ended/);
      expect((await p.request.get(`${worker.url}/dashboard/lb/lb/live.json`)).status(), what).toBe(401);
      await other.close();
    }
  });

  it('signs out: the cookie is gone and the pages need a new sign-in', async () => {
    await page.goto(`${worker.url}/dashboard/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/dashboard\/sign-in/);
    await expectText(page.getByRole('status'), 'You are signed out.');
    expect(await context.cookies()).toEqual([]);
    await page.goto(`${worker.url}/dashboard/`);
    expect(page.url()).toContain('/dashboard/sign-in');
  });
});
