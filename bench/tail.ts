/**
 * `node bench/tail.ts`: the load balancer beside the pass-through Worker the way a user compares
 * them (issue #13), all in one plain workerd on CPU 1 (bench/workerd.ts), load generator and
 * origin on CPU 0:
 * - closed loop at saturation, 8 and 50 connections: requests/s and p99 per variant;
 * - open loop at fixed offered rates, 50% and 80% of the pass-through's saturated requests/s, over
 *   50 connections (bench/open-loop.ts: constant rate, latency from the scheduled start, as wrk2;
 *   autocannon's `overallRate` sends each second's quota in a burst), so queueing at saturation
 *   does not hide where the tail comes from: p50, p99, p99.9;
 * - RSS after a sustained run: a workerd serving the load balancer against one serving the
 *   pass-through (each also holds one idle pass-through isolate), one isolate in either shape.
 * Beside the pass-through runs a second baseline, the rewriting floor (bench/floor.js: the header
 * rewrite and per-try timeout of worker/proxy/forward.ts with no load balancing, to one origin), so
 * each figure has two ratios: to the pass-through (what a user compares) and to the floor (what the
 * load balancing adds to the least any rewriting proxy costs in this runtime).
 * Variants, each its own load balancer over its own three-origin pool: random and round_robin
 * origin steering, hash (by client IP), cookie affinity on a first visit (a cookie signed on every
 * response) and returning (the cookie of one earlier response sent back), and a pool with a 5 s
 * HTTP monitor. Every figure is the median over rounds; ratios are to the pass-through of the
 * same round and connection count. Scenario order rotates per round.
 *
 * `BENCH_SHAPE=edge` sends the load balancers' traffic to a traffic-only isolate (bench/workerd.ts
 * `trafficService`: the admin API and the Durable Objects run in a second isolate of the same
 * process and CPU), the shape of a Cloudflare colo that holds none of the Durable Objects and has
 * served no admin request. By default one isolate does everything, as `npm start` does.
 *
 * Environment: BENCH_SECONDS (per scenario and round, default 5), BENCH_ROUNDS (default 3),
 * BENCH_SUSTAIN (seconds of the RSS run, default 30), BENCH_SHAPE (`one-isolate` or `edge`).
 */
import autocannon from 'autocannon';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { get } from 'node:http';
import { join } from 'node:path';
import { bundleWorker, median, processRssKb, startOriginProcess, putConfig } from './lib.ts';
import { openLoop } from './open-loop.ts';
import { startWorkerd, type Workerd } from './workerd.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SUSTAIN = Number(process.env.BENCH_SUSTAIN ?? 30);
const SHAPE = process.env.BENCH_SHAPE ?? 'one-isolate';
if (SHAPE !== 'one-isolate' && SHAPE !== 'edge') throw new Error(`BENCH_SHAPE: ${SHAPE} is neither one-isolate nor edge`);
const TOKEN = 'bench-token';
const [GEN_CPU, WORKERD_CPU] = [0, 1];
const dir = join('.bench', 'tail');

interface Variant {
  name: string;
  pool?: object;
  lb?: object;
  /** Sends back the affinity cookie of one earlier response. */
  returning?: boolean;
}
const VARIANTS: Variant[] = [
  { name: 'random' },
  { name: 'round_robin', pool: { origin_steering: { policy: 'round_robin' } } },
  { name: 'hash', pool: { origin_steering: { policy: 'hash' } } },
  { name: 'cookie (first visit)', lb: { session_affinity: 'cookie' } },
  { name: 'cookie (returning)', lb: { session_affinity: 'cookie' }, returning: true },
  { name: 'monitored (5 s)', pool: { monitor: 'm' } },
];
const hostOf = (i: number) => `v${i}.bench`;
const FLOOR = 'rewriting floor';

interface Run {
  rps: number;
  p50: number;
  p99: number;
  p999: number;
}
interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
}

