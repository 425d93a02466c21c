/**
 * `node bench/heap.ts [dir]`: the traffic isolate's heap and garbage collection (issue #13). The
 * bundle in `dir`/lb (default: the current tree, bundled into .bench/heap/lb) runs in one plain
 * workerd (bench/workerd.ts) twice over: service "lb" takes the admin calls and hosts the Durable
 * Objects, service "edge" (trafficService) only serves load-balanced requests, as a traffic isolate
 * at the edge does. Per round (a fresh workerd each), through the inspector of "edge" (Chrome
 * DevTools Protocol, bench/profile.ts `inspect`):
 * - heap used after a full GC (`gc()` of --expose-gc, evaluated in the isolate: workerd never
 *   answers HeapProfiler.collectGarbage; then Runtime.getHeapUsage) at load, before any request,
 *   and after BENCH_REQUESTS proxied requests (default 10,000, 50 connections);
 * - V8's --trace-gc lines of that isolate during the requests: scavenges and mark-compacts per 10k
 *   requests, pause max and p99 (ms), heap after the last one of each kind (MB); each mark-compact's
 *   line (its reason: allocation failure, a task finishing incremental marking…) goes to stderr;
 * - in the first round, a heap snapshot at load: the top node groups by self size (objects by
 *   constructor, other node types by type) and how many closures each bundled module's code made
 *   (esbuild hoists top-level function declarations out of its lazy `__esm` wrappers, so a module
 *   whose body never ran still counts those; what it builds when it runs shows in the groups),
 *   found through the bundle's source map.
 * Environment: BENCH_ROUNDS (default 3), BENCH_REQUESTS, BENCH_TOP (rows, default 15).
 */
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { dirname, join, relative, resolve } from 'node:path';
import { bundleWorker, startOriginProcess, putConfig } from './lib.ts';
import { inspect, type Call } from './profile.ts';
import { isolateOf, parseGc, startGcTraced, type Gc } from './gc-trace.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 10_000);
const TOP = Number(process.env.BENCH_TOP ?? 15);
const TOKEN = 'bench-token';
const HOST = 'heap.bench';
const dir = process.argv[2] ?? join('.bench', 'heap');
if (!process.argv[2]) bundleWorker(join(dir, 'lb'));

/** Used heap (bytes) after a full collection (`gc()` of --expose-gc: workerd never answers HeapProfiler.collectGarbage). */
async function heapAfterGc(call: Call, contextId: number): Promise<number> {
  const r = await call<{ exceptionDetails?: unknown }>('Runtime.evaluate', { expression: 'gc()', contextId });
  if (r.exceptionDetails) throw new Error(`gc() failed: ${JSON.stringify(r)}`);
  return (await call<{ usedSize: number }>('Runtime.getHeapUsage')).usedSize;
}

/**
 * Bundled module of a position (0-based line and column) of index.js, through the source map
 * wrangler writes beside it (the bundle is minified: wrangler.toml). Packages are named once.
 */
function moduleOfPosition(mapFile: string): (line: number, column: number) => string {
  const map = new TraceMap(readFileSync(mapFile, 'utf8'));
  const base = dirname(mapFile);
  return (line, column) => {
    const source = originalPositionFor(map, { line: line + 1, column }).source;
    if (!source) return '(bundle prelude)';
    const path = relative(process.cwd(), resolve(base, source));
    const pkg = /(?:^|\/)node_modules\/(@[^/]+\/[^/]+|[^/]+)\//.exec(path);
    return pkg ? `${pkg[1]} (package)` : path;
  };
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; location_fields: string[] } };
  nodes: number[];
  strings: string[];
  locations: number[];
}

/** Top groups by self size, and closures per bundled module (script `scriptId` only). */
function summarize(s: Snapshot, scriptId: string, moduleOf: (line: number, column: number) => string) {
  const f = s.snapshot.meta.node_fields;
  const [T, N, S, width] = [f.indexOf('type'), f.indexOf('name'), f.indexOf('self_size'), f.length];
  const types = s.snapshot.meta.node_types[0];
  const groups = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + T]!]!;
    const key = type === 'object' ? s.strings[s.nodes[i + N]!]! : `(${type})`;
    const g = groups.get(key) ?? { bytes: 0, count: 0 };
    g.bytes += s.nodes[i + S]!;
    g.count++;
    groups.set(key, g);
  }
  const lf = s.snapshot.meta.location_fields;
  const [SCRIPT, LINE, COLUMN, lw] = [lf.indexOf('script_id'), lf.indexOf('line'), lf.indexOf('column'), lf.length];
  const modules = new Map<string, number>();
  for (let i = 0; i < s.locations.length; i += lw) {
    if (String(s.locations[i + SCRIPT]) !== scriptId) continue;
    const m = moduleOf(s.locations[i + LINE]!, s.locations[i + COLUMN]!);
    modules.set(m, (modules.get(m) ?? 0) + 1);
  }
  const total = [...groups.values()].reduce((a, g) => a + g.bytes, 0);
  return { total, groups: [...groups].sort((a, b) => b[1].bytes - a[1].bytes), modules: [...modules].sort((a, b) => b[1] - a[1]) };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : 0;
};
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(2);

