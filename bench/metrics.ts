/**
 * `node bench/metrics.ts`: what per-request traffic counting costs. Two bundles of the same tree,
 * one as deployed and one built with `--define globalThis.EDGE_LB_METRICS_OFF:true` (esbuild
 * replaces the flag, so worker/proxy/forward.ts counts nothing), each in its own plain workerd
 * (bench/workerd.ts) beside its own pass-through Worker, all on CPU 1. Each round runs
 * pass-through and load balancer of both back to back; the figure is the median per-round ratio
 * load balancer / pass-through, with and without metrics (issue #11: within 3% of each other).
 *
 * Environment: BENCH_SECONDS (per scenario and round, default 5), BENCH_ROUNDS (default 5),
 * BENCH_CONNECTIONS (default 32).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { startWorkerd, type Workerd } from './workerd.ts';
import { join } from 'node:path';
import { bundleWorker, load, median, startOriginProcess } from './lib.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const TOKEN = 'bench-token';
const LB_HOST = 'app.bench';
const FLAG = 'EDGE_LB_METRICS_OFF';

const dirs = { on: join('.bench', 'metrics-on'), off: join('.bench', 'metrics-off') };
bundleWorker(join(dirs.on, 'lb'));
mkdirSync(join(dirs.off, 'lb'), { recursive: true });
const bin = join(process.cwd(), 'node_modules', '.bin');
const build = spawnSync(join(bin, 'wrangler'), ['deploy', '--dry-run', '--outdir', join(dirs.off, 'lb'), '--define', `globalThis.${FLAG}:true`], {
  encoding: 'utf8',
  env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, WRANGLER_SEND_METRICS: 'false' },
});
if (build.status !== 0) throw new Error(`bundling without metrics failed:\n${build.stdout}${build.stderr}`);
// The flag is read in the bundle as deployed and replaced by a constant in the other one.
const mentions = (dir: string) => readFileSync(join(dir, 'lb', 'index.js'), 'utf8').includes(FLAG);
if (!mentions(dirs.on) || mentions(dirs.off))
  throw new Error(`--define did not take: the flag is in the bundles as ${mentions(dirs.on)}/${mentions(dirs.off)}`);

const [GEN_CPU, WORKERD_CPU] = [0, 1];
if (existsSync('/usr/bin/taskset')) spawnSync('/usr/bin/taskset', ['-pc', String(GEN_CPU), String(process.pid)]);
const origin = await startOriginProcess('bench-origin', GEN_CPU);
const originHost = `127.0.0.1:${origin.port}`;
const started: Workerd[] = [];
try {
  const variants: [name: 'on' | 'off', w: Workerd][] = [];
  for (const name of ['on', 'off'] as const) {
    const w = await startWorkerd(dirs[name], { originHost, token: TOKEN, compatibilityDate: '2026-11-01', cpu: WORKERD_CPU });
    started.push(w);
    variants.push([name, w]);
    const seed = await fetch(`${w.lbUrl}/admin/v1/config`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        pools: [
          { id: 'p', name: 'p', origins: ['a', 'b', 'c'].map((n, i) => ({ name: n, address: '127.0.0.1', port: origin.port, weight: [1, 0.5, 0.5][i] })) },
        ],
        load_balancers: [{ name: LB_HOST, default_pools: ['p'], fallback_pool: 'p' }],
      }),
    });
    if (!seed.ok) throw new Error(`seeding ${name} failed: ${seed.status} ${await seed.text()}`);
  }
  for (const [, w] of variants)
    for (const [url, host] of [
      [w.passUrl, undefined],
      [w.lbUrl, LB_HOST],
    ] as const)
      await load(`${url}/`, host, 4, CONNECTIONS);

  const ratios = { on: [] as number[], off: [] as number[] };
  const rps = { on: [] as number[], off: [] as number[], passOn: [] as number[], passOff: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which variant goes first, so drift within a round does not favour one.
    for (const [name, w] of round % 2 ? [...variants].reverse() : variants) {
      const pass = await load(`${w.passUrl}/`, undefined, SECONDS, CONNECTIONS);
      const lb = await load(`${w.lbUrl}/`, LB_HOST, SECONDS, CONNECTIONS);
      for (const r of [pass, lb]) if (r.errors || r.non2xx) throw new Error(`${name}: ${r.errors} errors, ${r.non2xx} non-2xx`);
      ratios[name].push(lb.rps / pass.rps);
      rps[name].push(lb.rps);
      rps[name === 'on' ? 'passOn' : 'passOff'].push(pass.rps);
      console.error(
        `round ${round + 1} metrics ${name}: pass-through ${pass.rps.toFixed(0)} req/s, load balancer ${lb.rps.toFixed(0)} req/s, ratio ${(lb.rps / pass.rps).toFixed(3)}`,
      );
    }
  }
  const [on, off] = [median(ratios.on), median(ratios.off)];
  console.log(`\n${ROUNDS} rounds x ${SECONDS} s, ${CONNECTIONS} connections, medians; node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`);
  console.log('| metrics | pass-through req/s | load balancer req/s | ratio to pass-through (per-round ratios) |');
  console.log('|---|---:|---:|---:|');
  console.log(`| on | ${median(rps.passOn).toFixed(0)} | ${median(rps.on).toFixed(0)} | ${on.toFixed(3)} (${ratios.on.map((r) => r.toFixed(3)).join(', ')}) |`);
  console.log(
    `| off | ${median(rps.passOff).toFixed(0)} | ${median(rps.off).toFixed(0)} | ${off.toFixed(3)} (${ratios.off.map((r) => r.toFixed(3)).join(', ')}) |`,
  );
  const cost = (off - on) / off;
  console.log(`\nratio with metrics is ${(cost * 100).toFixed(1)}% below the ratio without (target: within 3%): ${cost <= 0.03 ? 'met' : 'NOT met'}`);
} finally {
  for (const w of started) w.stop();
  origin.stop();
}
