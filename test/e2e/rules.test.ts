/**
 * Cloudflare load balancing rules end to end: the real Worker under wrangler dev, one real origin
 * per pool on 127.0.0.1. Which origin answers (x-origin) shows which pools the rules chose.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrigins, type OriginServer } from '../../scripts/lib/origin-server.ts';
import { startWranglerDev, type WranglerDev } from '../../scripts/lib/wrangler-dev.ts';
import { send } from '../http-client.ts';
import { adminCall, teardown, tempState } from './stack.ts';

const TOKEN = 'e2e-rules-token-0123456789';
const HOST = 'rules.e2e.test';
let state: string;
let worker: WranglerDev;
let origins: OriginServer[];

const admin = (path: string, method: string, body: unknown) => adminCall(worker.url, TOKEN, path, method, body);
const get = (path: string, headers: Record<string, string> = {}) => send(`${worker.url}${path}`, { host: HOST, headers });
const originOf = async (path: string, headers: Record<string, string> = {}) => {
  const r = await get(path, headers);
  expect(r.status, r.body).toBe(200);
  return r.headers['x-origin'];
};

const RULES = [
  { name: 'api', priority: 10, condition: 'starts_with(http.request.uri.path, "/api/")', overrides: { default_pools: ['pb'] } },
  { name: 'canary', priority: 20, condition: 'http.request.headers["x-canary"][0] eq "yes"', overrides: { default_pools: ['pc'] } },
  {
    name: 'maintenance',
    priority: 5,
    condition: 'http.request.uri.path eq "/maintenance"',
    fixed_response: { status_code: 503, content_type: 'application/json', message_body: '{"down":true}' },
  },
  {
    name: 'moved',
    condition: 'http.request.uri.path in {"/old" "/older"}',
    priority: 6,
    fixed_response: { status_code: 301, location: 'https://new.example/' },
  },
  { name: 'stop', priority: 1, condition: 'http.request.uri.path eq "/stop"', terminates: true, overrides: { default_pools: ['pb'] } },
  { name: 'off', priority: 0, disabled: true, condition: '', fixed_response: { status_code: 500 } },
];

beforeAll(async () => {
  state = tempState('rules');
  origins = await startOrigins(['a', 'b', 'c']);
  worker = await startWranglerDev({ persistTo: state, vars: { ADMIN_TOKEN: TOKEN } });
  const res = await admin('/config', 'PUT', {
    pools: origins.map((o) => ({ id: `p${o.name}`, name: `p${o.name}`, origins: [{ name: o.name, address: '127.0.0.1', port: o.port }] })),
    load_balancers: [{ id: 'lb', name: HOST, default_pools: ['pa'], fallback_pool: 'pa', per_try_timeout: 2, rules: RULES }],
  });
  expect(res.status, res.body).toBe(200);
}, 60_000);

afterAll(() => teardown(worker, origins ?? [], state));

describe('load balancing rules', () => {
  it('refuses an invalid condition with 400 naming rules[i].condition, its offset and token; nothing changes', async () => {
    const bad = [...RULES, { condition: 'http.request.uri.path eq "/x" AND ssl' }];
    const res = await admin('/load_balancers/lb', 'PATCH', { rules: bad });
    expect(res.status).toBe(400);
    expect(res.body).toContain('rules[6].condition: operators are written in lower case: and (offset 30, at \\"AND\\")');
    expect(await originOf('/api/x')).toBe('b');
  });

  it('overrides default_pools by path; no rule matches elsewhere; the disabled rule never answers', async () => {
    expect(await originOf('/api/users')).toBe('b');
    expect(await originOf('/web')).toBe('a');
  });

  it('matches on a header, and a later rule (higher priority number) overrides an earlier one', async () => {
    expect(await originOf('/web', { 'x-canary': 'yes' })).toBe('c');
    expect(await originOf('/api/users', { 'x-canary': 'yes' })).toBe('c');
    expect(await originOf('/web', { 'x-canary': 'no' })).toBe('a');
  });

  it('stops at a rule that terminates: the header rule after it does not apply', async () => {
    expect(await originOf('/stop', { 'x-canary': 'yes' })).toBe('b');
  });

  it('answers fixed responses itself: a 503 with its body and type, a 301 with its Location; no origin sees them', async () => {
    const seen = origins.reduce((n, o) => n + o.seen.length, 0);
    const down = await get('/maintenance', { 'x-canary': 'yes' });
    expect(down).toMatchObject({ status: 503, body: '{"down":true}' });
    expect(down.headers['content-type']).toBe('application/json');
    const moved = await get('/older');
    expect(moved.status).toBe(301);
    expect(moved.headers.location).toBe('https://new.example/');
    expect(origins.reduce((n, o) => n + o.seen.length, 0)).toBe(seen);
  });

  it('the routing explainer shows the rules that matched and what they set', async () => {
    const res = await admin('/load_balancers/lb/preview', 'POST', { path: '/api/x', headers: { 'x-canary': 'yes' } });
    expect(res.status, res.body).toBe(200);
    const { result } = JSON.parse(res.body) as { result: { pool: string; rules: { matched: { name: string; overridden_by?: object }[] } } };
    expect(result.pool).toBe('pc');
    expect(result.rules.matched).toMatchObject([
      { name: 'api', overrides: ['default_pools'], overridden_by: { default_pools: 1 } },
      { name: 'canary', overrides: ['default_pools'] },
    ]);
    const fixed = await admin('/load_balancers/lb/preview', 'POST', { path: '/maintenance' });
    expect(JSON.parse(fixed.body).result).toMatchObject({ result: 'fixed response', rules: { fixed_response: { status_code: 503 } } });
  });
});
