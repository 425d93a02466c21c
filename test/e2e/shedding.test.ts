/**
 * Pool load shedding end to end: the real Worker under wrangler dev, one real origin per pool on
 * 127.0.0.1, cookie affinity. Which origin answers (x-origin) shows which pool served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrigins, type OriginServer } from '../../scripts/lib/origin-server.ts';
import { startWranglerDev, type WranglerDev } from '../../scripts/lib/wrangler-dev.ts';
import { send } from '../http-client.ts';
import { adminCall, teardown, tempState } from './stack.ts';

const TOKEN = 'e2e-shedding-token-0123456789';
const HOST = 'shed.e2e.test';
let state: string;
let worker: WranglerDev;
let origins: OriginServer[];

const admin = (path: string, method: string, body: unknown) => adminCall(worker.url, TOKEN, path, method, body);
const get = (cookie?: string) => send(`${worker.url}/`, { host: HOST, headers: cookie ? { cookie } : {} });
const pinOf = (r: { headers: Record<string, unknown> }) => /__cflb=([^;]+)/.exec(String(r.headers['set-cookie'] ?? ''))?.[1];
const shed = async (load_shedding: unknown) => {
  const r = await admin('/pools/pa', 'PATCH', { load_shedding });
  expect(r.status, r.body).toBe(200);
};

beforeAll(async () => {
  state = tempState('shedding');
  origins = await startOrigins(['a', 'b']);
  worker = await startWranglerDev({ persistTo: state, vars: { ADMIN_TOKEN: TOKEN, AFFINITY_SECRET: 'e2e-shedding-secret' } });
  const res = await admin('/config', 'PUT', {
    pools: origins.map((o) => ({ id: `p${o.name}`, name: `p${o.name}`, origins: [{ name: o.name, address: '127.0.0.1', port: o.port }] })),
    load_balancers: [{ id: 'lb', name: HOST, default_pools: ['pa', 'pb'], fallback_pool: 'pb', per_try_timeout: 2, session_affinity: 'cookie' }],
  });
  expect(res.status, res.body).toBe(200);
}, 60_000);

afterAll(() => teardown(worker, origins ?? [], state));

describe('load shedding', () => {
  it('refuses a percent out of range, naming load_shedding.default_percent', async () => {
    const r = await admin('/pools/pa', 'PATCH', { load_shedding: { default_percent: 150 } });
    expect(r.status).toBe(400);
    expect(r.body).toContain('load_shedding.default_percent');
  });

  it('default_percent moves new traffic to the next pool; existing sessions stay until session_percent sheds them', async () => {
    const first = await get();
    expect(first.headers['x-origin']).toBe('a');
    const cookie = `__cflb=${pinOf(first)}`;

    await shed({ default_percent: 100 });
    expect((await get()).headers['x-origin']).toBe('b');
    const kept = await get(cookie);
    expect(kept.headers['x-origin']).toBe('a');

    await shed({ default_percent: 100, session_percent: 100 });
    const moved = await get(cookie);
    expect(moved.headers['x-origin']).toBe('b');
    expect(pinOf(moved)).toBeDefined(); // the session moves: a new pin
    const preview = await admin('/load_balancers/lb/preview', 'POST', { cookies: { __cflb: pinOf(first)! } });
    expect(JSON.parse(preview.body).result).toMatchObject({ pool: 'pb', affinity: { honoured: false, why: expect.stringContaining('load_shedding') } });

    await shed(null);
    expect((await get()).headers['x-origin']).toBe('a');
  });

  it('default_percent 0, session_percent 100: new sessions start in the pool, a pinned one moves to the next and stays there', async () => {
    await shed({ default_percent: 0, session_percent: 100 });
    const first = await get();
    expect(first.headers['x-origin']).toBe('a');
    const toA = `__cflb=${pinOf(first)}`;
    for (let i = 0; i < 3; i++) {
      const moved = await get(toA);
      expect(moved.headers['x-origin']).toBe('b');
      expect(pinOf(moved)).toBeDefined(); // re-pinned, every time
      const kept = await get(`__cflb=${pinOf(moved)}`);
      expect(kept.headers['x-origin']).toBe('b');
      expect(pinOf(kept)).toBeUndefined(); // the pin to b is honoured as it is
    }
    await shed(null);
  });
});
