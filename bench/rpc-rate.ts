/**
 * `npm run bench` (last part): Durable Object RPCs per second at two request rates 10x apart.
 * The edge must not call a Durable Object per request: per isolate, at most one config refresh a
 * second (ConfigStore.snapshot), and per load balancer one health refresh (LbState.snapshot) and
 * one outcome report (LbState.report) a second, whatever the request rate. Header affinity asks
 * the LbState only for sessions this isolate has not cached.
 *
 * The Worker is bundled from bench/rpc-entry.ts (the real Worker with its Durable Object classes
 * subclassed to count every method call) and run in one plain `workerd serve` (bench/workerd.ts),
 * pinned to CPU 1; the origin and autocannon share CPU 0. Two load balancers on one monitored
 * pool (three origin entries on one origin process; monitor interval 5 s, so probes run): `mon`
 * (no affinity) and `aff` (header affinity on `x-session`, 64 sessions, pinned during a warm-up).
 * Requests alternate between them at a constant overall rate (autocannon `overallRate`, which
 * releases each connection's quota at the start of every second). Counts are read before and
 * after each phase, and once a second during it (for the busiest second).
 *
 * Environment: BENCH_RPC_RATES (default "200,2000"), BENCH_RPC_SECONDS (per rate, default 20),
 * BENCH_RPC_CONNECTIONS (default 32).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { CountsReply, MethodCounts, RpcCounts } from './rpc-entry.ts';
import { benchOrigins, startOriginProcess } from './lib.ts';
import { startWorkerd } from './workerd.ts';

const RATES = (process.env.BENCH_RPC_RATES ?? '200,2000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_RPC_SECONDS ?? 20);
const CONNECTIONS = Number(process.env.BENCH_RPC_CONNECTIONS ?? 32);
const SESSIONS = 64;
const TOKEN = 'bench-rpc-token';
const LBS = { mon: 'mon.bench', aff: 'aff.bench' } as const;
const LB_IDS = Object.keys(LBS);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = join('.bench', 'rpc');
rmSync(dir, { recursive: true, force: true }); // fresh Durable Object storage every run
mkdirSync(join(dir, 'lb'), { recursive: true });
const bin = join(process.cwd(), 'node_modules', '.bin');
const build = spawnSync(join(bin, 'wrangler'), ['deploy', 'bench/rpc-entry.ts', '--dry-run', '--outdir', join(dir, 'build')], {
  encoding: 'utf8',
  env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, WRANGLER_SEND_METRICS: 'false' },
});
if (build.status !== 0) throw new Error(`bundling bench/rpc-entry.ts failed:\n${build.stdout}${build.stderr}`);
copyFileSync(join(dir, 'build', 'rpc-entry.js'), join(dir, 'lb', 'index.js'));

const [GEN_CPU, WORKERD_CPU] = [0, 1];
if (existsSync('/usr/bin/taskset')) spawnSync('/usr/bin/taskset', ['-pc', String(GEN_CPU), String(process.pid)]);
const origin = await startOriginProcess('bench-origin', GEN_CPU);
const workerd = await startWorkerd(dir, { originHost: `127.0.0.1:${origin.port}`, token: TOKEN, compatibilityDate: '2026-11-01', cpu: WORKERD_CPU }).catch(
  (e: unknown) => {
    origin.stop();
    throw e;
  },
);

async function admin<T>(path: string, method = 'GET', body?: unknown): Promise<T> {
  const res = await fetch(`${workerd.lbUrl}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`admin ${method} ${path}: ${res.status} ${text}`);
  return (JSON.parse(text) as { result: T }).result;
}
async function counts(): Promise<RpcCounts> {
  const res = await fetch(`${workerd.lbUrl}/__bench/rpc-counts?lb=${LB_IDS.join(',')}`);
  if (!res.ok) throw new Error(`rpc-counts: ${res.status} ${await res.text()}`);
  return (await res.json()) as RpcCounts;
}

/** One figure per `Class.method`, summed over the LbState instances. */
function flatten(c: RpcCounts): Map<string, number> {
  const out = new Map<string, number>();
  const add = (cls: string, m: MethodCounts) => {
    for (const [k, v] of Object.entries(m)) out.set(`${cls}.${k}`, (out.get(`${cls}.${k}`) ?? 0) + v);
  };
  add('ConfigStore', c.config.classTotal);
  // classTotal counts every LbState in the isolate; it equals the sum over our two ids.
  const [first] = Object.values(c.lbState) as CountsReply[];
  if (first) add('LbState', first.classTotal);
  return out;
}
const rpcOnly = (k: string) => !k.endsWith('.alarm');
const sum = (m: Map<string, number>, pick: (k: string) => boolean) => [...m].reduce((s, [k, v]) => (pick(k) ? s + v : s), 0);
const diff = (a: Map<string, number>, b: Map<string, number>) =>
  new Map([...new Set([...a.keys(), ...b.keys()])].map((k) => [k, (b.get(k) ?? 0) - (a.get(k) ?? 0)]));

