/**
 * `npm run bench`: requests/s and latency through the load balancer, through a bare pass-through
 * Worker, and directly to the origin, all in one run, both Workers in one plain workerd process
 * (not wrangler dev, which chains two, nor Miniflare, whose dev layers cost more than the Workers). Scenarios are interleaved over several rounds
 * and the median is reported, so drift on a shared machine hits all three alike.
 *
 * Environment: BENCH_SECONDS (per scenario and round, default 5), BENCH_ROUNDS (default 3),
 * BENCH_CONNECTIONS (default 32); BENCH_PROFILE=1 prints a CPU profile of the load balancer instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { benchOrigins, bundleWorker, load, type LoadResult, median, putConfig, startOriginProcess } from './lib.ts';
import { profileWorker } from './profile.ts';
import { startWorkerd } from './workerd.ts';
import { freePort } from '../scripts/lib/wrangler-dev.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const TOKEN = 'bench-token';
const LB_HOST = 'app.bench';

const outdir = join('.bench', 'lb');
bundleWorker(outdir);

// Two cores: workerd on CPU 1, the origin and this load generator on CPU 0.
const [GEN_CPU, WORKERD_CPU] = [0, 1];
if (existsSync('/usr/bin/taskset')) spawnSync('/usr/bin/taskset', ['-pc', String(GEN_CPU), String(process.pid)]);
const origin = await startOriginProcess('bench-origin', GEN_CPU);
const originHost = `127.0.0.1:${origin.port}`;
const PROFILE = process.env.BENCH_PROFILE === '1';
class Profiled extends Error {}
const inspectorPort = PROFILE ? await freePort() : undefined;
const workerd = await startWorkerd('.bench', { originHost, token: TOKEN, compatibilityDate: '2026-11-01', inspectorPort, cpu: WORKERD_CPU });

try {
  await putConfig(workerd.lbUrl, TOKEN, {
    pools: [
      {
        id: 'p',
        name: 'p',
        origins: benchOrigins(origin.port),
      },
    ],
    load_balancers: [{ name: LB_HOST, default_pools: ['p'], fallback_pool: 'p' }],
  });

  if (PROFILE) {
    const entries = await profileWorker(inspectorPort!, 'lb', () => load(`${workerd.lbUrl}/`, LB_HOST, SECONDS, CONNECTIONS));
    console.log('self time of the load balancer Worker under load:');
    for (const e of entries.slice(0, 30)) console.log(`${e.percent.toFixed(1).padStart(6)}%  ${e.name}`);
  }
  const scenarios: [name: string, url: string, host: string | undefined][] = [
    ['direct to origin', `http://${originHost}/`, undefined],
    ['pass-through Worker', `${workerd.passUrl}/`, undefined],
    ['load balancer', `${workerd.lbUrl}/`, LB_HOST],
  ];
  if (PROFILE) throw new Profiled();
  const runs = new Map<string, LoadResult[]>(scenarios.map(([n]) => [n, []]));
  for (const [, url, host] of scenarios) await load(url, host, 4, CONNECTIONS); // warm-up (JIT)
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, url, host] of scenarios) {
      const r = await load(url, host, SECONDS, CONNECTIONS);
      if (r.errors || r.non2xx) throw new Error(`${name}: ${r.errors} errors, ${r.non2xx} non-2xx`);
      runs.get(name)!.push(r);
      console.error(`round ${round + 1} ${name}: ${r.rps.toFixed(0)} req/s p50 ${r.p50} ms p99 ${r.p99} ms`);
    }
  }
  const summary = scenarios.map(([name]) => {
    const rs = runs.get(name)!;
    return { name, rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)) };
  });
  const pass = summary[1]!.rps;
  console.log(`\n${ROUNDS} rounds x ${SECONDS} s, ${CONNECTIONS} connections, medians; node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`);
  console.log('| scenario | req/s | p50 ms | p99 ms | req/s vs pass-through |');
  console.log('|---|---:|---:|---:|---:|');
  for (const s of summary) console.log(`| ${s.name} | ${s.rps.toFixed(0)} | ${s.p50} | ${s.p99} | ${(s.rps / pass).toFixed(3)} |`);
  // Each round runs the scenarios back to back, so the per-round ratio cancels most machine drift.
  const lb = runs.get('load balancer')!;
  const ratios = runs.get('pass-through Worker')!.map((p, i) => lb[i]!.rps / p.rps);
  const ratio = median(ratios);
  console.log(`\nload balancer / pass-through, per round: ${ratios.map((r) => r.toFixed(3)).join(', ')}`);
  console.log(`median of per-round ratios = ${ratio.toFixed(3)} (target >= 0.90): ${ratio >= 0.9 ? 'met' : 'NOT met'}`);
} catch (e) {
  if (!(e instanceof Profiled)) throw e;
} finally {
  workerd.stop();
  origin.stop();
}
