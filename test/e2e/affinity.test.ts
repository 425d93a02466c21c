/**
 * Session affinity end to end: the real Worker under wrangler dev, real origins on 127.0.0.1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrigins, type OriginServer } from '../../scripts/lib/origin-server.ts';
import { startWranglerDev, type WranglerDev } from '../../scripts/lib/wrangler-dev.ts';
import { send } from '../http-client.ts';

const TOKEN = 'e2e-affinity-token-0123456789';
let state: string;
let worker: WranglerDev;
let origins: OriginServer[];

const get = (host: string, cookie?: string) => send(`${worker.url}/`, { host, headers: cookie ? { cookie } : {} });
const pinOf = (r: { headers: Record<string, unknown> }) => /__cflb=([^;]+)/.exec(String(r.headers['set-cookie'] ?? ''))?.[1];
const originOf = (r: { headers: Record<string, unknown> }) => r.headers['x-origin'] as string | undefined;
const byName = (name: string) => origins.find((o) => o.name === name)!;

beforeAll(async () => {
  state = mkdtempSync(join(tmpdir(), 'edge-lb-affinity-'));
  origins = await startOrigins(['a', 'b', 'c']);
  worker = await startWranglerDev({ persistTo: state, vars: { ADMIN_TOKEN: TOKEN, AFFINITY_SECRET: 'e2e-affinity-secret' } });
  const lb = (id: string, zero_downtime_failover: string) => ({
    id, name: `${id}.e2e.test`, default_pools: ['p'], fallback_pool: 'p', per_try_timeout: 2,
    session_affinity: 'cookie', session_affinity_attributes: { zero_downtime_failover },
  });
  const res = await send(`${worker.url}/admin/v1/config`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      pools: [{ id: 'p', name: 'p', outlier_detection: { enabled: false }, origins: origins.map((o) => ({ name: o.name, address: '127.0.0.1', port: o.port })) }],
      load_balancers: [lb('sticky', 'sticky'), lb('temporary', 'temporary'), lb('none', 'none')],
    }),
  });
  expect(res.status, res.body).toBe(200);
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  await Promise.all((origins ?? []).map((o) => o.stop()));
  if (state) rmSync(state, { recursive: true, force: true });
});

/** A new session on `host`: its cookie and the origin it is pinned to. */
async function session(host: string) {
  const first = await get(host);
  expect(first.status).toBe(200);
  const pin = pinOf(first);
  expect(pin).toBeDefined();
  expect(String(first.headers['set-cookie'])).toMatch(/Max-Age=82800; Path=\/; HttpOnly; SameSite=Lax/);
  return { cookie: `__cflb=${pin}`, origin: originOf(first)! };
}

describe('cookie affinity', () => {
  it('100 requests with the cookie all reach one origin, which never sees our cookie', async () => {
    const s = await session('sticky.e2e.test');
    const results = await Promise.all(Array.from({ length: 100 }, () => get('sticky.e2e.test', `${s.cookie}; theirs=1`)));
    expect(new Set(results.map(originOf))).toEqual(new Set([s.origin]));
    expect(results.every((r) => r.status === 200 && !r.headers['set-cookie'])).toBe(true);
    const seen = JSON.parse(results[0]!.body) as { headers: Record<string, string> };
    expect(seen.headers.cookie).toBe('theirs=1');
  });

  it('sticky: when the pinned origin dies the session moves and the cookie follows it', async () => {
    const s = await session('sticky.e2e.test');
    await byName(s.origin).stop();
    try {
      const moved = await get('sticky.e2e.test', s.cookie);
      expect(moved.status).toBe(200);
      expect(originOf(moved)).not.toBe(s.origin);
      const next = pinOf(moved);
      expect(next).toBeDefined();
      const after = await Promise.all(Array.from({ length: 20 }, () => get('sticky.e2e.test', `__cflb=${next}`)));
      expect(new Set(after.map(originOf))).toEqual(new Set([originOf(moved)]));
    } finally {
      await byName(s.origin).start();
    }
  });

  it('temporary: served elsewhere while the pinned origin is down, back to it after, cookie unchanged', async () => {
    const s = await session('temporary.e2e.test');
    await byName(s.origin).stop();
    let during;
    try {
      during = await get('temporary.e2e.test', s.cookie);
    } finally {
      await byName(s.origin).start();
    }
    expect(during.status).toBe(200);
    expect(originOf(during)).not.toBe(s.origin);
    expect(during.headers['set-cookie']).toBeUndefined();
    expect(originOf(await get('temporary.e2e.test', s.cookie))).toBe(s.origin);
  });

  it('none: a failure on the pinned origin is not retried elsewhere', async () => {
    const s = await session('none.e2e.test');
    await byName(s.origin).stop();
    try {
      const r = await get('none.e2e.test', s.cookie);
      expect(r.status).toBe(503);
    } finally {
      await byName(s.origin).start();
    }
  });

  it('a forged or foreign cookie starts a new session', async () => {
    const r = await get('sticky.e2e.test', '__cflb=forged.value');
    expect(r.status).toBe(200);
    expect(pinOf(r)).toBeDefined();
    const other = await session('temporary.e2e.test');
    expect(pinOf(await get('sticky.e2e.test', other.cookie))).toBeDefined(); // signed for another load balancer
  });
});
