/**
 * `node bench/rules.ts`: what load balancing rules and ACLs cost a proxied request (issue #12: the
 * throughput ratio with 10 rules within 5% of none), measured **side by side**: two identical plain
 * workerd processes (bench/workerd.ts), both pinned to CPU 1, each holding the same four load
 * balancers over one pool (load generator and origin on CPU 0):
 * - `none`: no rules, no ACLs (the baseline);
 * - `10 rules`: bench/rule-sets.ts `ruleMix(10)`, nine that do not match and a last one that does
 *   (it overrides default_pools), so every predicate and one override are paid per request;
 * - `10 rules, host in place of country`: the same with its `ip.src.country` rule made a host rule,
 *   which shows what the country fact costs (workerd builds `request.cf` on first read);
 * - `10 rules, a new client address per request`: the 10 rules again, each request from an address
 *   not seen before, so the place memo (core/steer place-memo.ts) never answers and every request
 *   reads `request.cf` (the other variants send one address, as one browser does);
 * - `10 host rules, none matching`: the rules' machinery with the least work per request (the
 *   candidate index's one Map lookup on the host, no predicate run, no override);
 * - `10 ACLs`: `aclMix(10)`, none deciding;
 * - `100 rules + 100 ACLs`: the largest configuration (ACLs are capped at 100).
 * Each slice loads `none` on one process and one variant on the other **at the same time**, so a
 * drift of the machine (this VM's capacity moves by ±20% within minutes) hits both sides alike; the
 * kernel shares CPU 1 between the two saturated processes, so the faster side completes more
 * requests. The sides swap processes every round (cancelling any difference between the two), and
 * `none` is also paired with itself: that A/A row is the method's own noise floor. Per slice:
 * req/s ratio (variant over `none`), workerd CPU per request of each side (from /proc), and the
 * capacity ratio (none's CPU per request over the variant's: the req/s ratio if each side had the
 * same CPU time), with both processes' busy share (their CPU time over wall time: ~1 when CPU 1 is
 * the limit). Figures are medians over rounds.
 *
 * The `none` side serves one load balancer all round; the variant side switches load balancer (and
 * rule set) every slice, and pays for it in its JIT: code optimized for one rule set is
 * deoptimized when its objects die at the next full collection, and call sites that saw several
 * rule sets' closures stay polymorphic. Each slice therefore starts with BENCH_SLICE_WARMUP s of
 * unmeasured load, and the issue's figure (10 rules against none, nothing else on the variant
 * side) is taken with `BENCH_ONLY='10 rules'`; the full run shows the variants beside each other.
 *
 * Environment: BENCH_SECONDS (per slice, default 5), BENCH_ROUNDS (default 6), BENCH_CONNECTIONS
 * (per side, default 32), BENCH_SLICE_WARMUP (s of unmeasured load on both sides before each
 * slice, default 1; 0 measures from the switch), BENCH_ONLY (variant names separated by `;`: only
 * those and the A/A row, for many rounds of one comparison).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { benchOrigins, bundleWorker, load, median, processCpuMs, putConfig, startOriginProcess } from './lib.ts';
import { aclMix, ruleMix } from './rule-sets.ts';
import { startWorkerd, type Workerd } from './workerd.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SLICE_WARMUP = Number(process.env.BENCH_SLICE_WARMUP ?? 1);
const TOKEN = 'bench-token';
const [GEN_CPU, WORKERD_CPU] = [0, 1];

const VARIANTS = [
  { name: 'none', host: 'none.bench', extra: {} },
  { name: '10 rules', host: 'rules.bench', extra: { rules: ruleMix(10, 'p', true) } },
  { name: '10 rules, host in place of country', host: 'no-country.bench', extra: { rules: withoutCountry(ruleMix(10, 'p', true)) } },
  { name: '10 rules, a new client address per request', host: 'rules.bench', extra: {}, fresh: true },
  { name: '10 host rules, none matching', host: 'hosts.bench', extra: { rules: hostRules(10) } },
  { name: '10 ACLs', host: 'acls.bench', extra: { acls: aclMix(10) } },
  { name: '100 rules + 100 ACLs', host: 'big.bench', extra: { rules: ruleMix(100, 'p', true), acls: aclMix(100) } },
] as const;
type Name = (typeof VARIANTS)[number]['name'] | 'pass-through';
/** Every request carries a client address, as Cloudflare's CF-Connecting-IP: one client for every variant but one. */
const CLIENT = { 'cf-connecting-ip': '192.0.2.7' };
let clients = 0;
/** A client address no request used before (in 10.0.0.0/8, which no rule or ACL entry of the sets names). */
const newClient = () => ({ 'cf-connecting-ip': `10.${(++clients >> 16) & 255}.${(clients >> 8) & 255}.${clients & 255}` });
const NONE = VARIANTS[0];

