/**
 * `node bench/rules.ts`: what load balancing rules and ACLs cost a proxied request (issue #12: the
 * throughput ratio with 10 rules within 5% of none). One plain workerd on CPU 1 (bench/workerd.ts;
 * load generator and origin on CPU 0) serves the pass-through Worker and one load balancer bundle
 * holding four load balancers over the same pool:
 * - `none`: no rules, no ACLs (the baseline);
 * - `10 rules`: bench/rule-sets.ts `ruleMix(10)`, nine that do not match and a last one that does
 *   (it overrides default_pools), so every predicate and one override are paid per request;
 * - `10 ACLs`: `aclMix(10)`, none deciding;
 * - `100 rules + 100 ACLs`: the largest configuration (ACLs are capped at 100).
 * Each round runs every variant in a rotating order; the figures are medians of per-round ratios to
 * `none`, workerd's CPU time per request (from /proc), and the capacity ratio (none's CPU per
 * request over the variant's: what req/s would be if workerd alone were the limit), with workerd's
 * busy share per slice (CPU time / wall time) to show whether it was.
 *
 * Environment: BENCH_SECONDS (per variant and round, default 5), BENCH_ROUNDS (default 6),
 * BENCH_CONNECTIONS (default 32).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorker, load, median, processCpuMs, startOriginProcess } from './lib.ts';
import { aclMix, ruleMix } from './rule-sets.ts';
import { startWorkerd } from './workerd.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const TOKEN = 'bench-token';
const [GEN_CPU, WORKERD_CPU] = [0, 1];

const VARIANTS = [
  { name: 'none', host: 'none.bench', extra: {} },
  { name: '10 rules', host: 'rules.bench', extra: { rules: ruleMix(10, 'p', true) } },
  { name: '10 ACLs', host: 'acls.bench', extra: { acls: aclMix(10) } },
  { name: '100 rules + 100 ACLs', host: 'big.bench', extra: { rules: ruleMix(100, 'p', true), acls: aclMix(100) } },
] as const;
type Name = (typeof VARIANTS)[number]['name'] | 'pass-through';

const dir = join('.bench', 'rules');
bundleWorker(join(dir, 'lb'));
if (existsSync('/usr/bin/taskset')) spawnSync('/usr/bin/taskset', ['-pc', String(GEN_CPU), String(process.pid)]);
const origin = await startOriginProcess('bench-origin', GEN_CPU);
const workerd = await startWorkerd(dir, { originHost: `127.0.0.1:${origin.port}`, token: TOKEN, compatibilityDate: '2026-11-01', cpu: WORKERD_CPU });
try {
  const seed = await fetch(`${workerd.lbUrl}/admin/v1/config`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      pools: [{ id: 'p', name: 'p', origins: ['a', 'b', 'c'].map((n, i) => ({ name: n, address: '127.0.0.1', port: origin.port, weight: [1, 0.5, 0.5][i] })) }],
      load_balancers: VARIANTS.map((v) => ({ name: v.host, default_pools: ['p'], fallback_pool: 'p', ...v.extra })),
    }),
  });
  if (!seed.ok) throw new Error(`seeding failed: ${seed.status} ${await seed.text()}`);
  const targets: { name: Name; url: string; host?: string }[] = [
    { name: 'pass-through', url: `${workerd.passUrl}/` },
    ...VARIANTS.map((v) => ({ name: v.name, url: `${workerd.lbUrl}/`, host: v.host })),
  ];
  for (const t of targets) await load(t.url, t.host, 3, CONNECTIONS); // warm-up (JIT, snapshot, health)

  const rps = new Map<Name, number[]>(targets.map((t) => [t.name, []]));
  const cpuUs = new Map<Name, number[]>(targets.map((t) => [t.name, []]));
  const toNone = new Map<Name, number[]>(targets.map((t) => [t.name, []]));
  const capacityToNone = new Map<Name, number[]>(targets.map((t) => [t.name, []]));
  const busy: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const got = new Map<Name, number>();
    const cpuOf = new Map<Name, number>();
    for (let i = 0; i < targets.length; i++) {
      const t = targets[(i + round) % targets.length]!;
      const cpu0 = processCpuMs(workerd.process.pid!);
      const r = await load(t.url, t.host, SECONDS, CONNECTIONS);
      if (r.errors || r.non2xx) throw new Error(`${t.name}: ${r.errors} errors, ${r.non2xx} non-2xx`);
      got.set(t.name, r.rps);
      rps.get(t.name)!.push(r.rps);
      const cpuMs = processCpuMs(workerd.process.pid!) - cpu0;
      cpuOf.set(t.name, (cpuMs * 1000) / (r.rps * SECONDS));
      cpuUs.get(t.name)!.push(cpuOf.get(t.name)!);
      busy.push(cpuMs / (SECONDS * 1000));
    }
    for (const t of targets) toNone.get(t.name)!.push(got.get(t.name)! / got.get('none')!);
    for (const t of targets) capacityToNone.get(t.name)!.push(cpuOf.get('none')! / cpuOf.get(t.name)!);
    console.error(`round ${round + 1}: ${targets.map((t) => `${t.name} ${got.get(t.name)!.toFixed(0)}`).join(', ')} req/s`);
  }
  const list = (xs: number[]) => xs.map((r) => r.toFixed(3)).join(', ');
  console.log(`\n${ROUNDS} rounds x ${SECONDS} s, ${CONNECTIONS} connections, medians; node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`);
  console.log(`workerd busy (CPU time / wall time per slice): median ${median(busy).toFixed(2)}, min ${Math.min(...busy).toFixed(2)}\n`);
  console.log('| variant | req/s | ratio to none (per round) | workerd CPU µs/request | capacity ratio to none (per round) |');
  console.log('|---|---:|---:|---:|---:|');
  for (const t of targets) {
    const [r, c] = [toNone.get(t.name)!, capacityToNone.get(t.name)!];
    console.log(
      `| ${t.name} | ${median(rps.get(t.name)!).toFixed(0)} | ${median(r).toFixed(3)} (${list(r)}) | ${median(cpuUs.get(t.name)!).toFixed(0)} | ${median(c).toFixed(3)} (${list(c)}) |`,
    );
  }
  const ten = median(toNone.get('10 rules')!);
  const tenCapacity = median(capacityToNone.get('10 rules')!);
  console.log(`\nthroughput with 10 rules is ${((1 - ten) * 100).toFixed(1)}% below none (target: within 5%): ${ten >= 0.95 ? 'met' : 'NOT met'}`);
  console.log(
    `capacity (1 / workerd CPU per request) with 10 rules is ${((1 - tenCapacity) * 100).toFixed(1)}% below none: ${tenCapacity >= 0.95 ? 'within' : 'NOT within'} 5%`,
  );
} finally {
  workerd.stop();
  origin.stop();
}
