/**
 * `node bench/metrics.ts`: what per-request traffic counting costs. Two bundles of the same tree,
 * one as deployed and one built with `--define globalThis.EDGE_LB_METRICS_OFF:true` (esbuild
 * replaces the flag, so worker/proxy/forward.ts counts nothing), served side by side by ONE plain
 * workerd (bench/workerd.ts `alternates`) beside the pass-through Worker, on CPU 1: the two
 * variants share a process, so its heap, CPU and scheduling cannot favour one (two processes gave
 * pass-through figures 10% apart for identical code). Each round runs pass-through, metrics on and
 * metrics off, in a rotating order; the figures are medians of per-round ratios to the
 * pass-through, and of on / off (issue #11: the ratio with metrics within 3% of the one without).
 *
 * Environment: BENCH_SECONDS (per scenario and round, default 5), BENCH_ROUNDS (default 6),
 * BENCH_CONNECTIONS (default 32).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { startWorkerd } from './workerd.ts';
import { join } from 'node:path';
import { benchOrigins, bundleWorker, load, median, processCpuMs, putConfig, startOriginProcess } from './lib.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const TOKEN = 'bench-token';
const LB_HOST = 'app.bench';
const FLAG = 'EDGE_LB_METRICS_OFF';

const dir = join('.bench', 'metrics');
bundleWorker(join(dir, 'lb'));
mkdirSync(join(dir, 'off'), { recursive: true });
const bin = join(process.cwd(), 'node_modules', '.bin');
const build = spawnSync(join(bin, 'wrangler'), ['deploy', '--dry-run', '--outdir', join(dir, 'off'), '--define', `globalThis.${FLAG}:true`], {
  encoding: 'utf8',
  env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, WRANGLER_SEND_METRICS: 'false' },
});
if (build.status !== 0) throw new Error(`bundling without metrics failed:\n${build.stdout}${build.stderr}`);
// The flag is read in the bundle as deployed and replaced by a constant in the other one.
const mentions = (sub: string) => readFileSync(join(dir, sub, 'index.js'), 'utf8').includes(FLAG);
if (!mentions('lb') || mentions('off')) throw new Error(`--define did not take: the flag is in the bundles as ${mentions('lb')}/${mentions('off')}`);

const [GEN_CPU, WORKERD_CPU] = [0, 1];
if (existsSync('/usr/bin/taskset')) spawnSync('/usr/bin/taskset', ['-pc', String(GEN_CPU), String(process.pid)]);
const origin = await startOriginProcess('bench-origin', GEN_CPU);
const originHost = `127.0.0.1:${origin.port}`;
const workerd = await startWorkerd(dir, { originHost, token: TOKEN, compatibilityDate: '2026-11-01', cpu: WORKERD_CPU, alternates: ['off'] });
try {
  const urls = { pass: workerd.passUrl, on: workerd.lbUrl, off: workerd.alternateUrls.off! };
  for (const name of ['on', 'off'] as const) {
    await putConfig(urls[name], TOKEN, {
      pools: [{ id: 'p', name: 'p', origins: benchOrigins(origin.port) }],
      load_balancers: [{ name: LB_HOST, default_pools: ['p'], fallback_pool: 'p' }],
    });
  }
  const hostOf = (name: 'pass' | 'on' | 'off') => (name === 'pass' ? undefined : LB_HOST);
  for (const name of ['pass', 'on', 'off'] as const) await load(`${urls[name]}/`, hostOf(name), 4, CONNECTIONS);

  const ratios = { on: [] as number[], off: [] as number[], onOff: [] as number[], cpuOffOn: [] as number[] };
  // workerd's CPU per request (µs) while each scenario runs: steadier than req/s when the load generator shares the machine.
  const cpuUs = { pass: [] as number[], on: [] as number[], off: [] as number[] };
  const rps = { pass: [] as number[], on: [] as number[], off: [] as number[] };
  const orders = [
    ['pass', 'on', 'off'],
    ['off', 'pass', 'on'],
    ['on', 'off', 'pass'],
    ['pass', 'off', 'on'],
    ['on', 'pass', 'off'],
    ['off', 'on', 'pass'],
  ] as const;
  for (let round = 0; round < ROUNDS; round++) {
    // Every order in turn, so drift within a round favours no variant.
    const got: Partial<Record<'pass' | 'on' | 'off', number>> = {};
    for (const name of orders[round % orders.length]!) {
      const cpu0 = processCpuMs(workerd.process.pid!);
      const r = await load(`${urls[name]}/`, hostOf(name), SECONDS, CONNECTIONS);
      if (r.errors || r.non2xx) throw new Error(`${name}: ${r.errors} errors, ${r.non2xx} non-2xx`);
      got[name] = r.rps;
      rps[name].push(r.rps);
      cpuUs[name].push(((processCpuMs(workerd.process.pid!) - cpu0) * 1000) / (r.rps * SECONDS));
    }
    const { pass, on, off } = got as Record<'pass' | 'on' | 'off', number>;
    ratios.on.push(on / pass);
    ratios.off.push(off / pass);
    ratios.onOff.push(on / off);
    ratios.cpuOffOn.push(cpuUs.off.at(-1)! / cpuUs.on.at(-1)!);
    console.error(
      `round ${round + 1}: pass-through ${pass.toFixed(0)}, metrics on ${on.toFixed(0)}, off ${off.toFixed(0)} req/s; on/off ${(on / off).toFixed(3)}`,
    );
  }
  const [on, off] = [median(ratios.on), median(ratios.off)];
  const list = (xs: number[]) => xs.map((r) => r.toFixed(3)).join(', ');
  console.log(`\n${ROUNDS} rounds x ${SECONDS} s, ${CONNECTIONS} connections, medians; node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`);
  console.log(`pass-through: ${median(rps.pass).toFixed(0)} req/s\n`);
  console.log('| metrics | load balancer req/s | ratio to pass-through (per round) |');
  console.log('|---|---:|---:|');
  console.log(`| on | ${median(rps.on).toFixed(0)} | ${on.toFixed(3)} (${list(ratios.on)}) |`);
  console.log(`| off | ${median(rps.off).toFixed(0)} | ${off.toFixed(3)} (${list(ratios.off)}) |`);
  const cost = (off - on) / off;
  console.log(`\nper-round on/off: ${list(ratios.onOff)}; median ${median(ratios.onOff).toFixed(3)}`);
  console.log(
    `workerd CPU per request (µs, medians): pass-through ${median(cpuUs.pass).toFixed(0)}, metrics on ${median(cpuUs.on).toFixed(0)}, off ${median(cpuUs.off).toFixed(0)}; per-round off/on ${list(ratios.cpuOffOn)}, median ${median(ratios.cpuOffOn).toFixed(3)} (the share of throughput counting costs when CPU-bound: ${((1 - median(ratios.cpuOffOn)) * 100).toFixed(1)}%)`,
  );
  console.log(`ratio with metrics is ${(cost * 100).toFixed(1)}% below the ratio without (target: within 3%): ${cost <= 0.03 ? 'met' : 'NOT met'}`);
} finally {
  workerd.stop();
  origin.stop();
}
