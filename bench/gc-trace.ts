/**
 * A workerd whose V8 prints its collections (`--trace-gc`), with the load balancer bundle also
 * served as the traffic-only service "edge" (bench/workerd.ts `trafficService`) and an inspector:
 * what bench/gc.ts and bench/heap.ts read the traffic isolate's collections from. `--expose-gc`
 * lets a bench ask for a full collection (`gc()` through the inspector: workerd never answers
 * HeapProfiler.collectGarbage), which is also how an isolate's address in the trace is found.
 */
import { freePort } from '../scripts/lib/wrangler-dev.ts';
import { startWorkerd, stdoutLines, type Workerd } from './workerd.ts';

/** One collection as --trace-gc prints it. */
export interface Gc {
  /** The isolate's address (`0x…`): one workerd prints every isolate's collections. */
  isolate: string;
  /** `Scavenge`, `Mark-Compact`, … (a parenthesised qualifier such as "(reduce)" dropped). */
  kind: string;
  pauseMs: number;
  /** Heap size (MB) when it started and when it ended. */
  beforeMb: number;
  afterMb: number;
}

/** One --trace-gc line: `[pid:0xISOLATE:thread] T ms: Scavenge 3.1 (4.5) -> 2.3 (5.5) MB, [pooled: x MB, ]pause / ext ms ...`; undefined for any other line. */
export function parseGc(line: string): Gc | undefined {
  const m =
    /^\[\d+:(0x[0-9a-f]+)(?::\d+)?\]\s+\d+ ms: ([A-Za-z -]+?)(?: \([a-z ]+\))? ([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB,(?: pooled: [\d.]+ MB,)? ([\d.]+) \/ [\d.]+ ms/.exec(
      line,
    );
  return m ? { isolate: m[1]!, kind: m[2]!, beforeMb: Number(m[3]), afterMb: Number(m[4]), pauseMs: Number(m[5]) } : undefined;
}

export interface TracedWorkerd {
  w: Workerd;
  /** workerd's stdout lines so far (the trace), growing as they arrive. */
  lines: string[];
  inspectorPort: number;
}

/**
 * Starts workerd on `dir` (bench/workerd.ts layout) on CPU 1 with GC tracing, the traffic-only
 * service and an inspector; `baseline` swaps the pass-through Worker (bench/workerd.ts).
 */
export async function startGcTraced(dir: string, opts: { token: string; originPort: number; baseline?: string | undefined }): Promise<TracedWorkerd> {
  const inspectorPort = await freePort();
  const w = await startWorkerd(dir, {
    baseline: opts.baseline,
    token: opts.token,
    compatibilityDate: '2026-11-01',
    originHost: `127.0.0.1:${opts.originPort}`,
    inspectorPort,
    cpu: 1,
    trafficService: true,
    v8Flags: ['--trace-gc', '--expose-gc'],
    stdout: 'pipe',
  });
  return { w, lines: stdoutLines(w), inspectorPort };
}

/**
 * The trace address of the isolate in which `collect` asks for a full collection (`gc()` evaluated
 * there): the collection V8 marks "testing" among the lines printed after the call. Throws when
 * none appears within 200 ms.
 */
export async function isolateOf(lines: string[], collect: () => Promise<unknown>): Promise<string> {
  const from = lines.length;
  await collect();
  await new Promise((r) => setTimeout(r, 200));
  const isolate = lines
    .slice(from)
    .filter((l) => l.includes('testing'))
    .map(parseGc)
    .find((g) => g)?.isolate;
  if (!isolate) throw new Error(`no --trace-gc line of the requested gc(): ${lines.slice(from).join('\n')}`);
  return isolate;
}
