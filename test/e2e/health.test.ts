/**
 * Health end to end: the real Worker under wrangler dev (Durable Object alarms fire there), real
 * origins on 127.0.0.1, steady client load while origins die and come back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OriginServer, startOrigins } from '../../scripts/lib/origin-server.ts';
import { startWranglerDev, type WranglerDev } from '../../scripts/lib/wrangler-dev.ts';
import { adminResult, teardown, tempState } from './stack.ts';
import { send } from '../http-client.ts';

const TOKEN = 'e2e-health-token-0123456789';
const HOST = 'health.e2e.test';
const INTERVAL = 5;
const TIMEOUT = 1;
let state: string;
let worker: WranglerDev;
let origins: OriginServer[];
let fallback: OriginServer;

const admin = <T>(path: string, method = 'GET', body?: unknown) => adminResult<T>(worker.url, TOKEN, path, method, body);
type PoolHealth = { healthy: boolean; pop_health: { global: { origins: Record<string, { healthy: boolean; ejected_until: string | null }>[] } } };
const originHealth = async (pool: string) =>
  Object.assign({}, ...(await admin<PoolHealth>(`/pools/${pool}/health`)).pop_health.global.origins) as Record<
    string,
    { healthy: boolean; ejected_until: string | null }
  >;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` every 200 ms until it is true; resolves with the time it became true (ms since
 * epoch). On time-out the error carries what the load balancer saw (events, backend stats, the
 * end of wrangler's log), so a failure in CI can be read without re-running it.
 */
async function until(check: () => Promise<boolean>, limitMs: number, what: string): Promise<number> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await check()) return Date.now();
    await sleep(200);
  }
  const seen = await Promise.all(
    [admin('/load_balancers/lb/events?limit=20'), admin('/load_balancers/lb/backend-stats')].map((p) => p.catch((e: unknown) => String(e))),
  );
  throw new Error(
    `${what}: not within ${limitMs} ms at ${new Date().toISOString()}\nevents: ${JSON.stringify(seen[0])}\nbackend-stats: ${JSON.stringify(seen[1])}\nwrangler (last 3,000 chars): ${worker.output().slice(-3000)}`,
  );
}

