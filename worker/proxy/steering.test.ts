/**
 * Pool steering end to end inside workerd: real requests through the Worker's fetch handler with
 * Cloudflare's `cf` request properties, to real origins on 127.0.0.1.
 */
import { SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';

const ports = inject('namedPorts');
const admin = (path: string, init: RequestInit) =>
  SELF.fetch(`http://localhost/admin/v1${path}`, { ...init, headers: { authorization: 'Bearer test-admin-token', 'content-type': 'application/json' } });
const via = async (host: string, cf: Record<string, unknown>) => (await SELF.fetch(`http://${host}/`, { cf } as RequestInit)).headers.get('x-origin');

beforeAll(async () => {
  const pool = (name: 'eu' | 'us' | 'asia', latitude: number, longitude: number) => ({
    id: name,
    name,
    latitude,
    longitude,
    origins: [{ name, address: '127.0.0.1', port: ports[name] }],
  });
  const res = await admin('/config', {
    method: 'PUT',
    body: JSON.stringify({
      monitors: [
        { id: 'm-fast', path: '/', interval: 5, timeout: 2, retries: 0 },
        { id: 'm-eu-40ms', path: '/slow/eu/40', interval: 5, timeout: 2, retries: 0 },
      ],
      pools: [
        { id: 'lat-us', name: 'lat-us', monitor: 'm-fast', origins: [{ name: 'us', address: '127.0.0.1', port: ports.us }] },
        { id: 'lat-eu', name: 'lat-eu', monitor: 'm-eu-40ms', origins: [{ name: 'eu', address: '127.0.0.1', port: ports.eu }] },
        pool('us', 39.0, -77.5),
        pool('eu', 50.1, 8.7),
        pool('asia', 1.35, 103.8),
        {
          id: 'all',
          name: 'all',
          origin_steering: { policy: 'hash', hash_key: { type: 'header', name: 'x-user' } },
          origins: (['eu', 'us', 'asia'] as const).map((name) => ({ name, address: '127.0.0.1', port: ports[name] })),
        },
        { id: 'all-random', name: 'all-random', origins: (['eu', 'us', 'asia'] as const).map((name) => ({ name, address: '127.0.0.1', port: ports[name] })) },
      ],
      load_balancers: [
        {
          id: 'geo',
          name: 'geo.example.com',
          steering_policy: 'geo',
          default_pools: ['us'],
          fallback_pool: 'us',
          country_pools: { DE: ['eu'] },
          region_pools: { SEAS: ['asia'] },
          pop_pools: { NRT: ['asia'] },
        },
        { id: 'near', name: 'near.example.com', steering_policy: 'proximity', default_pools: ['us', 'eu', 'asia'], fallback_pool: 'us' },
        { id: 'hash', name: 'hash.example.com', default_pools: ['all'], fallback_pool: 'all' },
        { id: 'traced', name: 'traced.example.com', default_pools: ['eu'], fallback_pool: 'us', trace_header: true },
        { id: 'lat', name: 'lat.example.com', steering_policy: 'dynamic_latency', default_pools: ['lat-eu', 'lat-us'], fallback_pool: 'lat-us' },
        { id: 'ipc', name: 'ipc.example.com', default_pools: ['all-random'], fallback_pool: 'all-random', session_affinity: 'ip_cookie' },
      ],
    }),
  });
  expect(res.status).toBe(200);
});

describe('pool steering with request.cf', () => {
  it('geo: PoP, then country, then region, then default_pools', async () => {
    expect(await via('geo.example.com', { colo: 'NRT', country: 'DE' })).toBe('asia');
    expect(await via('geo.example.com', { country: 'DE' })).toBe('eu');
    expect(await via('geo.example.com', { country: 'SG' })).toBe('asia');
    expect(await via('geo.example.com', { country: 'BR' })).toBe('us');
  });

  it('proximity: the nearest pool to cf.latitude / cf.longitude', async () => {
    expect(await via('near.example.com', { latitude: '48.86', longitude: '2.35' })).toBe('eu');
    expect(await via('near.example.com', { latitude: '35.68', longitude: '139.69' })).toBe('asia');
    expect(await via('near.example.com', { latitude: '40.71', longitude: '-74.00' })).toBe('us');
  });
});

describe('dynamic_latency', () => {
  const poolFrom = async (place: object) =>
    (await (await admin('/load_balancers/lat/preview', { method: 'POST', body: JSON.stringify(place) })).json<{ result: { pool: string } }>()).result.pool;
  const until = async (check: () => Promise<boolean>, what: string) => {
    for (const end = Date.now() + 10_000; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) if (await check()) return;
    throw new Error(`${what}: not within 10 s`);
  };
  const AMS = { colo: 'AMS', country: 'NL', continent: 'EU' };

  it("prefers the lowest probe RTT, then what real requests from the edge's colo, or else its region, measured", async () => {
    // Probes: us answers at once, eu after 40 ms, so us is nearer from everywhere.
    await until(async () => (await poolFrom(AMS)) === 'lat-us' && (await poolFrom({ colo: 'SIN', country: 'SG' })) === 'lat-us', 'probes measured');
    // Real requests through AMS find us slow (120 ms to headers) and report it.
    for (let i = 0; i < 5; i++) {
      const res = await SELF.fetch('http://lat.example.com/slow/us/120', { cf: AMS } as RequestInit);
      expect(res.headers.get('x-origin')).toBe('us');
    }
    await until(async () => (await poolFrom(AMS)) === 'lat-eu', 'AMS steered by its own measurements');
    expect(await poolFrom({ colo: 'FRA', country: 'DE' })).toBe('lat-eu'); // no figure from FRA: its region's (WEU)
    const explained = await (
      await admin('/load_balancers/lat/preview', { method: 'POST', body: JSON.stringify(AMS) })
    ).json<{ result: { pools: { id: string; latency_ms: number }[] } }>();
    const ms = Object.fromEntries(explained.result.pools.map((p) => [p.id, p.latency_ms]));
    expect(ms['lat-us']).toBeGreaterThan(ms['lat-eu']!);
    expect(ms['lat-eu']).toBeGreaterThanOrEqual(40);
    expect(await poolFrom({ colo: 'SIN', country: 'SG' })).toBe('lat-us'); // nothing from SEAS: the probes'
    expect((await SELF.fetch('http://lat.example.com/', { cf: AMS } as RequestInit)).headers.get('x-origin')).toBe('eu');
  });
});

describe('origin steering by hash', () => {
  it('sends every request with the same header value to the same origin, and spreads different values', async () => {
    const originFor = async (user: string) => (await SELF.fetch('http://hash.example.com/', { headers: { 'x-user': user } })).headers.get('x-origin');
    for (const user of ['alice', 'bob', 'carol']) {
      const seen = new Set(await Promise.all(Array.from({ length: 10 }, () => originFor(user))));
      expect(seen.size, user).toBe(1);
    }
    const spread = new Set(await Promise.all(Array.from({ length: 40 }, (_, i) => originFor(`user-${i}`))));
    expect(spread.size).toBe(3);
  });
});

describe('routing explainer', () => {
  const preview = async (id: string, facts: object) => {
    const res = await admin(`/load_balancers/${id}/preview`, { method: 'POST', body: JSON.stringify(facts) });
    return { status: res.status, body: await res.json<{ result: Record<string, unknown>; errors: { message: string }[] }>() };
  };

  it('explains pool and origin choice with the same code as traffic', async () => {
    const geo = await preview('geo', { country: 'DE' });
    expect(geo.status).toBe(200);
    expect(geo.body.result).toMatchObject({ steering_policy: 'geo', pool: 'eu', origin: 'eu', result: 'routed' });
    const hashed = await preview('hash', { headers: { 'x-user': 'alice' } });
    const real = (await SELF.fetch('http://hash.example.com/', { headers: { 'x-user': 'alice' } })).headers.get('x-origin');
    expect(hashed.body.result).toMatchObject({ origin_steering: 'hash', hash_key: 'alice', origin: real });
  });

  it('answers 404 for an unknown load balancer and 400 naming a bad fact', async () => {
    expect((await preview('nope', {})).status).toBe(404);
    const bad = await preview('geo', { latitude: 123 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]!.message).toBe('latitude: Too big: expected number to be <=90');
  });
});

describe('ip_cookie affinity', () => {
  it('pins a new session by hash of the client IP, so a client without its cookie lands on the same origin', async () => {
    const fresh = (ip: string) => SELF.fetch('http://ipc.example.com/', { headers: { 'cf-connecting-ip': ip } });
    for (const ip of ['198.51.100.1', '198.51.100.2', '203.0.113.77']) {
      const responses = await Promise.all(Array.from({ length: 8 }, () => fresh(ip)));
      expect(new Set(responses.map((r) => r.headers.get('x-origin'))).size, ip).toBe(1);
      expect(responses[0]!.headers.get('set-cookie')).toMatch(/^__cflb=/);
    }
  });
});

describe('X-LB-Trace', () => {
  it('says which pool and origin served, when the operator turns it on', async () => {
    const res = await SELF.fetch('http://traced.example.com/');
    expect(res.headers.get('x-lb-trace')).toBe('lb=traced.example.com; steering=off; planned=eu/eu; attempts=1; pool=eu; origin=eu; origin_steering=random');
    expect((await SELF.fetch('http://geo.example.com/', { cf: { country: 'DE' } } as RequestInit)).headers.get('x-lb-trace')).toBeNull();
  });
});
