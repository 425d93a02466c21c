/**
 * Access control lists end to end: the real Worker under wrangler dev, real origins on 127.0.0.1.
 *
 * The client's address is CF-Connecting-IP. Requests without one come from this test's socket,
 * 127.0.0.1 (wrangler dev listens on IPv4 only; miniflare sets the header from the socket);
 * IPv6 clients are given by the header, as Cloudflare's edge sets it (miniflare keeps a header
 * the client sent).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrigins, type OriginServer } from '../../scripts/lib/origin-server.ts';
import { startWranglerDev, type WranglerDev } from '../../scripts/lib/wrangler-dev.ts';
import { send } from '../http-client.ts';
import { adminCall, teardown, tempState } from './stack.ts';

const TOKEN = 'e2e-acl-token-0123456789';
let state: string;
let worker: WranglerDev;
let origins: OriginServer[];

const admin = (path: string, method: string, body: unknown) => adminCall(worker.url, TOKEN, path, method, body);
const get = (path: string, headers: Record<string, string> = {}, host = 'app.acl.e2e.test') => send(`${worker.url}${path}`, { host, headers });
const v6 = (ip: string, headers: Record<string, string> = {}) => ({ 'cf-connecting-ip': ip, ...headers });
const seen = () => origins.reduce((n, o) => n + o.seen.length, 0);

const deny = { type: 'deny' };
const ACLS = [
  // Array order is not evaluation order: `index` is.
  { name: 'outsiders', index: 90, action: deny, match: { ip_subnet: ['127.0.0.0/8', '::1/128', '2001:db8::/32'], invert: true } },
  { name: 'v6-net', index: 10, action: deny, match: { ip_subnet: ['2001:db8:bad::/48'] } },
  {
    name: 'health-open',
    index: 20,
    action: { type: 'allow' },
    match: { ip_subnet: ['127.0.0.0/8'], http_filter: 'path_begin', http_filter_value: ['/admin/health'] },
  },
  { name: 'admin-v4', index: 30, action: deny, match: { ip_subnet: ['127.0.0.0/8'], http_filter: 'path_begin', http_filter_value: ['/admin'] } },
  {
    name: 'moved',
    index: 40,
    action: { type: 'redirect', redirect: { code: 308, location: 'https://new.example/' } },
    match: { http_filter: 'path_end', http_filter_value: ['.html'] },
  },
  { name: 'staging', index: 50, action: deny, match: { http_filter: 'http_header_match', http_filter_option: 'X-Env', http_filter_value: ['staging'] } },
  { name: 'old-host', index: 60, action: deny, match: { http_filter: 'host', http_filter_value: ['old.acl.e2e.test'] } },
  { name: 'versions', index: 70, action: deny, match: { http_filter: 'regex', http_filter_value: ['^/v[0-9]+/internal'] } },
];

beforeAll(async () => {
  state = tempState('acl');
  origins = await startOrigins(['a', 'b']);
  worker = await startWranglerDev({ persistTo: state, vars: { ADMIN_TOKEN: TOKEN } });
  const res = await admin('/config', 'PUT', {
    pools: origins.map((o) => ({ id: `p${o.name}`, name: `p${o.name}`, origins: [{ name: o.name, address: '127.0.0.1', port: o.port }] })),
    load_balancers: [
      {
        id: 'lb',
        name: '*.acl.e2e.test',
        default_pools: ['pa'],
        fallback_pool: 'pa',
        per_try_timeout: 2,
        acls: ACLS,
        // Rules run after ACLs: this one would answer every /admin request itself.
        rules: [{ name: 'admin', condition: 'starts_with(http.request.uri.path, "/admin")', fixed_response: { status_code: 200, message_body: 'rule' } }],
      },
    ],
  });
  expect(res.status, res.body).toBe(200);
}, 60_000);

afterAll(() => teardown(worker, origins ?? [], state));

describe('access control lists', () => {
  it('refuses an invalid list with 400 naming acls[i] fields; nothing changes', async () => {
    const bad = [...ACLS, { index: 10, action: { type: 'redirect' }, match: { ip_subnet: ['2001:db8::/129'] } }];
    const res = await admin('/load_balancers/lb', 'PATCH', { acls: bad });
    expect(res.status).toBe(400);
    expect(res.body).toContain('acls[8].match.ip_subnet[0]: invalid prefix length /129');
    expect(res.body).toContain('acls[8].action.redirect: is required for type redirect');
    expect(res.body).toContain('acls[8].index: duplicate index 10 (also acls[1])');
    expect((await get('/admin/x')).status).toBe(403);
  });

  it('routes a client no entry matches, from IPv4 and IPv6', async () => {
    const r = await get('/shop');
    expect(r.status, r.body).toBe(200);
    expect(r.headers['x-origin']).toBe('a');
    expect((await get('/shop', v6('::1'))).headers['x-origin']).toBe('a');
    expect((await get('/shop', v6('2001:db8:900d::1'))).headers['x-origin']).toBe('a');
  });

  it('denies by CIDR, IPv4 and IPv6, with a 403 of ours that no origin sees and no cache keeps', async () => {
    const before = seen();
    const v4 = await get('/admin/users');
    expect(v4.status).toBe(403);
    expect(v4.body).toBe('Access to *.acl.e2e.test is denied by its access control list.\n');
    expect(v4.headers['cache-control']).toBe('no-store');
    expect(v4.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect((await get('/shop', v6('2001:db8:bad::7'))).status).toBe(403);
    expect((await get('/shop', v6('2001:db8:bade::7'))).status).toBe(200);
    expect(seen()).toBe(before + 1);
  });

  it('invert denies everyone outside the listed subnets, IPv4 and IPv6', async () => {
    expect((await get('/shop', v6('203.0.113.5'))).status).toBe(403);
    expect((await get('/shop', v6('2001:db9::1'))).status).toBe(403);
  });

  it('the first entry by index decides: an allow before a broader deny lets the request through (to the rules)', async () => {
    const r = await get('/admin/health');
    expect(r).toMatchObject({ status: 200, body: 'rule' });
    expect((await get('/admin/healthz', v6('2001:db8:bad::1'))).status).toBe(403);
  });

  it('redirects with its code and Location; filters on a header, the host and a regex', async () => {
    const moved = await get('/about/index.html');
    expect(moved.status).toBe(308);
    expect(moved.headers.location).toBe('https://new.example/');
    expect((await get('/about/index.html?x=1', v6('::1'))).status).toBe(308);
    expect((await get('/shop', { 'x-env': 'staging' })).status).toBe(403);
    expect((await get('/shop', { 'x-env': 'production' })).status).toBe(200);
    expect((await get('/shop', {}, 'old.acl.e2e.test')).status).toBe(403);
    expect((await get('/v2/internal/x')).status).toBe(403);
    expect((await get('/x/v2/internal')).status).toBe(200);
  });

  it('the routing explainer names the entry that decided, or none', async () => {
    const denied = await admin('/load_balancers/lb/preview', 'POST', { client_ip: '2001:db8:bad::1', path: '/shop' });
    expect(JSON.parse(denied.body).result).toMatchObject({
      result: 'denied',
      // evaluated: entries whose match ran (the index's candidates up to the decision), not all 8
      acl: { evaluated: 1, matched: { name: 'v6-net', index: 10, position: 1, action: { type: 'deny' } } },
    });
    const routed = await admin('/load_balancers/lb/preview', 'POST', { client_ip: '127.0.0.1', path: '/shop' });
    expect(JSON.parse(routed.body).result).toMatchObject({ result: 'routed', pool: 'pa', acl: { evaluated: 1, matched: null } }); // only the inverted 'outsiders' is a candidate
    const redirected = await admin('/load_balancers/lb/preview', 'POST', { client_ip: '::1', path: '/a.html' });
    expect(JSON.parse(redirected.body).result).toMatchObject({ result: 'redirected', acl: { matched: { name: 'moved' } } });
  });
});
