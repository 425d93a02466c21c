/**
 * Hostile-load figure: are active probes kept on schedule under sustained traffic, with no cron
 * watchdog? One plain `workerd serve` (bench/workerd.ts, which fires no cron trigger) runs the
 * wrangler bundle; a pool of SOAK_ORIGINS (default 3) origins, all in this process, records when
 * each monitor probe (GET /health) arrives; a monitor with interval 5 s, timeout 2 s, retries 0
 * probes them while autocannon sends SOAK_CONNECTIONS (default 8) connections of steady traffic
 * for SOAK_SECONDS (default 600).
 *
 * A missed interval is a gap between consecutive probes of one origin (or from the config write
 * to the first probe, or from the last probe to the end) longer than interval x 1.1 (the jitter)
 * + timeout + 1 s of slack. Reports, per origin: probes seen, expected (duration / interval), the
 * largest gap, missed intervals; and the requests served and errors.
 *
 * Run: `node_modules/.bin/node bench/soak.ts` (Node >= 22; the system node may be older);
 * `SOAK_SECONDS=60` for a quick check of the harness. The last part of `npm run bench` (10 minutes).
 */
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { bundleWorker, processRssKb } from './lib.ts';
import { startWorkerd } from './workerd.ts';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 8);
const ORIGINS = Number(process.env.SOAK_ORIGINS ?? 3);
const INTERVAL = 5;
const TIMEOUT = 2;
const THRESHOLD = INTERVAL * 1.1 + TIMEOUT + 1; // seconds
const TOKEN = 'soak-token';
const HOST = 'soak.bench';
const DIR = '.bench-soak';

rmSync(DIR, { recursive: true, force: true });
const outdir = join(DIR, 'lb');
bundleWorker(outdir);

const rssMb = (pid: number) => processRssKb(pid) / 1024;

/** Origins that answer 200 to everything and record each probe's arrival (epoch ms). */
const origins: { name: string; port: number; probes: number[]; served: number; server: Server }[] = [];
for (let i = 0; i < ORIGINS; i++) {
  const o = { name: String.fromCharCode(97 + i), port: 0, probes: [] as number[], served: 0, server: undefined as unknown as Server };
  o.server = createServer((req, res) => {
    if (req.url === '/health') o.probes.push(Date.now());
    else o.served++;
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'x-origin': o.name }).end(o.name);
  });
  await new Promise<void>((r) => o.server.listen(0, '127.0.0.1', r));
  o.port = (o.server.address() as AddressInfo).port;
  origins.push(o);
}

const workerd = await startWorkerd(DIR, { originHost: `127.0.0.1:${origins[0]!.port}`, token: TOKEN, compatibilityDate: '2026-11-01' });
const pid = workerd.process.pid!;
const admin = async <T>(path: string, method = 'GET', body?: unknown): Promise<T> => {
  const res = await fetch(`${workerd.lbUrl}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (JSON.parse(text) as { result: T }).result;
};

try {
  const rssStart = rssMb(pid);
  await admin('/config', 'PUT', {
    monitors: [{ id: 'mon', type: 'http', path: '/health', interval: INTERVAL, timeout: TIMEOUT, retries: 0 }],
    pools: [{ id: 'p', name: 'p', monitor: 'mon', origins: origins.map((o) => ({ name: o.name, address: '127.0.0.1', port: o.port })) }],
    load_balancers: [{ id: 'lb', name: HOST, default_pools: ['p'], fallback_pool: 'p' }],
  });
  const t0 = Date.now();
  console.error(`config written; soaking ${SECONDS} s with ${CONNECTIONS} connections, ${ORIGINS} origins, monitor every ${INTERVAL} s`);
  const progress = setInterval(() => {
    const s = ((Date.now() - t0) / 1000).toFixed(0);
    console.error(
      `${s} s: probes ${origins.map((o) => `${o.name}=${o.probes.length}`).join(' ')}; served ${origins.reduce((n, o) => n + o.served, 0)}; workerd RSS ${rssMb(pid).toFixed(0)} MB`,
    );
  }, 30_000);
  const result = await autocannon({ url: `${workerd.lbUrl}/`, duration: SECONDS, connections: CONNECTIONS, pipelining: 1, headers: { host: HOST } });
  const t1 = Date.now();
  clearInterval(progress);
  const rssEnd = rssMb(pid);
  const stats = await admin<{ origin: string; server_state: string }[]>('/load_balancers/lb/backend-stats').catch((e: Error) => e.message);

  const duration = (t1 - t0) / 1000;
  const expected = Math.floor(duration / INTERVAL);
  console.log(
    `\nSoak (plain workerd, no cron; ${new Date().toISOString().slice(0, 10)}, node ${process.version}): ${duration.toFixed(0)} s, ${CONNECTIONS} connections, ${ORIGINS} origins; monitor interval ${INTERVAL} s, timeout ${TIMEOUT} s, retries 0; missed = gap > ${THRESHOLD.toFixed(1)} s\n`,
  );
  console.log(
    '| origin | probes seen | expected (duration / interval) | first probe after config | mean gap | max gap | missed intervals | gaps < 2.5 s (extra probes) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  let missedTotal = 0;
  for (const o of origins) {
    const times = [t0, ...o.probes.filter((t) => t <= t1), t1];
    const gaps = times.slice(1).map((t, i) => (t - times[i]!) / 1000);
    const inner = gaps.slice(1, -1);
    const missed = gaps.filter((g) => g > THRESHOLD).length;
    missedTotal += missed;
    const mean = inner.length ? inner.reduce((a, b) => a + b, 0) / inner.length : NaN;
    const first = o.probes.length ? ((o.probes[0]! - t0) / 1000).toFixed(1) : 'none';
    console.log(
      `| ${o.name} | ${o.probes.length} | ${expected} | ${first} s | ${mean.toFixed(2)} s | ${Math.max(...gaps).toFixed(2)} s | ${missed} | ${inner.filter((g) => g < INTERVAL / 2).length} |`,
    );
  }
  const served = result['2xx'];
  console.log(`\nmissed intervals, all origins: ${missedTotal}`);
  console.log(
    `requests: ${result.requests.total} sent, ${served} 2xx, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts; ${result.requests.average.toFixed(0)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms`,
  );
  console.log(`workerd RSS: ${rssStart.toFixed(0)} MB at start, ${rssEnd.toFixed(0)} MB at end`);
  console.log(`backend-stats at end: ${typeof stats === 'string' ? stats : stats.map((s) => `${s.origin}=${s.server_state}`).join(' ')}`);
} finally {
  workerd.stop();
  for (const o of origins) o.server.close();
  for (const o of origins) o.server.closeAllConnections();
}