/** Steady GET load (4 at a time) until stopped; records status and serving origin. */
function steadyLoad() {
  const seen: { at: number; status: number; origin: string | undefined }[] = [];
  let running = true;
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      const r = await send(`${worker.url}/load`, { host: HOST }).catch(() => ({ status: 0, headers: {} as Record<string, unknown> }));
      seen.push({ at: Date.now(), status: r.status, origin: r.headers['x-origin'] as string | undefined });
      await sleep(20);
    }
  });
  return {
    seen,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

beforeAll(async () => {
  state = tempState('health');
  origins = await startOrigins(['a', 'b', 'c']);
  fallback = await new OriginServer('fb').start();
  worker = await startWranglerDev({ persistTo: state, vars: { ADMIN_TOKEN: TOKEN } });
  await admin('/config', 'PUT', {
    monitors: [{ id: 'mon', path: '/health', interval: INTERVAL, timeout: TIMEOUT, retries: 0, consecutive_down: 1, consecutive_up: 1 }],
    pools: [
      {
        id: 'primary',
        name: 'primary',
        monitor: 'mon',
        origins: origins.map((o) => ({ name: o.name, address: '127.0.0.1', port: o.port })),
        outlier_detection: { consecutive_5xx: 3, base_ejection_time: 6, max_ejection_percent: 34 },
      },
      { id: 'fallback', name: 'fallback', monitor: 'mon', origins: [{ name: 'fb', address: '127.0.0.1', port: fallback.port }] },
    ],
    load_balancers: [{ id: 'lb', name: HOST, default_pools: ['primary'], fallback_pool: 'fallback', per_try_timeout: 2 }],
  });
  await until(
    async () =>
      Object.values(await originHealth('primary')).every((o) => o.healthy) &&
      (await admin<{ server_state: string }[]>('/load_balancers/lb/backend-stats')).every((s) => s.server_state === 'running'),
    15_000,
    'all origins probed healthy',
  );
}, 60_000);

afterAll(() => teardown(worker, [...(origins ?? []), fallback], state));

describe('active health under load', () => {
  it('one origin dies: no client error, out of rotation within interval x consecutive_down + timeout, back after consecutive_up', async () => {
    const load = steadyLoad();
    await sleep(1000);
    const killedAt = Date.now();
    await origins[0]!.stop();
    const downAt = await until(async () => !(await originHealth('primary')).a!.healthy, 15_000, 'a reported unhealthy');
    await sleep(3000); // edges pick the transition up within 2 s
    const restartedAt = Date.now();
    await origins[0]!.start();
    const upAt = await until(async () => (await originHealth('primary')).a!.healthy, 15_000, 'a healthy again');
    // Attempts that failed while it was dead may also have ejected it (outlier detection, 6 s):
    // back in rotation means healthy and not ejected.
    const inRotationAt = await until(async () => (await originHealth('primary')).a!.ejected_until === null, 15_000, 'a not ejected');
    await sleep(3000);
    await load.stop();

    expect(load.seen.filter((r) => r.status !== 200)).toEqual([]);
    expect(downAt - killedAt).toBeLessThanOrEqual((INTERVAL * 1 + TIMEOUT) * 1000 + 2000);
    expect(upAt - restartedAt).toBeLessThanOrEqual(INTERVAL * 1 * 1000 + 2000);
    expect(load.seen.some((r) => r.at > Math.max(upAt, inRotationAt) + 2500 && r.origin === 'a')).toBe(true);
    // Whichever noticed first, probes ('unhealthy') or traffic ('ejected'), the log says so.
    const events = await admin<{ origin: string; to: string; at: string }[]>('/load_balancers/lb/events?limit=50');
    const down = events.filter((e) => e.origin === 'a' && ['unhealthy', 'ejected'].includes(e.to) && Date.parse(e.at) >= killedAt);
    expect(down.length).toBeGreaterThan(0);
    expect(Date.parse(down.at(-1)!.at) - killedAt).toBeLessThanOrEqual((INTERVAL * 1 + TIMEOUT) * 1000 + 2000);
  }, 60_000);

  it('every origin of the default pool down: the fallback pool serves', async () => {
    await Promise.all(origins.map((o) => o.stop()));
    try {
      await until(async () => !(await admin<PoolHealth>('/pools/primary/health')).healthy, 25_000, 'primary pool unhealthy');
      await sleep(2500);
      const results = await Promise.all(Array.from({ length: 10 }, () => send(`${worker.url}/fb`, { host: HOST })));
      expect(results.map((r) => [r.status, r.headers['x-origin']])).toEqual(Array(10).fill([200, 'fb']));
    } finally {
      await Promise.all(origins.map((o) => o.start()));
      await until(async () => Object.values(await originHealth('primary')).every((o) => o.healthy), 15_000, 'primary healthy again');
    }
  }, 60_000);
});

describe('passive health', () => {
  it('an origin that fails real requests but passes its probe is ejected, then returns after its ejection time', async () => {
    origins[1]!.mode = { status: 500 };
    try {
      const load = steadyLoad();
      const ejectedAt = await until(async () => (await originHealth('primary')).b!.ejected_until !== null, 10_000, 'b ejected');
      const until_ = Date.parse((await originHealth('primary')).b!.ejected_until!);
      await sleep(Math.max(0, until_ - Date.now()) + 3000);
      await load.stop();
      // From 2 s after the ejection (edge refresh) until it ends, b takes no traffic; after, it does again.
      const during = load.seen.filter((r) => r.at > ejectedAt + 2000 && r.at < until_ - 100);
      expect(during.length).toBeGreaterThan(20);
      expect(during.filter((r) => r.origin === 'b')).toEqual([]);
      expect(load.seen.some((r) => r.at > until_ + 500 && r.origin === 'b')).toBe(true);
      expect((await origins[1]!.seen.filter((s) => s.path === '/health').length) > 0).toBe(true);
    } finally {
      origins[1]!.mode = 'ok';
    }
  }, 60_000);
});
