/**
 * `node bench/runtime-ops.ts`: what single runtime operations of the forwarding path cost in
 * workerd, in µs each. A Worker runs one operation BENCH_ITERATIONS times, 5,000 per request. The
 * operations are a Request built from an init object or from the request, a Headers copy,
 * `forEach`, 14 `has` and `AbortSignal.timeout`. workerd's CPU time over those requests (all
 * threads, /proc schedstat, ns) is divided by the count. Operations alternate over BENCH_ROUNDS
 * rounds and the medians are printed. The request carries a browser's 7 header fields.
 * BENCHMARKS.md, "Counting instructions instead of time", uses these figures.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from '../scripts/lib/wrangler-dev.ts';
import { BROWSER_HEADERS, median } from './lib.ts';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const WORKER = `
const NAMES = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authorization', 'forwarded', 'x-real-ip', 'true-client-ip', 'x-forwarded-port', 'x-forwarded-for', 'proxy-authenticate'];
const TARGET = 'http://origin.invalid/';
const OPS = {
  'new Request(url, init)': (r) => new Request(TARGET, { method: 'GET', headers: r.headers, redirect: 'manual' }),
  'new Request(url, request)': (r) => new Request(TARGET, r),
  'new Headers(request.headers)': (r) => new Headers(r.headers),
  'forEach': (r) => { let n = 0; r.headers.forEach((v, k) => { n += k.length; }); return n; },
  '14 has': (r) => { let n = 0; for (const k of NAMES) if (r.headers.has(k)) n++; return n; },
  'AbortSignal.timeout': () => AbortSignal.timeout(30000),
};
export default {
  fetch(request) {
    const u = new URL(request.url);
    const op = OPS[u.searchParams.get('op')];
    if (!op) return new Response(JSON.stringify(Object.keys(OPS)));
    const n = Number(u.searchParams.get('n'));
    let keep = 0;
    for (let i = 0; i < n; i++) if (op(request)) keep++;
    return new Response(String(keep));
  },
};
`;

const dir = resolve('.bench', 'runtime-ops');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'ops.js'), WORKER);
const port = await freePort();
writeFileSync(
  join(dir, 'config.capnp'),
  `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "ops", worker = .ops)],
  sockets = [(name = "ops", address = "127.0.0.1:${port}", http = (), service = "ops")],
);
const ops :Workerd.Worker = (modules = [(name = "ops.js", esModule = embed "ops.js")], compatibilityDate = "2026-11-01");
`,
);
const bin = join('node_modules', '.bin', 'workerd');
const pinned = existsSync('/usr/bin/taskset');
if (pinned) spawnSync('/usr/bin/taskset', ['-pc', '0', String(process.pid)]);
const child = pinned
  ? spawn('/usr/bin/taskset', ['-c', '1', bin, 'serve', join(dir, 'config.capnp')], { stdio: 'inherit' })
  : spawn(bin, ['serve', join(dir, 'config.capnp')], { stdio: 'inherit' });

/** CPU time of every thread of `pid` so far (ns, /proc/<pid>/task/<tid>/schedstat). */
function cpuNs(pid: number): number {
  let sum = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) sum += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  return sum;
}
const url = `http://127.0.0.1:${port}/`;
try {
  let names: string[] = [];
  for (let i = 0; !names.length; i++) {
    try {
      names = (await (await fetch(url)).json()) as string[];
    } catch {
      if (i > 100) throw new Error('workerd did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // workerd's pid: under taskset, the child execs workerd in place.
  const pid = child.pid!;
  // In chunks: workerd allows a request 10,000 active timeouts (AbortSignal.timeout holds one each).
  const CHUNK = 5_000;
  const run = async (op: string, n: number) => {
    const before = cpuNs(pid);
    for (let done = 0; done < n; done += CHUNK) {
      const res = await fetch(`${url}?op=${encodeURIComponent(op)}&n=${CHUNK}`, { headers: BROWSER_HEADERS });
      const answer = await res.text();
      if (Number(answer) !== CHUNK) throw new Error(`${op}: the operation did not run ${CHUNK} times: ${answer.slice(0, 300)}`);
    }
    return (cpuNs(pid) - before) / 1000 / (Math.ceil(n / CHUNK) * CHUNK);
  };
  for (const op of names) await run(op, ITERATIONS / 4); // warm up (JIT)
  const us: Record<string, number[]> = Object.fromEntries(names.map((op) => [op, []]));
  for (let round = 0; round < ROUNDS; round++) for (const op of round % 2 ? [...names].reverse() : names) us[op]!.push(await run(op, ITERATIONS));
  console.log(`\n${ROUNDS} rounds × ${ITERATIONS} iterations, medians, workerd CPU per operation\n`);
  console.log('| operation | µs |');
  console.log('|---|---:|');
  for (const op of names) console.log(`| \`${op}\` | ${median(us[op]!).toFixed(2)} |`);
} finally {
  child.kill();
}
