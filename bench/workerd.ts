/**
 * Runs the load balancer bundle and the pass-through Worker in one plain `workerd serve` process
 * (no Miniflare or wrangler layers in between), each on its own loopback socket. Loopback
 * origins need the network service to allow "local".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from '../scripts/lib/wrangler-dev.ts';

export interface Workerd {
  lbUrl: string;
  passUrl: string;
  stop(): void;
  process: ChildProcess;
}

/**
 * The workerd `modules` list of a wrangler bundle in `dir`/lb: index.js and the Text modules of
 * wrangler.toml's [[rules]] (the dashboard's assets), which the bundle imports by file name.
 */
export function bundleModules(dir: string): string {
  const texts = readdirSync(join(dir, 'lb')).filter((f) => f !== 'index.js' && !f.endsWith('.map') && f !== 'README.md');
  return [`(name = "index.js", esModule = embed "lb/index.js")`, ...texts.map((f) => `(name = "${f}", text = embed "lb/${f}")`)].join(', ');
}

/** `dir` holds lb/index.js (the wrangler bundle); the config and DO storage are written there. */
export async function startWorkerd(
  dir: string,
  opts: { originHost: string; token: string; compatibilityDate: string; inspectorPort?: number; cpu?: number },
): Promise<Workerd> {
  const [lbPort, passPort] = [await freePort(), await freePort()];
  mkdirSync(join(dir, 'do'), { recursive: true });
  copyFileSync('bench/passthrough.js', join(dir, 'passthrough.js'));
  writeFileSync(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "lb", worker = .lb),
    (name = "pass", worker = .pass),
    (name = "net", network = (allow = ["public", "private", "local"])),
    (name = "do-disk", disk = (path = "${resolve(dir, 'do')}", writable = true)),
  ],
  sockets = [
    (name = "lb", address = "127.0.0.1:${lbPort}", http = (), service = "lb"),
    (name = "pass", address = "127.0.0.1:${passPort}", http = (), service = "pass"),
  ],
);

const lb :Workerd.Worker = (
  modules = [${bundleModules(dir)}],
  compatibilityDate = "${opts.compatibilityDate}",
  bindings = [
    (name = "ADMIN_TOKEN", text = "${opts.token}"),
    (name = "ADMIN_HOSTS", text = "127.0.0.1"),
    (name = "CONFIG_STORE", durableObjectNamespace = "ConfigStore"),
    (name = "LB_STATE", durableObjectNamespace = "LbState"),
  ],
  durableObjectNamespaces = [
    (className = "ConfigStore", uniqueKey = "edge-lb-bench-config", enableSql = true),
    (className = "LbState", uniqueKey = "edge-lb-bench-lb-state", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "do-disk"),
  globalOutbound = "net",
);

const pass :Workerd.Worker = (
  modules = [(name = "passthrough.js", esModule = embed "passthrough.js")],
  compatibilityDate = "${opts.compatibilityDate}",
  bindings = [(name = "ORIGIN", text = "${opts.originHost}")],
  globalOutbound = "net",
);
`,
  );
  const args = ['serve', join(dir, 'config.capnp')];
  if (opts.inspectorPort) args.push(`--inspector-addr=127.0.0.1:${opts.inspectorPort}`);
  // workerd gets CPU 1 to itself where taskset exists (the load generator and origin stay on
  // CPU 0), so its requests/s measure its own CPU cost per request, not scheduling luck.
  const bin = join('node_modules', '.bin', 'workerd');
  const pinned = opts.cpu !== undefined && existsSync('/usr/bin/taskset');
  const child = pinned
    ? spawn('/usr/bin/taskset', ['-c', String(opts.cpu), bin, ...args], { stdio: ['ignore', 'inherit', 'inherit'] })
    : spawn(bin, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const lbUrl = `http://127.0.0.1:${lbPort}`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`workerd exited ${child.exitCode}`);
    try {
      await fetch(`${lbUrl}/admin/v1/config`, { signal: AbortSignal.timeout(1000) });
      return { lbUrl, passUrl: `http://127.0.0.1:${passPort}`, process: child, stop: () => child.kill('SIGTERM') };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill('SIGKILL');
  throw new Error('workerd did not start in 20 s');
}
