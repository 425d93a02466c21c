/**
 * Session affinity end to end: the real Worker under wrangler dev, real origins on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrigins, type OriginServer } from '../../scripts/lib/origin-server.ts';
import { startWranglerDev, type WranglerDev } from '../../scripts/lib/wrangler-dev.ts';
import { tempState, teardown } from './stack.ts';
import { send } from '../http-client.ts';

const TOKEN = 'e2e-affinity-token-0123456789';
const DRAIN_S = 8;
let state: string;
let worker: WranglerDev;
let origins: OriginServer[];

const get = (host: string, cookie?: string) => send(`${worker.url}/`, { host, headers: cookie ? { cookie } : {} });
const pinOf = (r: { headers: Record<string, unknown> }) => /__cflb=([^;]+)/.exec(String(r.headers['set-cookie'] ?? ''))?.[1];
const originOf = (r: { headers: Record<string, unknown> }) => r.headers['x-origin'] as string | undefined;
const byName = (name: string) => origins.find((o) => o.name === name)!;
const startWorker = () => startWranglerDev({ persistTo: state, vars: { ADMIN_TOKEN: TOKEN, AFFINITY_SECRET: 'e2e-affinity-secret' } });

/** Runs `fn` while origin `name` is stopped, and starts it again whatever happens. */
async function whileDown<T>(name: string, fn: () => Promise<T>): Promise<T> {
  await byName(name).stop();
  try {
    return await fn();
  } finally {
    await byName(name).start();
  }
}

beforeAll(async () => {
  state = tempState('affinity');
  origins = await startOrigins(['a', 'b', 'c']);
  worker = await startWorker();
  const lb = (id: string, zero_downtime_failover: string) => ({
    id,
    name: `${id}.e2e.test`,
    default_pools: ['p'],
    fallback_pool: 'p',
    per_try_timeout: 2,
    session_affinity: 'cookie',
    session_affinity_attributes: { zero_downtime_failover },
  });
  const res = await send(`${worker.url}/admin/v1/config`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      pools: [
        { id: 'p', name: 'p', outlier_detection: { enabled: false }, origins: origins.map((o) => ({ name: o.name, address: '127.0.0.1', port: o.port })) },
      ],
      load_balancers: [
        lb('sticky', 'sticky'),
        lb('temporary', 'temporary'),
        lb('none', 'none'),
        { ...lb('drain', 'temporary'), session_affinity_attributes: { zero_downtime_failover: 'temporary', drain_duration: DRAIN_S } },
      ],
    }),
  });
  expect(res.status, res.body).toBe(200);
}, 60_000);