/** Alternates the two load balancers; `aff` requests carry one of SESSIONS session ids. */
function run(rate: number, seconds: number): Promise<autocannon.Result> {
  let n = 0;
  return autocannon({
    url: `${workerd.lbUrl}/`,
    duration: seconds,
    connections: CONNECTIONS,
    pipelining: 1,
    overallRate: rate,
    requests: [
      { method: 'GET', path: '/', headers: { host: LBS.mon } },
      { method: 'GET', path: '/', setupRequest: (req) => ({ ...req, headers: { host: LBS.aff, 'x-session': `s${n++ % SESSIONS}` } }) },
    ],
  });
}

interface Phase {
  rate: number;
  achieved: number;
  errors: number;
  non2xx: number;
  p99: number;
  seconds: number;
  perSecond: Map<string, number>;
  /** The poll interval (~1 s) with the most DO RPCs (all methods but alarm), and its length in s. */
  busiest: { rpcs: number; seconds: number };
  isolates: Set<string>;
  instances: Set<string>;
}

const isolatesOf = (c: RpcCounts) => new Set([c.entryIsolate, c.config.isolate, ...Object.values(c.lbState).map((s) => s.isolate)]);
const instancesOf = (c: RpcCounts) => new Set([`config:${c.config.instance}`, ...Object.entries(c.lbState).map(([id, s]) => `${id}:${s.instance}`)]);

