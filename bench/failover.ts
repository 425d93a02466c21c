/**
 * `npm run bench` (second part): failover figures. The real Worker under wrangler dev (alarms
 * fire there), three origins on loopback, steady GET load (8 at a time); one origin is killed,
 * then restarted. Reports client errors, time to detect, time until no attempt reaches the dead
 * origin, and time to recover. Monitor: interval 5 s, timeout 1 s, consecutive_down 1,
 * consecutive_up 1; outlier detection at Envoy's defaults (5 gateway failures, 30 s ejection).
 *
 * Resolution: health is polled every 100 ms; attempt counts come from backend-stats, which edges
 * feed at most once a second, so "no attempt reaches the dead origin" is known to about ±1 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrigins } from '../scripts/lib/origin-server.ts';
import { startWranglerDev } from '../scripts/lib/wrangler-dev.ts';
import { send } from '../test/http-client.ts';

const TOKEN = 'bench-failover-token';
const HOST = 'failover.bench';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const state = mkdtempSync(join(tmpdir(), 'edge-lb-failover-'));
const origins = await startOrigins(['a', 'b', 'c']);
const worker = await startWranglerDev({ persistTo: state, vars: { ADMIN_TOKEN: TOKEN } });
const admin = async <T>(path: string, method = 'GET', body?: unknown): Promise<T> => {
  const res = await send(`${worker.url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${res.body}`);
  return (JSON.parse(res.body) as { result: T }).result;
};
type Stat = { origin: string; server_state: string; total_count: number };
const statOf = async (name: string) => (await admin<Stat[]>('/load_balancers/lb/backend-stats')).find((s) => s.origin === name)!;
async function until(check: () => Promise<boolean>, limitMs: number): Promise<number> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await check()) return Date.now();
    await sleep(100);
  }
  throw new Error(`not within ${limitMs} ms`);
}

try {
  await admin('/config', 'PUT', {
    monitors: [{ id: 'mon', path: '/health', interval: 5, timeout: 1, retries: 0, consecutive_down: 1, consecutive_up: 1 }],
    pools: [{ id: 'p', name: 'p', monitor: 'mon', origins: origins.map((o) => ({ name: o.name, address: '127.0.0.1', port: o.port })) }],
    load_balancers: [{ id: 'lb', name: HOST, default_pools: ['p'], fallback_pool: 'p' }],
  });
  await until(async () => (await admin<Stat[]>('/load_balancers/lb/backend-stats')).every((s) => s.server_state === 'running'), 20_000);

  const seen: { at: number; status: number; origin?: string }[] = [];
  let running = true;
  const loops = Array.from({ length: 8 }, async () => {
    while (running) {
      const r = await send(`${worker.url}/`, { host: HOST }).catch(() => ({ status: 0, headers: {} as Record<string, unknown> }));
      seen.push({ at: Date.now(), status: r.status, origin: r.headers['x-origin'] as string | undefined });
    }
  });
  await sleep(3000);

  let last = (await statOf('a')).total_count;
  const killedAt = Date.now();
  await origins[0]!.stop();
  // In parallel: when backend-stats first says stopped, and when the dead origin's attempt count
  // last moved (unchanged for 4 s means nothing reaches it any more).
  const detected = until(async () => (await statOf('a')).server_state === 'stopped', 30_000);
  let lastMoveAt = killedAt;
  for (let stableSince = Date.now(); Date.now() - stableSince < 4000; await sleep(100)) {
    const now = (await statOf('a')).total_count;
    if (now !== last) [last, lastMoveAt, stableSince] = [now, Date.now(), Date.now()];
  }
  const detectedAt = await detected;
  const restartedAt = Date.now();
  await origins[0]!.start();
  const recoveredAt = await until(async () => seen.some((r) => r.at > restartedAt && r.origin === 'a'), 60_000);
  running = false;
  await Promise.all(loops);

  const errors = seen.filter((r) => r.status !== 200).length;
  console.log(`\nFailover (wrangler dev, ${new Date().toISOString().slice(0, 10)}): ${seen.length} requests, 8 at a time\n`);
  console.log('| figure | value |');
  console.log('|---|---:|');
  console.log(`| client errors while an origin died and came back | ${errors} of ${seen.length} |`);
  console.log(`| time to detect (kill until backend-stats says stopped) | ${((detectedAt - killedAt) / 1000).toFixed(1)} s |`);
  console.log(`| time until no attempt reaches the dead origin (±1 s) | ${(Math.max(0, lastMoveAt - killedAt) / 1000).toFixed(1)} s |`);
  console.log(`| time to recover (restart until it serves a client again) | ${((recoveredAt - restartedAt) / 1000).toFixed(1)} s |`);
} finally {
  await worker.stop();
  await Promise.all(origins.map((o) => o.stop()));
  rmSync(state, { recursive: true, force: true });
}