const dir = join('.bench', 'rules');
bundleWorker(join(dir, 'a', 'lb'));
cpSync(join(dir, 'a', 'lb'), join(dir, 'b', 'lb'), { recursive: true });
if (existsSync('/usr/bin/taskset')) spawnSync('/usr/bin/taskset', ['-pc', String(GEN_CPU), String(process.pid)]);
const origin = await startOriginProcess('bench-origin', GEN_CPU);
const opts = { originHost: `127.0.0.1:${origin.port}`, token: TOKEN, compatibilityDate: '2026-11-01', cpu: WORKERD_CPU };
const sides: Workerd[] = [];
try {
  for (const sub of ['a', 'b']) sides.push(await startWorkerd(join(dir, sub), opts));
  for (const w of sides) await seed(w);
  /** The address, Host and client address of `name` on process `w`. */
  const target = (w: Workerd, name: Name) => {
    if (name === 'pass-through') return { url: `${w.passUrl}/`, host: undefined, headers: CLIENT };
    const v = VARIANTS.find((x) => x.name === name)!;
    return { url: `${w.lbUrl}/`, host: v.host, headers: 'fresh' in v ? newClient : CLIENT };
  };
  const only = process.env.BENCH_ONLY?.split(';');
  const names = (['pass-through', ...VARIANTS.map((v) => v.name)] as Name[]).filter((n) => !only || n === 'none' || only.includes(n));
  for (const w of sides) for (const n of names) await load(target(w, n).url, target(w, n).host, 2, CONNECTIONS, target(w, n).headers); // warm-up (JIT, health)

  const rows = new Map<Name, { rps: number[]; ratio: number[]; cpuUs: number[]; noneCpuUs: number[]; capacity: number[] }>(
    names.map((n) => [n, { rps: [], ratio: [], cpuUs: [], noneCpuUs: [], capacity: [] }]),
  );
  const busy: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const [noneSide, variantSide] = round % 2 ? [sides[1]!, sides[0]!] : [sides[0]!, sides[1]!];
    const line: string[] = [];
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length]!;
      const [n, v] = [target(noneSide, NONE.name), target(variantSide, name)];
      // Unmeasured first: the variant side has just switched load balancer (and rule set), and its JIT re-tiers.
      if (SLICE_WARMUP > 0)
        await Promise.all([load(n.url, n.host, SLICE_WARMUP, CONNECTIONS, n.headers), load(v.url, v.host, SLICE_WARMUP, CONNECTIONS, v.headers)]);
      const cpu0 = sides.map((w) => processCpuMs(w.process.pid!));
      const [rn, rv] = await Promise.all([load(n.url, n.host, SECONDS, CONNECTIONS, n.headers), load(v.url, v.host, SECONDS, CONNECTIONS, v.headers)]);
      const cpuMs = sides.map((w, k) => processCpuMs(w.process.pid!) - cpu0[k]!);
      for (const [r, what] of [
        [rn, 'none'],
        [rv, name],
      ] as const)
        if (r.errors || r.non2xx) throw new Error(`${what}: ${r.errors} errors, ${r.non2xx} non-2xx`);
      const us = (side: Workerd, rps: number) => (cpuMs[sides.indexOf(side)]! * 1000) / (rps * SECONDS);
      const [noneUs, variantUs] = [us(noneSide, rn.rps), us(variantSide, rv.rps)];
      const row = rows.get(name)!;
      row.rps.push(rv.rps);
      row.ratio.push(rv.rps / rn.rps);
      row.cpuUs.push(variantUs);
      row.noneCpuUs.push(noneUs);
      row.capacity.push(noneUs / variantUs);
      busy.push((cpuMs[0]! + cpuMs[1]!) / (SECONDS * 1000));
      line.push(`${name} ${rv.rps.toFixed(0)}/${rn.rps.toFixed(0)}`);
    }
    console.error(`round ${round + 1} (variant/none req/s): ${line.join(', ')}`);
  }
  const list = (xs: number[]) => xs.map((r) => r.toFixed(3)).join(', ');
  console.log(
    `\n${ROUNDS} rounds x ${SECONDS} s, ${CONNECTIONS} connections per side, medians; node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`,
  );
  console.log(`busy share of CPU 1 (both processes' CPU time / wall time per slice): median ${median(busy).toFixed(2)}, min ${Math.min(...busy).toFixed(2)}\n`);
  console.log(
    '| variant (beside none) | req/s | req/s ratio to none (per round) | workerd CPU µs/request, variant / none | capacity ratio to none (per round) |',
  );
  console.log('|---|---:|---:|---:|---:|');
  for (const n of names) {
    const r = rows.get(n)!;
    console.log(
      `| ${n} | ${median(r.rps).toFixed(0)} | ${median(r.ratio).toFixed(3)} (${list(r.ratio)}) | ${median(r.cpuUs).toFixed(0)} / ${median(r.noneCpuUs).toFixed(0)} | ${median(r.capacity).toFixed(3)} (${list(r.capacity)}) |`,
    );
  }
  if (rows.has('10 rules')) {
    // (BENCH_ONLY may leave it out)
    const [ten, tenCapacity] = [median(rows.get('10 rules')!.ratio), median(rows.get('10 rules')!.capacity)];
    console.log(`\nthroughput with 10 rules is ${((1 - ten) * 100).toFixed(1)}% below none (target: within 5%): ${ten >= 0.95 ? 'met' : 'NOT met'}`);
    console.log(
      `capacity (1 / workerd CPU per request) with 10 rules is ${((1 - tenCapacity) * 100).toFixed(1)}% below none: ${tenCapacity >= 0.95 ? 'within' : 'NOT within'} 5%`,
    );
  }
} finally {
  for (const w of sides) w.stop();
  origin.stop();
}

/** `rules` with each `ip.src.country` condition replaced by a host condition that never matches. */
function withoutCountry(rules: object[]): object[] {
  return rules.map((r, i) =>
    'condition' in r && String(r.condition).includes('ip.src.country') ? { ...r, condition: `http.host eq "tenant-${i}.example.com"` } : r,
  );
}

/** `n` rules on the host alone, none matching the benchmark's requests: the rules' machinery with the least per-request work (one Map lookup). */
function hostRules(n: number): object[] {
  return Array.from({ length: n }, (_, i) => ({ name: `host ${i}`, condition: `http.host eq "tenant-${i}.example.com"`, overrides: { default_pools: ['p'] } }));
}

/** Writes the pool and the load balancers of VARIANTS into `w` (putConfig throws when refused). */
async function seed(w: Workerd): Promise<void> {
  await putConfig(w.lbUrl, TOKEN, {
    pools: [{ id: 'p', name: 'p', origins: benchOrigins(origin.port) }],
    load_balancers: VARIANTS.filter((v) => !('fresh' in v)).map((v) => ({ name: v.host, default_pools: ['p'], fallback_pool: 'p', ...v.extra })),
  });
}