try {
  await admin('/config', 'PUT', {
    monitors: [{ id: 'mon', type: 'http', path: '/health', interval: 5, timeout: 2, retries: 0 }],
    pools: [
      {
        id: 'p',
        name: 'p',
        monitor: 'mon',
        origins: benchOrigins(origin.port),
      },
    ],
    load_balancers: [
      { id: 'mon', name: LBS.mon, default_pools: ['p'], fallback_pool: 'p' },
      {
        id: 'aff',
        name: LBS.aff,
        default_pools: ['p'],
        fallback_pool: 'p',
        session_affinity: 'header',
        session_affinity_attributes: { headers: ['x-session'] },
      },
    ],
  });
  // Probes have run once every origin of both load balancers is marked up.
  for (let i = 0; ; i++) {
    const stats = await Promise.all(LB_IDS.map((id) => admin<{ server_state: string }[]>(`/load_balancers/${id}/backend-stats`)));
    if (stats.every((s) => s.length === 3 && s.every((o) => o.server_state === 'running'))) break;
    if (i > 100) throw new Error(`probes did not mark the origins up in 10 s: ${JSON.stringify(stats)}`);
    await sleep(100);
  }
  // Warm-up: the JIT, both health caches, every affinity session pinned and cached.
  const beforeWarm = flatten(await counts());
  const warm = await run(RATES[0]!, 3);
  if (warm.errors || warm.non2xx) throw new Error(`warm-up: ${warm.errors} errors, ${warm.non2xx} non-2xx`);
  await sleep(1500);
  const afterWarm = await counts();
  const warmed = diff(beforeWarm, flatten(afterWarm));
  const counted = `ConfigStore: ${afterWarm.config.instrumented.join(', ')}; LbState: ${Object.values(afterWarm.lbState)[0]?.instrumented.join(', ')}`;

  const phases: Phase[] = [];
  for (const rate of RATES) {
    const before = await counts();
    const t0 = performance.now();
    const load = run(rate, SECONDS);
    let last = flatten(before);
    let busiest = { rpcs: 0, seconds: 0 };
    let polledAt = t0;
    const seen = [before];
    let done = false;
    load.then(
      () => (done = true),
      () => (done = true),
    );
    while (!done) {
      await Promise.race([sleep(1000), load]);
      if (done) break;
      const c = await counts();
      seen.push(c);
      const [now, at] = [flatten(c), performance.now()];
      const rpcs = sum(diff(last, now), rpcOnly);
      if (rpcs > busiest.rpcs) busiest = { rpcs, seconds: (at - polledAt) / 1000 };
      [last, polledAt] = [now, at];
    }
    const result = await load;
    const after = await counts();
    seen.push(after);
    const seconds = (performance.now() - t0) / 1000;
    const delta = diff(flatten(before), flatten(after));
    const perSecond = new Map([...delta].filter(([, v]) => v > 0).map(([k, v]) => [k, v / seconds]));
    const phase: Phase = {
      rate,
      achieved: result.requests.total / result.duration,
      errors: result.errors,
      non2xx: result.non2xx,
      p99: result.latency.p99,
      seconds,
      perSecond,
      busiest,
      isolates: new Set(seen.flatMap((c) => [...isolatesOf(c)])),
      instances: new Set(seen.flatMap((c) => [...instancesOf(c)])),
    };
    phases.push(phase);
    console.error(
      `${rate} req/s asked: ${phase.achieved.toFixed(0)} achieved, ${sum(perSecond, rpcOnly).toFixed(2)} DO RPCs/s, busiest poll interval ${busiest.rpcs} in ${busiest.seconds.toFixed(2)} s`,
    );
  }

  // The methods the edge calls are always listed (0 when not called); any other method that was called too.
  const always = ['ConfigStore.snapshot', 'LbState.snapshot', 'LbState.report', 'LbState.affinityGet', 'LbState.affinityPut', 'LbState.sync', 'LbState.alarm'];
  const keys = [...new Set([...always, ...phases.flatMap((p) => [...p.perSecond.keys()])])].sort(
    (a, b) => Number(!rpcOnly(a)) - Number(!rpcOnly(b)) || a.localeCompare(b),
  );
  const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(2));
  const [lo, hi] = [phases[0]!, phases[phases.length - 1]!];
  const ratio = (f: (p: Phase) => number) => (f(lo) > 0 ? `${(f(hi) / f(lo)).toFixed(2)}x` : '-');
  const isolates = new Set(phases.flatMap((p) => [...p.isolates]));
  const reinstanced = new Set(phases.flatMap((p) => [...p.instances])).size > 1 + LB_IDS.length;

  console.log(
    `\nDurable Object RPCs per second (one workerd serve, ${SECONDS} s per rate, ${CONNECTIONS} connections, 2 load balancers, ${SESSIONS} header-affinity sessions; node ${process.version}, ${new Date().toISOString().slice(0, 10)})\n`,
  );
  console.log(`| | ${phases.map((p) => `${p.rate} req/s asked`).join(' | ')} | high / low |`);
  console.log(`|---|${phases.map(() => '---:').join('|')}|---:|`);
  const row = (name: string, f: (p: Phase) => number, show: (x: number) => string = fmt) =>
    console.log(`| ${name} | ${phases.map((p) => show(f(p))).join(' | ')} | ${ratio(f)} |`);
  row(
    'requests/s achieved',
    (p) => p.achieved,
    (x) => x.toFixed(0),
  );
  for (const k of keys.filter(rpcOnly)) row(`${k} /s`, (p) => p.perSecond.get(k) ?? 0);
  row('**all Durable Object RPCs /s**', (p) => sum(p.perSecond, rpcOnly));
  console.log(`| busiest ~1 s poll interval | ${phases.map((p) => `${p.busiest.rpcs} RPCs in ${p.busiest.seconds.toFixed(2)} s`).join(' | ')} | |`);
  row('RPCs per 1,000 requests', (p) => (1000 * sum(p.perSecond, rpcOnly)) / p.achieved);
  for (const k of keys.filter((k) => !rpcOnly(k))) row(`${k} /s (probes; not an RPC)`, (p) => p.perSecond.get(k) ?? 0);
  const affinity = (m: string) => warmed.get(`LbState.${m}`) ?? 0;
  console.log(
    `\nwarm-up (3 s at ${RATES[0]} req/s, first sight of the ${SESSIONS} sessions): ${affinity('affinityGet')} LbState.affinityGet, ${affinity('affinityPut')} LbState.affinityPut`,
  );
  console.log(`methods counted: ${counted}`);
  console.log(`client errors: ${phases.map((p) => `${p.errors} errors, ${p.non2xx} non-2xx, p99 ${p.p99} ms`).join('; ')}`);
  console.log(
    `isolates seen (entry and both Durable Object classes): ${isolates.size} (${[...isolates].join(', ')})${reinstanced ? '; a Durable Object instance was recreated during the run' : ''}`,
  );
  const bound = isolates.size * (1 + 2 * LB_IDS.length);
  console.log(
    `expected bound: isolates x (1 ConfigStore.snapshot + per load balancer 1 LbState.snapshot + 1 LbState.report) per second = ${isolates.size} x (1 + 2 x ${LB_IDS.length}) = ${bound}/s, plus affinityGet/affinityPut only for sessions new to an isolate (none after the warm-up)`,
  );
  // A window of T seconds can hold floor(T) + 1 calls of each kind (one at each edge).
  const over = phases.filter((p) => sum(p.perSecond, rpcOnly) > (bound * (p.seconds + 1)) / p.seconds);
  const worst = Math.max(...phases.map((p) => sum(p.perSecond, rpcOnly)));
  console.log(
    `flat: ${over.length ? 'NO' : 'yes'} (highest ${worst.toFixed(2)}/s against ${bound}/s, +1 call per kind for a window's edges; requests ${ratio((p) => p.achieved)} apart)`,
  );
  if (hi.achieved < 0.95 * hi.rate) console.log(`note: ${hi.rate} req/s was asked but ${hi.achieved.toFixed(0)} req/s reached`);
} finally {
  workerd.stop();
  origin.stop();
}
