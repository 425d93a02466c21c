/**
 * Runs the real Worker under `wrangler dev` as a child process and waits until it serves.
 * Used by `npm start` and by the end-to-end tests; stop() ends only the process it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface WranglerDevOptions {
  /** Port to listen on (127.0.0.1); 0 = a free one. */
  port?: number;
  /** Directory for Durable Object state (`--persist-to`); default wrangler's .wrangler/state. */
  persistTo?: string;
  /** Extra `--var NAME:VALUE` bindings (override wrangler.toml and .dev.vars). */
  vars?: Record<string, string>;
  /** Extra arguments for wrangler dev. */
  args?: string[];
  /** Project root; default the current directory. */
  cwd?: string;
  /** Print wrangler's output. */
  inheritOutput?: boolean;
  /** Serve HTTPS (`--local-protocol https`, wrangler's self-signed certificate): `url` is then https://. Default false. */
  https?: boolean;
}

export interface WranglerDev {
  url: string;
  port: number;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export async function startWranglerDev(options: WranglerDevOptions = {}): Promise<WranglerDev> {
  const cwd = options.cwd ?? process.cwd();
  const port = options.port || (await freePort());
  const args = ['dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(await freePort()), '--show-interactive-dev-session=false'];
  if (options.persistTo) args.push('--persist-to', options.persistTo);
  for (const [k, v] of Object.entries(options.vars ?? {})) args.push('--var', `${k}:${v}`);
  if (options.https) args.push('--local-protocol', 'https');
  args.push(...(options.args ?? []));
  const bin = join(cwd, 'node_modules', '.bin');
  const child = spawn(join(bin, 'wrangler'), args, {
    cwd,
    env: {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      WRANGLER_SEND_METRICS: 'false',
      NO_COLOR: '1',
      CI: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let log = '';
  const collect = (chunk: Buffer) => {
    log += chunk.toString();
    if (options.inheritOutput) process.stdout.write(chunk);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const url = `${options.https ? 'https' : 'http'}://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`wrangler dev exited (${code}):\n${log}`))));
  const ready = (async () => {
    for (let i = 0; i < 600; i++) {
      if (/Ready on/.test(log)) {
        try {
          await (options.https ? probeInsecure(`${url}/`) : fetch(`${url}/`, { headers: { host: 'readiness.invalid' }, signal: AbortSignal.timeout(2000) }));
          return;
        } catch {
          /* not yet */
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`wrangler dev did not become ready in 60 s:\n${log}`);
  })();
  try {
    await Promise.race([ready, exited]);
  } catch (e) {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* gone */
    }
    throw e;
  }
  return {
    url,
    port,
    process: child,
    output: () => log,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        try {
          process.kill(-child.pid!, 'SIGTERM');
        } catch {
          resolve();
        }
        setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            /* gone */
          }
        }, 5000).unref();
      }),
  };
}

/** One GET over HTTPS that accepts wrangler's self-signed certificate; resolves on any answer. */
function probeInsecure(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { headers: { host: 'readiness.invalid' }, rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
