/**
 * `node bench/gc.ts`: the garbage collector of the traffic isolate against the pass-through's, side
 * by side in one workerd (issue #13). Service "edge" serves the load balancer bundle as a traffic
 * isolate (bench/workerd.ts `trafficService`), service "pass" the baseline Worker; both run with
 * V8's `--trace-gc`. Each round sends BENCH_REQUESTS requests at 50 connections to each (closed
 * loop) and prints req/s, p99, p99.9 and, from the trace lines of that isolate alone, the
 * scavenges and mark-compacts: how many, their summed and longest pause (ms), and the heap size
 * (MB) each mark-compact started from.
 *
 * `BENCH_BASELINE=bench/passthrough-ballast.js` swaps in the pass-through holding ~6 MB of live
 * objects: with it the baseline's mark-compacts and p99 became the load balancer's (BENCHMARKS.md,
 * "The tail is the heap's size"). Environment: BENCH_REQUESTS (default 20,000), BENCH_ROUNDS
 * (default 2), BENCH_BASELINE.
 */
import autocannon from 'autocannon';
import { join } from 'node:path';
import { bundleWorker, startOriginProcess, putConfig } from './lib.ts';
import { inspect } from './profile.ts';
import { isolateOf, parseGc, startGcTraced, type Gc } from './gc-trace.ts';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const TOKEN = 'bench-token';
const HOST = 'gc.bench';
const dir = join('.bench', 'gc');
bundleWorker(join(dir, 'lb'));

const origin = await startOriginProcess('gc', 0);
const { w, lines, inspectorPort } = await startGcTraced(dir, { token: TOKEN, originPort: origin.port, baseline: process.env.BENCH_BASELINE });

/** The trace address of workerd service `name`'s isolate (gc-trace.ts `isolateOf`, through its inspector). */
async function isolateOfService(name: string): Promise<string> {
  let context = 0;
  const s = await inspect(inspectorPort, name, (method, p) => {
    if (method === 'Runtime.executionContextCreated') context = (p.context as { id: number }).id;
  });
  await s.call('Runtime.enable');
  try {
    return await isolateOf(lines, () => s.call('Runtime.evaluate', { expression: 'gc()', contextId: context }));
  } finally {
    s.close();
  }
}

try {
  await putConfig(w.lbUrl, TOKEN, {
    pools: [{ id: 'p', name: 'p', origins: [{ name: 'o', address: '127.0.0.1', port: origin.port }] }],
    load_balancers: [{ name: HOST, default_pools: ['p'], fallback_pool: 'p' }],
  });
  const targets = [
    ['load balancer', 'edge', w.trafficUrl!],
    ['pass-through', 'pass', w.passUrl],
  ] as const;
  console.log(`\n${REQUESTS} requests per target and round, 50 connections${process.env.BENCH_BASELINE ? `; baseline ${process.env.BENCH_BASELINE}` : ''}\n`);
  console.log('| round | target | req/s | p99 ms | p99.9 ms | scavenges (sum, max ms) | mark-compacts (sum, max ms) | mark-compacts started at MB |');
  console.log('|---|---|---:|---:|---:|---:|---:|---|');
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [label, service, url] of targets) {
      await autocannon({ url: `${url}/`, amount: 2_000, connections: 50, headers: { host: HOST } }); // warm-up
      const isolate = await isolateOfService(service);
      const from = lines.length;
      const r = await autocannon({ url: `${url}/`, amount: REQUESTS, connections: 50, headers: { host: HOST } });
      if (r.errors || r.non2xx) throw new Error(`${label}: ${r.errors} errors, ${r.non2xx} non-2xx`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const kinds = new Map<string, Gc[]>();
      for (const l of lines.slice(from)) {
        const g = parseGc(l);
        if (g?.isolate === isolate) kinds.set(g.kind, [...(kinds.get(g.kind) ?? []), g]);
      }
      const cell = (kind: string) => {
        const gcs = kinds.get(kind) ?? [];
        return `${gcs.length} (${gcs.reduce((a, g) => a + g.pauseMs, 0).toFixed(0)}, ${Math.max(0, ...gcs.map((g) => g.pauseMs)).toFixed(1)})`;
      };
      const starts = (kinds.get('Mark-Compact') ?? []).map((g) => g.beforeMb.toFixed(1)).join(', ');
      console.log(
        `| ${round} | ${label} | ${r.requests.average.toFixed(0)} | ${r.latency.p99} | ${r.latency.p99_9} | ${cell('Scavenge')} | ${cell('Mark-Compact')} | ${starts} |`,
      );
    }
  }
} finally {
  w.stop();
  origin.stop();
}
