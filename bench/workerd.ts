/**
 * Runs the load balancer bundle and the pass-through Worker (and, when asked, the rewriting floor)
 * in one plain `workerd serve` process (no Miniflare or wrangler layers in between), each on its
 * own loopback socket. Loopback origins need the network service to allow "local".
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { freePort } from '../scripts/lib/wrangler-dev.ts';

export interface Workerd {
  lbUrl: string;
  passUrl: string;
  /** With WorkerdOptions.floor: the address of bench/floor.js. */
  floorUrl?: string;
  /** The address of each alternate bundle (WorkerdOptions.alternates), by name. */
  alternateUrls: Record<string, string>;
  /** With WorkerdOptions.trafficService: the address of the traffic-only isolate. */
  trafficUrl?: string;
  stop(): void;
  process: ChildProcess;
}

/**
 * The workerd `modules` list of a wrangler bundle in `dir`/lb: index.js and the Text modules of
 * wrangler.toml's [[rules]] (the dashboard's assets), which the bundle imports by file name.
 */
export function bundleModules(dir: string, sub = 'lb'): string {
  const texts = readdirSync(join(dir, sub)).filter((f) => f !== 'index.js' && !f.endsWith('.map') && f !== 'README.md');
  return [`(name = "index.js", esModule = embed "${sub}/index.js")`, ...texts.map((f) => `(name = "${f}", text = embed "${sub}/${f}")`)].join(', ');
}

/** Durable Object classes the bundle may export, and the binding each is reached by. */
const DO_BINDINGS: Readonly<Record<string, string>> = { ConfigStore: 'CONFIG_STORE', LbState: 'LB_STATE', DnsZoneWriter: 'DNS_ZONE' };

export interface WorkerdOptions {
  token: string;
  compatibilityDate: string;
  /** The baseline Worker beside the load balancer: bench/passthrough.js (default, forwarding to `originHost`) or another module's path. */
  baseline?: string;
  /** Host the pass-through (and the floor) forwards to (its ORIGIN binding). */
  originHost?: string;
  /**
   * Also serve bench/floor.js, the rewriting floor, as the pass-through is: a plain Worker with
   * the ORIGIN binding, at `floorUrl`.
   */
  floor?: boolean;
  /** More text bindings of the load balancer (ADMIN_TOKEN and ADMIN_HOSTS=127.0.0.1 are always set). */
  vars?: Record<string, string>;
  inspectorPort?: number;
  cpu?: number;
  /**
   * Further load balancer bundles in `dir`/<name>/ (e.g. built with other --define flags), each
   * served by the same process on its own socket with its own Durable Objects and the same vars:
   * variants compared in one process share its CPU, heap limits and scheduling (bench/metrics.ts).
   */
  alternates?: string[];
  /** V8 flags of the whole process (workerd.capnp Config.v8Flags), e.g. --trace-gc. */
  v8Flags?: string[];
  /** 'pipe': workerd's stdout (where V8's --trace-gc prints) is read from `process.stdout`; default inherited. */
  stdout?: 'inherit' | 'pipe';
  /**
   * Also serve the lb bundle as service "edge" (its own isolate, inspector target "edge"), whose
   * Durable Object bindings reach the classes of service "lb": an isolate that runs only the
   * fetch handler, as a traffic isolate at the edge does, while admin calls and the Durable
   * Objects run in "lb". Its address is `trafficUrl`.
   */
  trafficService?: boolean;
}

/**
 * `dir` holds lb/ (a wrangler bundle: index.js and its text modules); the config and Durable
 * Object storage are written there. Every Durable Object class the bundle exports is bound.
 * `passUrl` is the baseline Worker's address.
 */
