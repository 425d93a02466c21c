/**
 * `node bench/instructions.ts [variant ...]`: machine instructions per request (callgrind's Ir) of
 * the load balancer and of the pass-through Worker, and where the difference goes, by runtime
 * function. Instruction counts do not drift with the VM's speed: the same requests give the same
 * counts within a few percent, where CPU time per request moves ±20-30% between rounds here
 * (BENCHMARKS.md, "Counting instructions instead of time").
 *
 * How: the bundle and the pass-through are served by one plain workerd (bench/workerd.ts), given
 * their config, then the same process config is started again under `valgrind --tool=callgrind`
 * (the Durable Objects' storage persists on disk). Each target gets BENCH_REQUESTS requests
 * twice to warm up, then, per round, its counters are zeroed, BENCH_REQUESTS requests are sent on
 * BENCH_CONNECTIONS connections, and the counts are dumped. Requests carry a browser's headers (a
 * user agent, Accept, Accept-Language, Accept-Encoding and a cookie; BENCH_HEADERS=none sends
 * autocannon's none).
 *
 * Two baselines run beside the variants: the pass-through (bench/passthrough.js) and the rewriting
 * floor (bench/floor.js: the header rewrite and per-try timeout of worker/proxy/forward.ts with no
 * load balancing), so a variant's cost splits into what the runtime charges any rewriting proxy
 * and what the load balancer adds to that.
 *
 * Variants: each argument names a bundle in .bench/instructions/<name>/ built from another tree
 * (`wrangler deploy --dry-run --outdir .bench/instructions/<name>`); `lb` is this tree, built here.
 * Compare variants with each other rather than read the pass-through ratio as exact: under
 * valgrind the process runs ~50× slower, so work on a timer (report flushes, health refreshes,
 * JIT compiles) is a ~50× larger share of each request than at full speed.
 *
 * Needs valgrind (apt-get install valgrind). Environment: BENCH_REQUESTS (default 600),
 * BENCH_ROUNDS (default 3), BENCH_CONNECTIONS (default 1), BENCH_HEADERS, BENCH_TOP (rows of the
 * by-function table, default 25).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { join, resolve } from 'node:path';
import { benchOrigins, BROWSER_HEADERS, bundleWorker, median, putConfig, startOriginProcess } from './lib.ts';
import { startWorkerd } from './workerd.ts';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 600);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 1);
const TOP = Number(process.env.BENCH_TOP ?? 25);
const HEADERS: Readonly<Record<string, string>> = process.env.BENCH_HEADERS === 'none' ? {} : BROWSER_HEADERS;
const LB_HOST = 'app.bench';
const TOKEN = 'bench-token';
const WORKERD = join('node_modules', '@cloudflare', 'workerd-linux-64', 'bin', 'workerd');

if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.error('bench/instructions.ts needs valgrind: apt-get install valgrind');
  process.exit(1);
}
const variants = process.argv.length > 2 ? process.argv.slice(2) : ['lb'];
const dir = resolve('.bench', 'instructions');
if (variants.includes('lb')) bundleWorker(join(dir, 'lb'));
for (const v of variants) if (!existsSync(join(dir, v, 'index.js'))) throw new Error(`no bundle at ${join(dir, v)}`);

// Configure every variant at full speed, then serve the same config under callgrind.
const origin = await startOriginProcess('bench-origin');
rmSync(join(dir, 'do'), { recursive: true, force: true });
const setup = await startWorkerd(dir, {
  originHost: `127.0.0.1:${origin.port}`,
  token: TOKEN,
  compatibilityDate: '2026-11-01',
  alternates: variants.filter((v) => v !== 'lb'),
  floor: true,
});
const urls: Record<string, string> = { 'pass-through': setup.passUrl, floor: setup.floorUrl!, lb: setup.lbUrl, ...setup.alternateUrls };
for (const v of variants) {
  await putConfig(urls[v]!, TOKEN, {
    pools: [{ id: 'p', name: 'p', origins: benchOrigins(origin.port) }],
    load_balancers: [{ name: LB_HOST, default_pools: ['p'], fallback_pool: 'p' }],
  });
}
setup.stop();
await new Promise((r) => setup.process.once('exit', r));

const out = join(dir, 'callgrind');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const vg = spawn(
  'valgrind',
  ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${out}/dump`, WORKERD, 'serve', join(dir, 'config.capnp')],
  {
    stdio: ['ignore', 'ignore', 'pipe'],
  },
);
let vgLog = '';
vg.stderr!.on('data', (d: Buffer) => (vgLog = (vgLog + String(d)).slice(-4000)));
const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });

/** One GET; a keep-alive connection the server closed meanwhile is retried once on a new one. */
async function get(target: string): Promise<number> {
  try {
    return await getOnce(target);
  } catch {
    return getOnce(target);
  }
}
function getOnce(target: string): Promise<number> {
  const u = new URL(urls[target]!);
  const headers = target === 'pass-through' || target === 'floor' ? HEADERS : { ...HEADERS, host: LB_HOST };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: '/', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
}
async function send(target: string, n: number): Promise<void> {
  let left = n;
  let failed = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (left-- > 0) if ((await get(target)) !== 200) failed++;
    }),
  );
  if (failed) throw new Error(`${target}: ${failed} of ${n} requests did not answer 200`);
}

