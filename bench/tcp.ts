/**
 * TCP mode against HAProxy `mode tcp` (Debian's haproxy, one thread: the proxy is one Node event
 * loop), one run each, on one loopback origin (its own process): bulk upload MB/s with 1 and 50
 * streams, new connections per second (50 at a time) with the connection round trip's p99, and
 * memory per idle connection (RSS growth of the proxy process over IDLE_CONNECTIONS idle
 * connections, on a fresh process of its own).
 *
 *   node bench/tcp.ts            (needs `haproxy` on PATH: apt-get install haproxy)
 *   BENCH_TCP_PROXY=/path/to/tcp-proxy/src/main.ts node bench/tcp.ts   (another build of the proxy, for before/after)
 *
 * The client, the origin and the proxy share this machine's cores, so connections per second is
 * also limited by the client: `conn_per_cpu_s` (connections per CPU-second the proxy process
 * used in that phase, user + system, from /proc) is what one core given to the proxy would
 * sustain, and is the fairer comparison on a shared machine.
 *
 * Our proxy starts from a saved state (no admin API), as after a restart with the admin API down.
 * Its one log line per connection goes to /dev/null: part of the cost, as in production.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../scripts/lib/wrangler-dev.ts';
import { writeSavedState } from '../tcp-proxy/test/saved-state.ts';
import { processCpuMs, processRssKb } from './lib.ts';

const MB = 1024 * 1024;
/** Idle connections held for the memory figure (the proxy holds two sockets each; the file limit here is 20,000). */
const IDLE_CONNECTIONS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The origin (`node bench/tcp.ts origin PORT`): reads until the client's FIN, then answers "done" and closes. */
function origin(port: number): void {
  createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', () => undefined)
      .on('end', () => s.end('done'))
      .on('error', () => undefined);
  }).listen(port, '127.0.0.1');
}

/** Waits until something accepts connections on `port`. */
async function listening(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect({ port, host: '127.0.0.1' }, () => (s.destroy(), r(true))).once('error', () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${port}`);
}

/** One connection: sends `bytes`, half-closes, waits for the origin's "done"; resolves with the elapsed ms. */
function roundTrip(port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
    const chunk = Buffer.alloc(Math.min(bytes, MB));
    let left = bytes;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void s.once('drain', pump);
      }
      s.end();
    };
    let got = '';
    s.once('connect', pump)
      .on('data', (d) => (got += d.toString()))
      .once('end', () => (s.destroy(), got === 'done' ? resolve(performance.now() - t0) : reject(new Error(`answer "${got}"`))))
      .once('error', reject);
  });
}

async function bulk(port: number, streams: number, perStream: number): Promise<number> {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: streams }, () => roundTrip(port, perStream)));
  return (streams * perStream) / MB / ((performance.now() - t0) / 1000);
}

const cpuSeconds = (pid: number) => processCpuMs(pid) / 1000;

async function connections(port: number, pid: number, seconds: number, concurrency: number) {
  const times: number[] = [];
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) times.push(await roundTrip(port, 1));
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - cpu0;
  times.sort((a, b) => a - b);
  return { perSecond: times.length / wall, perCpuSecond: times.length / cpu, p99: times[Math.floor(times.length * 0.99)]! };
}

async function idleMemory(port: number, pid: number, count: number): Promise<number> {
  const before = processRssKb(pid);
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i++) {
    sockets.push(
      await new Promise<Socket>((resolve, reject) =>
        connect({ port, host: '127.0.0.1' })
          .once('connect', function (this: Socket) {
            resolve(this);
          })
          .once('error', reject),
      ),
    );
  }
  await sleep(1500);
  const after = processRssKb(pid);
  for (const s of sockets) s.destroy();
  return ((after - before) * 1024) / count;
}

/**
 * Idle memory on one fresh process (its RSS does not shrink afterwards, and the heap the idle
 * connections grew would weigh on what follows), then bulk and connections on another.
 */
async function measure(name: string, port: number, launch: () => ChildProcess) {
  const stop = async (c: ChildProcess) => {
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  let proxy = launch();
  await listening(port);
  const idle = await idleMemory(port, proxy.pid!, IDLE_CONNECTIONS);
  await stop(proxy);
  proxy = launch();
  await listening(port);
  await bulk(port, 4, 16 * MB); // warm-up
  const single = await bulk(port, 1, 512 * MB);
  const fifty = await bulk(port, 50, 20 * MB);
  const conns = await connections(port, proxy.pid!, 5, 50);
  await stop(proxy);
  const row = {
    name,
    bulk_1_MBps: Math.round(single),
    bulk_50_MBps: Math.round(fifty),
    conn_per_s: Math.round(conns.perSecond),
    conn_per_cpu_s: Math.round(conns.perCpuSecond),
    conn_p99_ms: +conns.p99.toFixed(2),
    idle_bytes_per_conn: Math.round(idle),
  };
  console.log(JSON.stringify(row));
  return row;
}

async function main(): Promise<void> {
  if (process.argv[2] === 'origin') return origin(Number(process.argv[3]));
  const dir = mkdtempSync(join(tmpdir(), 'bench-tcp-'));
  const children: ChildProcess[] = [];
  const start = (cmd: string, args: string[], env: Record<string, string> = {}) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });
    children.push(c);
    return c;
  };
  try {
    const [originPort, haPort, ourPort, opsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    start(process.execPath, [process.argv[1]!, 'origin', String(originPort)]);
    await listening(originPort);

    writeFileSync(
      join(dir, 'haproxy.cfg'),
      `global\n  maxconn 9000\n  nbthread 1\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 300s\n  timeout server 300s\nfrontend f\n  bind 127.0.0.1:${haPort}\n  default_backend b\nbackend b\n  server o 127.0.0.1:${originPort}\n`,
    );
    const version = /HAProxy version (\S+)/.exec(execFileSync('haproxy', ['-v'], { encoding: 'utf8' }))?.[1] ?? '?';
    const haproxy = await measure(`haproxy ${version} mode tcp (nbthread 1)`, haPort, () => start('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')]));

    writeSavedState(dir, { originPort, listenPort: ourPort, app: { name: 'bench', max_connections: 100_000 } });
    const mine = await measure('tcp-proxy (Node 22)', ourPort, () =>
      start(process.execPath, [process.env.BENCH_TCP_PROXY ?? 'tcp-proxy/src/main.ts'], {
        TCP_PROXY_ADMIN_URL: 'http://127.0.0.1:9',
        TCP_PROXY_TOKEN: 'bench',
        TCP_PROXY_STATE_DIR: dir,
        TCP_PROXY_LISTEN_HOST: '127.0.0.1',
        TCP_PROXY_OPS_HOST: '127.0.0.1',
        TCP_PROXY_OPS_PORT: String(opsPort),
      }),
    );
    console.log(
      JSON.stringify({
        ratio_bulk_1: +(mine.bulk_1_MBps / haproxy.bulk_1_MBps).toFixed(2),
        ratio_bulk_50: +(mine.bulk_50_MBps / haproxy.bulk_50_MBps).toFixed(2),
        ratio_conn_per_s: +(mine.conn_per_s / haproxy.conn_per_s).toFixed(2),
        ratio_conn_per_cpu_s: +(mine.conn_per_cpu_s / haproxy.conn_per_cpu_s).toFixed(2),
      }),
    );
  } finally {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