const origin = await startOriginProcess('heap', 0);
const moduleOf = moduleOfPosition(join(dir, 'lb', 'index.js.map'));
const rows: { load: number; after: number; gc: Map<string, Gc[]>; requests: number }[] = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    const { w, lines, inspectorPort } = await startGcTraced(dir, { token: TOKEN, originPort: origin.port });
    try {
      await putConfig(w.lbUrl, TOKEN, {
        pools: [{ id: 'p', name: 'p', origins: [{ name: 'o', address: '127.0.0.1', port: origin.port }] }],
        load_balancers: [{ name: HOST, default_pools: ['p'], fallback_pool: 'p' }],
      });
      const scripts = new Map<string, string>();
      let contextId = 0;
      const chunks: string[] = [];
      const edge = await inspect(inspectorPort, 'edge', (method, p) => {
        if (method === 'Debugger.scriptParsed') scripts.set(String(p.url), String(p.scriptId));
        if (method === 'HeapProfiler.addHeapSnapshotChunk') chunks.push(String(p.chunk));
        else if (method === 'Runtime.executionContextCreated') contextId = (p.context as { id: number }).id;
      });
      await edge.call('Runtime.enable');
      await edge.call('Debugger.enable');
      const load = await heapAfterGc(edge.call, contextId);
      const isolate = await isolateOf(lines, () => heapAfterGc(edge.call, contextId));
      if (round === 0) {
        await edge.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
        const scriptId = [...scripts].find(([url]) => url.endsWith('index.js'))?.[1] ?? '';
        const s = summarize(JSON.parse(chunks.join('')) as Snapshot, scriptId, moduleOf);
        console.log(`\nHeap snapshot of "edge" at load: ${mb(s.total)} MB in nodes\n\n| group | MB | count |\n|---|---:|---:|`);
        for (const [k, g] of s.groups.slice(0, TOP)) console.log(`| ${k} | ${mb(g.bytes)} | ${g.count} |`);
        console.log(`\nClosures per bundled module (${s.modules.reduce((a, [, n]) => a + n, 0)} in index.js)\n\n| module | closures |\n|---|---:|`);
        for (const [m, n] of s.modules.slice(0, TOP)) console.log(`| ${m} | ${n} |`);
      }
      const from = lines.length;
      const r = await autocannon({ url: `${w.trafficUrl}/`, amount: REQUESTS, connections: 50, headers: { host: HOST } });
      if (r.errors || r.timeouts || r.non2xx) throw new Error(`${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx`);
      const during = lines
        .slice(from)
        .map(parseGc)
        .filter((g): g is Gc => g !== undefined && g.isolate === isolate);
      for (const l of lines.slice(from)) if (l.includes(isolate) && l.includes('Mark-Compact')) console.error(l.trim());
      const after = await heapAfterGc(edge.call, contextId);
      edge.close();
      const gc = new Map<string, Gc[]>();
      for (const g of during) gc.set(g.kind, [...(gc.get(g.kind) ?? []), g]);
      rows.push({ load, after, gc, requests: r.requests.total });
      console.error(
        `round ${round + 1}: isolate ${isolate}, heap at load ${mb(load)} MB, after ${r.requests.total} requests ${mb(after)} MB, ${during.length} GCs`,
      );
    } finally {
      w.stop();
    }
  }
} finally {
  origin.stop();
}

const spread = (xs: number[], fmt: (x: number) => string) => `${fmt(pct(xs, 50))} (${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))})`;
console.log(`\n${ROUNDS} rounds, median (min-max); "edge" isolate, ${REQUESTS} requests per round at 50 connections\n`);
console.log(
  `heap used after full GC, at load: ${spread(
    rows.map((r) => r.load),
    mb,
  )} MB`,
);
console.log(
  `heap used after full GC, after requests: ${spread(
    rows.map((r) => r.after),
    mb,
  )} MB`,
);
const kinds = [...new Set(rows.flatMap((r) => [...r.gc.keys()]))];
console.log('\n| GC | per 10k requests | pause max ms | pause p99 ms | heap after (last) MB |\n|---|---:|---:|---:|---:|');
for (const k of kinds) {
  const per = rows.map((r) => ((r.gc.get(k)?.length ?? 0) * 10_000) / r.requests);
  const max = rows.map((r) => Math.max(0, ...(r.gc.get(k) ?? []).map((g) => g.pauseMs)));
  const p99 = rows.map((r) =>
    pct(
      (r.gc.get(k) ?? []).map((g) => g.pauseMs),
      99,
    ),
  );
  const last = rows.map((r) => r.gc.get(k)?.at(-1)?.afterMb ?? NaN);
  const d1 = (x: number) => x.toFixed(1);
  console.log(`| ${k} | ${spread(per, d1)} | ${spread(max, (x) => x.toFixed(2))} | ${spread(p99, (x) => x.toFixed(2))} | ${spread(last, d1)} |`);
}