export async function startWorkerd(dir: string, opts: WorkerdOptions): Promise<Workerd> {
  const [lbPort, passPort] = [await freePort(), await freePort()];
  const floorPort = opts.floor ? await freePort() : undefined;
  mkdirSync(join(dir, 'do'), { recursive: true });
  const baseline = basename(opts.baseline ?? 'passthrough.js');
  const source = opts.baseline ?? 'bench/passthrough.js';
  if (resolve(source) !== resolve(dir, baseline)) copyFileSync(source, join(dir, baseline));
  if (floorPort) copyFileSync('bench/floor.js', join(dir, 'floor.js'));
  const main = readFileSync(join(dir, 'lb', 'index.js'), 'utf8');
  const exported = main.slice(Math.max(main.lastIndexOf('export {'), main.lastIndexOf('export{'))); // minified or not
  const classes = Object.keys(DO_BINDINGS).filter((c) => new RegExp(`\\b${c}\\b`).test(exported));
  const vars = { ADMIN_TOKEN: opts.token, ADMIN_HOSTS: '127.0.0.1', ...opts.vars };
  const alternates: { name: string; port: number }[] = [];
  for (const name of opts.alternates ?? []) alternates.push({ name, port: await freePort() });
  const edgePort = opts.trafficService ? await freePort() : undefined;
  const plainWorker = (module: string) => `(
  modules = [(name = "${module}", esModule = embed "${module}")],
  compatibilityDate = "${opts.compatibilityDate}",
  bindings = [(name = "ORIGIN", text = "${opts.originHost ?? ''}")],
  globalOutbound = "net",
)`;
  const edgeWorker = `(
  modules = [${bundleModules(dir, 'lb')}],
  compatibilityDate = "${opts.compatibilityDate}",
  bindings = [
    ${[
      ...Object.entries(vars).map(([k, v]) => `(name = "${k}", text = "${v}")`),
      ...classes.map((c) => `(name = "${DO_BINDINGS[c]}", durableObjectNamespace = (className = "${c}", serviceName = "lb"))`),
    ].join(',\n    ')},
  ],
  globalOutbound = "net",
)`;
  const lbWorker = (sub: string, key: string) => `(
  modules = [${bundleModules(dir, sub)}],
  compatibilityDate = "${opts.compatibilityDate}",
  bindings = [
    ${[
      ...Object.entries(vars).map(([k, v]) => `(name = "${k}", text = "${v}")`),
      ...classes.map((c) => `(name = "${DO_BINDINGS[c]}", durableObjectNamespace = "${c}")`),
    ].join(',\n    ')},
  ],
  durableObjectNamespaces = [${classes.map((c) => `(className = "${c}", uniqueKey = "${key}-${c}", enableSql = true)`).join(', ')}],
  durableObjectStorage = (localDisk = "do-disk"),
  globalOutbound = "net",
)`;
  writeFileSync(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  ${opts.v8Flags?.length ? `v8Flags = [${opts.v8Flags.map((f) => JSON.stringify(f)).join(', ')}],` : ''}
  services = [
    (name = "lb", worker = .lb),
    ${edgePort ? '(name = "edge", worker = .edge),' : ''}
    ${alternates.map((a) => `(name = "alt-${a.name}", worker = .alt${alternates.indexOf(a)}),`).join('\n    ')}
    (name = "pass", worker = .pass),
    ${floorPort ? '(name = "floor", worker = .floor),' : ''}
    (name = "net", network = (allow = ["public", "private", "local"])),
    (name = "do-disk", disk = (path = "${resolve(dir, 'do')}", writable = true)),
  ],
  sockets = [
    (name = "lb", address = "127.0.0.1:${lbPort}", http = (), service = "lb"),
    (name = "pass", address = "127.0.0.1:${passPort}", http = (), service = "pass"),
    ${floorPort ? `(name = "floor", address = "127.0.0.1:${floorPort}", http = (), service = "floor"),` : ''}
    ${edgePort ? `(name = "edge", address = "127.0.0.1:${edgePort}", http = (), service = "edge"),` : ''}
    ${alternates.map((a) => `(name = "alt-${a.name}", address = "127.0.0.1:${a.port}", http = (), service = "alt-${a.name}"),`).join('\n    ')}
  ],
);

const lb :Workerd.Worker = ${lbWorker('lb', 'edge-lb-bench')};
${alternates.map((a, i) => `const alt${i} :Workerd.Worker = ${lbWorker(a.name, `edge-lb-bench-${a.name}`)};`).join('\n')}
${edgePort ? `const edge :Workerd.Worker = ${edgeWorker};` : ''}

const pass :Workerd.Worker = ${plainWorker(baseline)};
${floorPort ? `const floor :Workerd.Worker = ${plainWorker('floor.js')};` : ''}
`,
  );
  const args = ['serve', join(dir, 'config.capnp')];
  if (opts.inspectorPort) args.push(`--inspector-addr=127.0.0.1:${opts.inspectorPort}`);
  // workerd gets CPU 1 to itself where taskset exists (the load generator and origin stay on
  // CPU 0), so its requests/s measure its own CPU cost per request, not scheduling luck.
  const bin = join('node_modules', '.bin', 'workerd');
  const pinned = opts.cpu !== undefined && existsSync('/usr/bin/taskset');
  const stdio: StdioOptions = ['ignore', opts.stdout ?? 'inherit', 'inherit'];
  // V8 prints --trace-gc with stdio's printf: a pipe would hold it in 4 KB blocks; stdbuf makes it a line at a time.
  const cmd = opts.stdout === 'pipe' && existsSync('/usr/bin/stdbuf') ? ['/usr/bin/stdbuf', '-oL', bin, ...args] : [bin, ...args];
  const child = pinned ? spawn('/usr/bin/taskset', ['-c', String(opts.cpu), ...cmd], { stdio }) : spawn(cmd[0]!, cmd.slice(1), { stdio });
  const lbUrl = `http://127.0.0.1:${lbPort}`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`workerd exited ${child.exitCode}`);
    try {
      await fetch(`${lbUrl}/admin/v1/config`, { signal: AbortSignal.timeout(1000) });
      const alternateUrls = Object.fromEntries(alternates.map((a) => [a.name, `http://127.0.0.1:${a.port}`]));
      const trafficUrl = edgePort ? `http://127.0.0.1:${edgePort}` : undefined;
      const floorUrl = floorPort ? `http://127.0.0.1:${floorPort}` : undefined;
      return { lbUrl, passUrl: `http://127.0.0.1:${passPort}`, floorUrl, alternateUrls, trafficUrl, process: child, stop: () => child.kill('SIGTERM') };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill('SIGKILL');
  throw new Error('workerd did not start in 20 s');
}

/**
 * The lines workerd prints on stdout (started with `stdout: 'pipe'`), kept as they arrive: V8's
 * --trace-gc lines of every isolate, each prefixed `[pid:0xISOLATE:thread]`.
 */
export function stdoutLines(w: Workerd): string[] {
  const lines: string[] = [];
  let partial = '';
  w.process.stdout!.on('data', (d: Buffer) => {
    const parts = (partial + String(d)).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  return lines;
}