/** callgrind_control on the valgrind'd workerd: -z zeroes the counters, -d dumps them. */
const control = (flag: string) => {
  const r = spawnSync('callgrind_control', [flag, String(vg.pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`callgrind_control ${flag}: ${r.stderr}`);
};
/** Inclusive Ir per function name in dump `n` (callgrind_annotate's table). */
function inclusive(n: number): Map<string, number> {
  const text = spawnSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', `${out}/dump.${n}`], { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout;
  const costs = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*([\d,]+) \([^)]*\)\s+(?:\?\?\?|[^:]*):(.*?)(?: \[[^\]]*\])?$/.exec(line);
    if (m) costs.set(m[2]!, (costs.get(m[2]!) ?? 0) + Number(m[1]!.replaceAll(',', '')));
  }
  return costs;
}
/** All Ir in dump `n` (its `summary:` line). */
const total = (n: number) => Number(/^summary: (\d+)/m.exec(readFileSync(`${out}/dump.${n}`, 'utf8'))?.[1]);

try {
  for (let i = 0; ; i++) {
    try {
      await get('pass-through');
      break;
    } catch {
      if (vg.exitCode !== null || i > 600) throw new Error(`workerd under valgrind did not start:\n${vgLog}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const targets = ['pass-through', 'floor', ...variants];
  for (const t of targets) await send(t, REQUESTS * 2);
  let dumps = 0;
  const perRequest: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t, []]));
  const lastDump: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of round % 2 ? [...targets].reverse() : targets) {
      control('-z');
      await send(t, REQUESTS);
      control('-d');
      lastDump[t] = ++dumps;
      perRequest[t]!.push(total(dumps) / REQUESTS);
    }
    console.error(`round ${round + 1}: ${targets.map((t) => `${t} ${(perRequest[t]!.at(-1)! / 1000).toFixed(0)}k`).join(', ')}`);
  }
  const k = (x: number) => `${(x / 1000).toFixed(1)}k`;
  const base = median(perRequest['pass-through']!);
  const floor = median(perRequest.floor!);
  console.log(
    `\nInstructions per request (callgrind Ir), ${ROUNDS} rounds × ${REQUESTS} requests, ${CONNECTIONS} connection(s), headers: ${process.env.BENCH_HEADERS === 'none' ? 'none' : "a browser's"}\n`,
  );
  console.log('| target | Ir per request (median) | per round | vs pass-through | vs floor |');
  console.log('|---|---:|---|---:|---:|');
  for (const t of targets) {
    const m = median(perRequest[t]!);
    console.log(`| ${t} | ${k(m)} | ${perRequest[t]!.map(k).join(', ')} | ${(m / base).toFixed(3)} | ${(m / floor).toFixed(3)} |`);
  }
  // Where the difference goes: runtime functions by inclusive Ir, this variant's last dump against the pass-through's.
  const pass = inclusive(lastDump['pass-through']!);
  for (const v of variants) {
    const mine = inclusive(lastDump[v]!);
    const rows = [...mine.keys()]
      .filter(
        (name) =>
          /workerd::api::|workerd::jsg::|AbortSignal|Heap::CollectGarbage|JsRpc|Compil/.test(name) && !/runInV8Stack|runMicrotasks|IoContext::run/.test(name),
      )
      .map((name) => ({ name, mine: mine.get(name)! / REQUESTS, pass: (pass.get(name) ?? 0) / REQUESTS }))
      .sort((a, b) => b.mine - b.pass - (a.mine - a.pass))
      .slice(0, TOP);
    console.log(`\n${v}: runtime functions by inclusive Ir per request over the pass-through's (last round)\n`);
    console.log('| extra | this | pass-through | function |');
    console.log('|---:|---:|---:|---|');
    for (const r of rows) console.log(`| ${k(r.mine - r.pass)} | ${k(r.mine)} | ${k(r.pass)} | \`${r.name.slice(0, 110).replaceAll('|', '\\|')}\` |`);
  }
} finally {
  vg.kill('SIGKILL');
  origin.stop();
  agent.destroy();
}