/** Closed loop (autocannon) at saturation; with `rate`, an open loop at that many requests/s (bench/open-loop.ts). */
async function run(t: Target, connections: number, seconds: number, rate?: number): Promise<Run> {
  if (rate) {
    const r = await openLoop(new URL(t.url).origin, { rate, seconds, connections, headers: t.headers });
    if (r.errors || r.non2xx) throw new Error(`${t.name}: ${r.errors} errors, ${r.non2xx} non-2xx`);
    return r;
  }
  const r = await autocannon({ url: t.url, duration: seconds, connections, pipelining: 1, headers: t.headers });
  if (r.errors || r.timeouts || r.non2xx) throw new Error(`${t.name}: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, p999: r.latency.p99_9 };
}

/** Runs every target for `ROUNDS` rounds in rotating order; per target, its runs. */
async function rounds(targets: Target[], connections: number, rate?: number): Promise<Map<string, Run[]>> {
  const out = new Map<string, Run[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    for (const t of order) {
      const r = await run(t, connections, SECONDS, rate);
      out.get(t.name)!.push(r);
      console.error(
        `${rate ? `${rate} req/s offered` : `${connections} connections`}, round ${round + 1}, ${t.name}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} p99 ${r.p99} p99.9 ${r.p999} ms`,
      );
    }
  }
  return out;
}

const f = (x: number, digits = 0) => x.toFixed(digits);

bundleWorker(join(dir, 'lb'));
if (existsSync('/usr/bin/taskset')) spawnSync('/usr/bin/taskset', ['-pc', String(GEN_CPU), String(process.pid)]);
const origins = await Promise.all(['a', 'b', 'c'].map((n) => startOriginProcess(`tail-${n}`, GEN_CPU)));
const originHost = `127.0.0.1:${origins[0]!.port}`;
const started: Workerd[] = [];
try {
  const workerd = await startWorkerd(dir, {
    originHost,
    token: TOKEN,
    compatibilityDate: '2026-11-01',
    cpu: WORKERD_CPU,
    trafficService: SHAPE === 'edge',
    floor: true,
  });
  started.push(workerd);
  const trafficUrl = workerd.trafficUrl ?? workerd.lbUrl;
  const poolOrigins = origins.map((o, i) => ({ name: `o${i}`, address: '127.0.0.1', port: o.port }));
  await putConfig(workerd.lbUrl, TOKEN, {
    monitors: [{ id: 'm', type: 'http', path: '/', interval: 5, timeout: 2, expected_codes: '200' }],
    pools: VARIANTS.map((v, i) => ({ id: `p${i}`, name: `p${i}`, origins: poolOrigins, ...v.pool })),
    load_balancers: VARIANTS.map((v, i) => ({ name: hostOf(i), default_pools: [`p${i}`], fallback_pool: `p${i}`, ...v.lb })),
  });
  const targets: Target[] = [
    { name: 'pass-through', url: `${workerd.passUrl}/`, headers: {} },
    { name: FLOOR, url: `${workerd.floorUrl}/`, headers: {} },
  ];
  for (const [i, v] of VARIANTS.entries()) {
    const headers: Record<string, string> = { host: hostOf(i) };
    if (v.returning) {
      // node:http, since fetch does not send a Host header of ours.
      const setCookie = await new Promise<string[] | undefined>((resolve, reject) =>
        get(`${trafficUrl}/`, { headers }, (res) => (res.resume(), resolve(res.headers['set-cookie']))).once('error', reject),
      );
      const cookie = setCookie?.[0]?.split(';')[0];
      if (!cookie) throw new Error(`${v.name}: the first response set no affinity cookie`);
      headers.cookie = cookie;
    }
    targets.push({ name: v.name, url: `${trafficUrl}/`, headers });
  }
  for (const t of targets) await run(t, 32, 3); // warm-up (JIT, health, monitor)

  const table = (title: string, runs: Map<string, Run[]>, tail: boolean) => {
    const [pass, floor] = [runs.get('pass-through')!, runs.get(FLOOR)!];
    console.log(`\n${title}\n`);
    console.log(
      tail
        ? '| variant | req/s | p50 ms | p99 ms | p99.9 ms | p99 vs pass-through | p99 vs floor |'
        : '| variant | req/s | p99 ms | req/s vs pass-through | p99 vs pass-through | req/s vs floor |',
    );
    console.log(tail ? '|---|---:|---:|---:|---:|---:|---:|' : '|---|---:|---:|---:|---:|---:|');
    for (const [name, rs] of runs) {
      // Ratios per round (to the baseline's run of the same round), then the median.
      const ratio = (base: Run[], pick: (r: Run) => number, digits: number) => f(median(rs.map((r, i) => pick(r) / Math.max(pick(base[i]!), 1e-9))), digits);
      const m = (pick: (r: Run) => number) => median(rs.map(pick));
      const rps = (r: Run) => r.rps;
      const p99 = (r: Run) => r.p99;
      console.log(
        tail
          ? `| ${name} | ${f(m(rps))} | ${m((r) => r.p50)} | ${m(p99)} | ${m((r) => r.p999)} | ${ratio(pass, p99, 2)}x | ${ratio(floor, p99, 2)}x |`
          : `| ${name} | ${f(m(rps))} | ${m(p99)} | ${ratio(pass, rps, 3)} | ${ratio(pass, p99, 2)}x | ${ratio(floor, rps, 3)} |`,
      );
    }
  };
  const saturated = new Map<number, Map<string, Run[]>>();
  for (const connections of [8, 50]) saturated.set(connections, await rounds(targets, connections));
  const capacity = median(
    saturated
      .get(50)!
      .get('pass-through')!
      .map((r) => r.rps),
  );
  const open = new Map<number, Map<string, Run[]>>();
  for (const share of [0.5, 0.8]) open.set(share, await rounds(targets, 50, Math.round(capacity * share)));

  console.log(`\n${SHAPE}: ${ROUNDS} rounds x ${SECONDS} s per scenario, medians; node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
  for (const [connections, runs] of saturated) table(`Saturated, ${connections} connections (closed loop)`, runs, false);
  for (const [share, runs] of open)
    table(`Open loop at ${share * 100}% of the pass-through's capacity (${Math.round(capacity * share)} req/s offered, 50 connections)`, runs, true);
  workerd.stop();
  started.length = 0;

  // RSS: one process serving only the load balancer's traffic, one only the pass-through's.
  const passDir = join('.bench', 'tail-pass');
  mkdirSync(join(passDir, 'lb'), { recursive: true });
  copyFileSync('bench/passthrough.js', join(passDir, 'lb', 'index.js'));
  const rss: Record<string, number> = {};
  for (const [name, d, t] of [
    ['load balancer (random)', dir, targets.find((t) => t.name === 'random')!],
    ['pass-through', passDir, targets[0]!],
  ] as const) {
    // In the pass-through's process its "lb" service is a second pass-through (ORIGIN set too).
    const w = await startWorkerd(d, { originHost, token: TOKEN, compatibilityDate: '2026-11-01', cpu: WORKERD_CPU, vars: { ORIGIN: originHost } });
    started.push(w);
    if (d === dir) {
      const again = await fetch(`${w.lbUrl}/admin/v1/config`, { headers: { authorization: `Bearer ${TOKEN}` } });
      if (!again.ok) throw new Error(`config did not persist: ${again.status}`);
    }
    const url = d === dir ? `${w.lbUrl}/` : `${w.passUrl}/`;
    await run({ ...t, url }, 50, SUSTAIN);
    rss[name] = processRssKb(w.process.pid!);
    w.stop();
    started.pop();
  }
  const [lbRss, passRss] = [rss['load balancer (random)']!, rss['pass-through']!];
  console.log(
    `\nRSS after ${SUSTAIN} s at 50 connections: load balancer ${f(lbRss / 1024, 1)} MiB, pass-through ${f(passRss / 1024, 1)} MiB: ${f(lbRss / passRss, 2)}x`,
  );
} finally {
  for (const w of started) w.stop();
  for (const o of origins) o.stop();
}