afterAll(() => teardown(worker, origins ?? [], state));

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
    await whileDown(s.origin, async () => {
      const moved = await get('sticky.e2e.test', s.cookie);
      expect(moved.status).toBe(200);
      expect(originOf(moved)).not.toBe(s.origin);
      const next = pinOf(moved);
      expect(next).toBeDefined();
      const after = await Promise.all(Array.from({ length: 20 }, () => get('sticky.e2e.test', `__cflb=${next}`)));
      expect(new Set(after.map(originOf))).toEqual(new Set([originOf(moved)]));
    });
  });

  it('temporary: served elsewhere while the pinned origin is down, back to it after, cookie unchanged', async () => {
    const s = await session('temporary.e2e.test');
    const during = await whileDown(s.origin, () => get('temporary.e2e.test', s.cookie));
    expect(during.status).toBe(200);
    expect(originOf(during)).not.toBe(s.origin);
    expect(during.headers['set-cookie']).toBeUndefined();
    expect(originOf(await get('temporary.e2e.test', s.cookie))).toBe(s.origin);
  });

  it('none: a failure on the pinned origin is not retried elsewhere', async () => {
    const s = await session('none.e2e.test');
    expect((await whileDown(s.origin, () => get('none.e2e.test', s.cookie))).status).toBe(503);
  });

  it('a disabled origin keeps its sessions for drain_duration and gets no new ones; with no drain_duration they move at once', async () => {
    const s = await session('drain.e2e.test');
    const other = await (async () => {
      for (;;) {
        const x = await session('sticky.e2e.test');
        if (x.origin === s.origin) return x;
      }
    })();
    const patch = (enabled: boolean) =>
      send(`${worker.url}/admin/v1/pools/p/origins/${s.origin}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ enabled }),
      });
    const res = await patch(false);
    try {
      expect(res.status, res.body).toBe(200);
      const disabledAt = Date.parse(
        (JSON.parse(res.body) as { result: { origins: { name: string; disabled_at?: string }[] } }).result.origins.find((o) => o.name === s.origin)!
          .disabled_at!,
      );
      expect(Math.abs(disabledAt - Date.now())).toBeLessThan(5000);
      await new Promise((r) => setTimeout(r, 2500)); // edges see a config write within 2 s
      expect(Date.now()).toBeLessThan(disabledAt + DRAIN_S * 1000 - 1000);
      const kept = await Promise.all(Array.from({ length: 20 }, () => get('drain.e2e.test', s.cookie)));
      const fresh = await Promise.all(Array.from({ length: 20 }, () => get('drain.e2e.test')));
      const moved = await get('sticky.e2e.test', other.cookie); // drain_duration 0
      expect(kept.map(originOf)).toEqual(Array(20).fill(s.origin));
      expect(fresh.filter((r) => originOf(r) === s.origin)).toEqual([]);
      expect(originOf(moved)).not.toBe(s.origin);
      expect(pinOf(moved)).toBeDefined();

      await new Promise((r) => setTimeout(r, disabledAt + DRAIN_S * 1000 + 300 - Date.now()));
      const after = await get('drain.e2e.test', s.cookie);
      expect(originOf(after)).not.toBe(s.origin);
      expect(pinOf(after)).toBeDefined(); // re-pinned to where it went
    } finally {
      await patch(true);
      await new Promise((r) => setTimeout(r, 2500));
    }
  }, 30_000);

  it('a forged or foreign cookie starts a new session', async () => {
    const r = await get('sticky.e2e.test', '__cflb=forged.value');
    expect(r.status).toBe(200);
    expect(pinOf(r)).toBeDefined();
    const other = await session('temporary.e2e.test');
    expect(pinOf(await get('sticky.e2e.test', other.cookie))).toBeDefined(); // signed for another load balancer
  });
});

describe('header affinity', () => {
  it('pins each session key to one origin in the Durable Object table, moves it when that origin dies (temporary), and keeps it across a restart', async () => {
    const res = await send(`${worker.url}/admin/v1/load_balancers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'header.e2e.test',
        default_pools: ['p'],
        fallback_pool: 'p',
        per_try_timeout: 2,
        session_affinity: 'header',
        session_affinity_ttl: 600,
        session_affinity_attributes: { headers: ['x-session'], zero_downtime_failover: 'temporary' },
      }),
    });
    expect(res.status, res.body).toBe(201);
    const as = (session: string) => send(`${worker.url}/`, { host: 'header.e2e.test', headers: { 'x-session': session } });
    const sessions = Array.from({ length: 12 }, (_, i) => `s${i}`);
    const pinned = new Map<string, string>();
    for (const s of sessions) {
      const results = await Promise.all(Array.from({ length: 6 }, () => as(s)));
      const seen = new Set(results.map(originOf));
      if (seen.size === 1) pinned.set(s, [...seen][0]!);
      else {
        // The first requests of a new session race to pin it: all later ones agree.
        const later = await Promise.all(Array.from({ length: 6 }, () => as(s)));
        expect(new Set(later.map(originOf)).size).toBe(1);
        pinned.set(s, originOf(later[0]!)!);
      }
    }
    expect(new Set(pinned.values()).size).toBeGreaterThan(1); // sessions spread over origins

    const victim = pinned.get('s0')!;
    const during = await whileDown(victim, () => as('s0'));
    expect(during.status).toBe(200);
    expect(originOf(during)).not.toBe(victim);
    expect(originOf(await as('s0'))).toBe(victim); // temporary: the pin did not move

    await worker.stop();
    worker = await startWorker();
    for (const s of sessions.slice(0, 6)) expect(originOf(await as(s)), s).toBe(pinned.get(s));
  }, 90_000);
});
