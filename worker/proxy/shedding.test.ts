/**
 * A session shed by its pool's load_shedding.session_percent moves, inside workerd: real requests
 * through the Worker's fetch handler to real origins on 127.0.0.1 (x-origin names who answered),
 * cookie affinity with the ConfigStore's key.
 */
import { SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';

const ports = inject('namedPorts');
const HOST = 'shed.example.com';
const admin = (path: string, init: RequestInit) =>
  SELF.fetch(`http://localhost/admin/v1${path}`, { ...init, headers: { authorization: 'Bearer test-admin-token', 'content-type': 'application/json' } });
const get = async (cookie?: string) => {
  const res = await SELF.fetch(`http://${HOST}/`, { headers: { 'cf-connecting-ip': '203.0.113.7', ...(cookie ? { cookie: `__cflb=${cookie}` } : {}) } });
  await res.arrayBuffer();
  return { origin: res.headers.get('x-origin'), pin: /__cflb=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1] };
};

beforeAll(async () => {
  const res = await admin('/config', {
    method: 'PUT',
    body: JSON.stringify({
      pools: [
        // Pool a sheds no new traffic but every existing session; pool b comes after it.
        { id: 'a', name: 'a', origins: [{ name: 'eu', address: '127.0.0.1', port: ports.eu }], load_shedding: { default_percent: 0, session_percent: 100 } },
        { id: 'b', name: 'b', origins: [{ name: 'us', address: '127.0.0.1', port: ports.us }] },
      ],
      load_balancers: [{ id: 'shed', name: HOST, default_pools: ['a', 'b'], fallback_pool: 'b', session_affinity: 'cookie' }],
    }),
  });
  expect(res.status, await res.text()).toBe(200);
});

describe('session_percent sheds a pinned session', () => {
  it('a request pinned to a goes to b and is re-pinned to b, every time; the b pin is then kept', async () => {
    const fresh = await get();
    expect(fresh.origin).toBe('eu'); // default_percent 0: new sessions start in a
    const toA = fresh.pin!;
    expect(toA).toBeTruthy();

    const moved: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await get(toA);
      expect(r.origin).toBe('us');
      expect(r.pin).toBeTruthy(); // a new pin, written on every shed request
      moved.push(r.pin!);
    }
    for (const pin of moved) {
      const kept = await get(pin);
      expect(kept.origin).toBe('us');
      expect(kept.pin).toBeUndefined(); // honoured where it is: nothing rewritten
    }
  });

  it('the explainer shows the pin shed and pool a skipped', async () => {
    const toA = (await get()).pin!;
    const res = await admin('/load_balancers/shed/preview', { method: 'POST', body: JSON.stringify({ client_ip: '203.0.113.7', cookies: { __cflb: toA } }) });
    const { result } = (await res.json()) as { result: { pool: string; pools: { verdict: string }[]; affinity: { honoured: boolean; why: string } } };
    expect(result.pool).toBe('b');
    expect(result.pools.map((p) => p.verdict)).toEqual(['skipped: load shedding', 'chosen']);
    expect(result.affinity).toMatchObject({ honoured: false, why: expect.stringContaining('session_percent') });
  });
});
