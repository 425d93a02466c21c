/** Shared helpers of the benchmarks: processes, load runs, statistics. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';
import autocannon from 'autocannon';

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/**
 * Runs autocannon against `url` (with `host` as Host) for `seconds`; latencies in ms. `headers`
 * are sent with every request; a function gives each request its own (called per request).
 */
export async function load(
  url: string,
  host: string | undefined,
  seconds: number,
  connections: number,
  headers: Record<string, string> | (() => Record<string, string>) = {},
): Promise<LoadResult> {
  const fixed = { ...(host ? { host } : {}), ...(typeof headers === 'function' ? {} : headers) };
  const perRequest =
    typeof headers === 'function' ? [{ setupRequest: (r: { headers?: object }) => ({ ...r, headers: { ...r.headers, ...headers() } }) }] : undefined;
  const result = await autocannon({ url, duration: seconds, connections, pipelining: 1, headers: fixed, ...(perRequest ? { requests: perRequest } : {}) });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.timeouts, non2xx: result.non2xx };
}

/**
 * PUTs `document` as the load balancer's whole config through the admin API at `url` (bearer
 * `token`; `headers` added, e.g. a Host). Throws with the status and the answer when refused.
 */
export async function putConfig(url: string, token: string, document: object, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${url}/admin/v1/config`, {
    method: 'PUT',
    headers: { ...headers, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(document),
  });
  if (!res.ok) throw new Error(`PUT ${url}/admin/v1/config: ${res.status} ${await res.text()}`);
}

/** A browser's request fields beyond Host (Firefox's navigation request, with a cookie): 5 fields. */
export const BROWSER_HEADERS: Readonly<Record<string, string>> = {
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'accept-language': 'en-US,en;q=0.5',
  'accept-encoding': 'gzip, deflate, br, zstd',
  cookie: 'theme=dark; session=abc123',
};

/**
 * The benchmarks' pool origins: three entries (weights 1, 0.5, 0.5) on the one origin process at
 * `port`, so a load balancer does the selection work of a real pool with the same origin capacity
 * as the baselines.
 */
export function benchOrigins(port: number): { name: string; address: string; port: number; weight: number }[] {
  return ['a', 'b', 'c'].map((name, i) => ({ name, address: '127.0.0.1', port, weight: [1, 0.5, 0.5][i]! }));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Starts a benchmark origin process; resolves with its port and a stop function. */
export async function startOriginProcess(name: string, cpu?: number): Promise<{ port: number; child: ChildProcess; stop(): void }> {
  const args = ['bench/origin-process.ts', name];
  const child =
    cpu !== undefined && existsSync('/usr/bin/taskset')
      ? spawn('/usr/bin/taskset', ['-c', String(cpu), process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    child.once('exit', (code) => reject(new Error(`origin exited ${code}`)));
  });
  return { port, child, stop: () => child.kill('SIGTERM') };
}

/**
 * Bundles the Worker as `wrangler deploy` would (`--dry-run`) into `outdir` (created): wrangler.toml's
 * entry, or `entry` (another module with the same bindings, e.g. bench/dns-entry.ts). Throws with
 * wrangler's output when it fails.
 */
export function bundleWorker(outdir: string, entry?: string): void {
  mkdirSync(outdir, { recursive: true });
  const bin = join(process.cwd(), 'node_modules', '.bin');
  const build = spawnSync(join(bin, 'wrangler'), ['deploy', ...(entry ? [entry] : []), '--dry-run', '--outdir', outdir], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, WRANGLER_SEND_METRICS: 'false' },
  });
  if (build.status !== 0) throw new Error(`bundling failed:\n${build.stdout}${build.stderr}`);
  // wrangler names the bundle after its entry; bench/workerd.ts loads index.js.
  if (entry) renameSync(join(outdir, `${basename(entry).replace(/\.ts$/, '')}.js`), join(outdir, 'index.js'));
}

/** CPU time a process has used so far (ms: utime + stime of /proc/<pid>/stat, all threads, 10 ms ticks); NaN where /proc is absent. */
export function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // fields 14 and 15 of proc(5), USER_HZ 100
  } catch {
    return NaN;
  }
}

/** Resident set size of a process (kB: VmRSS of /proc/<pid>/status); NaN where /proc is absent or the process is gone. */
export function processRssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}
