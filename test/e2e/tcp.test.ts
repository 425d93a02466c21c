/**
 * TCP mode end to end: the real Worker under wrangler dev as the admin API, the real proxy
 * (`node tcp-proxy/src/main.ts`, a child process) polling it with a read-only token, real TCP
 * origins on 127.0.0.1, a certificate made by the openssl CLI and checked by `openssl s_client`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pp from 'proxy-protocol-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startWranglerDev, type WranglerDev } from '../../scripts/lib/wrangler-dev.ts';
import { dial, startOrigin, type Origin } from '../../tcp-proxy/test/origins.ts';
import { postgresBin, startPostgres, type Postgres } from '../../tcp-proxy/test/postgres.ts';
import { selfSigned, type SelfSigned } from '../../tcp-proxy/test/self-signed.ts';
import { send } from '../http-client.ts';
import { adminCall, tempState, teardown } from './stack.ts';

const ADMIN = 'e2e-tcp-admin-token-0123456789';
const READ = 'e2e-tcp-read-token-0123456789';
const PROXY = 'e2e-tcp-proxy-token-0123456789';
const NAME = 'tcp.e2e.test';
let state: string;
let dir: string;
/** The certificate the TLS app serves (made in beforeAll). */
let tlsFiles: SelfSigned;
let worker: WranglerDev | undefined;
let origins: Record<'a' | 'b' | 'c' | 'pp', Origin>;
let proxy: Proxy;
/** Every proxy process started, killed in afterAll whatever happened. */
const children: ChildProcess[] = [];
const ports: Record<'weighted' | 'hashed' | 'first' | 'pp2' | 'tls' | 'pg' | 'ops', number> = {
  weighted: 0,
  hashed: 0,
  first: 0,
  pp2: 0,
  tls: 0,
  pg: 0,
  ops: 0,
};
/** A real protocol behind the proxy: Debian's PostgreSQL, when installed (tcp-proxy/test/postgres.ts). */
const pgBin = postgresBin();
let postgres: Postgres | undefined;

const admin = async (path: string, method = 'GET', body?: unknown, token = ADMIN) => {
  const res = await adminCall(worker!.url, token, path, method, body);
  return { status: res.status, body: JSON.parse(res.body) as { result: { id: string } } };
};

interface Proxy {
  process: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}
/** Starts the proxy; resolves once /readyz answers 200 (or it exited, for the port-in-use case). */
async function startProxy(opsPort = ports.ops, waitReady = true): Promise<Proxy> {
  let log = '';
  const child = spawn(process.execPath, ['tcp-proxy/src/main.ts'], {
    env: {
      ...process.env,
      TCP_PROXY_ADMIN_URL: worker?.url ?? 'http://127.0.0.1:9',
      TCP_PROXY_TOKEN: PROXY,
      TCP_PROXY_STATE_DIR: dir,
      TCP_PROXY_LISTEN_HOST: '127.0.0.1',
      TCP_PROXY_OPS_HOST: '127.0.0.1',
      TCP_PROXY_OPS_PORT: String(opsPort),
      TCP_PROXY_DRAIN_TIMEOUT: '20',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const p = { process: child, output: () => log, exited };
  for (let i = 0; waitReady && i < 150; i++) {
    const ready = await send(`http://127.0.0.1:${opsPort}/readyz`, { timeoutMs: 1000 }).catch(() => undefined);
    // The proxy's own answer: another process that took the port meanwhile may answer 200 too.
    if (ready?.status === 200 && ready.body === 'ready\n' && child.exitCode === null) return p;
    if (child.exitCode !== null) throw new Error(`proxy exited (${child.exitCode}):\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (waitReady) {
    child.kill('SIGKILL');
    throw new Error(`proxy not ready in 15 s:\n${log}`);
  }
  return p;
}

/** Connects (after writing `first`, if any) and resolves with the first line the origin sends: its name. */
async function greeting(port: number, first?: string): Promise<string> {
  const s = await dial(port);
  if (first) s.write(first);
  const line = await new Promise<string>((resolve, reject) => {
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes('\n')) resolve(got.split('\n')[0]!);
    }).once('close', () => reject(new Error(`closed before a line (got "${got}")`)));
  });
  s.destroy();
  return line;
}

beforeAll(async () => {
  state = tempState('tcp');
  dir = mkdtempSync(join(tmpdir(), 'edge-lb-tcp-proxy-'));
  let seenSource = '';
  origins = {
    a: await startOrigin('a'),
    b: await startOrigin('b'),
    c: await startOrigin('c'),
    // Parses the PROXY v2 header it is sent (proxy-protocol-js) and answers with the client address in it.
    pp: await startOrigin('pp', {
      onSocket: (s) =>
        s.once('data', (d: Buffer) => {
          const parsed = pp.V2ProxyProtocol.parse(new Uint8Array(d.subarray(0, 16 + d.readUInt16BE(14))));
          const a = parsed.proxyAddress as InstanceType<typeof pp.IPv4ProxyAddress>;
          seenSource = `${a.sourceAddress.address.join('.')}:${a.sourcePort}`;
          s.end(`${seenSource}\n`);
        }),
    }),
  };
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  if (pgBin) postgres = await startPostgres(pgBin, await freePort());
  worker = await startWranglerDev({
    persistTo: state,
    vars: { ADMIN_TOKEN: ADMIN, ADMIN_READ_TOKENS: `${READ},${PROXY}`, CERT_KEY_SECRET: 'e2e-cert-key-secret', CERT_KEY_TOKENS: PROXY },
  });
  // A certificate from the openssl CLI (PKCS #8 key), uploaded through the admin API.
  tlsFiles = selfSigned(dir, NAME);
  const cert = await admin('/certificates', 'POST', { name: 'e2e', certificate: tlsFiles.certificate, private_key: tlsFiles.privateKey });
  expect(cert.status).toBe(201);
  const pool = (id: string, policy: string, list: [Origin, number][]) => ({
    id,
    name: id,
    origin_steering: { policy },
    origins: list.map(([o, weight]) => ({ name: o.name, address: '127.0.0.1', port: o.port, weight })),
  });
  const lb = (id: string) => ({ id, name: `${id}.${NAME}`, default_pools: [id], fallback_pool: id });
  const app = (name: keyof typeof ports, lbId: string, extra: object = {}) => ({ name, listen_port: ports[name], load_balancer: lbId, ...extra });
  const put = await admin('/config', 'PUT', {
    pools: [
      pool('w', 'random', [
        [origins.a, 1],
        [origins.b, 0.25],
      ]),
      pool('h', 'hash', [
        [origins.a, 1],
        [origins.b, 1],
        [origins.c, 1],
      ]),
      pool('f', 'first', [
        [origins.a, 1],
        [origins.b, 1],
      ]),
      pool('p', 'first', [[origins.pp, 1]]),
      ...(postgres ? [{ id: 'pg', name: 'pg', origins: [{ name: 'postgres', address: '127.0.0.1', port: postgres.port }] }] : []),
    ],
    load_balancers: [lb('w'), lb('h'), lb('f'), lb('p'), ...(postgres ? [lb('pg')] : [])],
    tcp_apps: [
      app('weighted', 'w'),
      app('hashed', 'h', { accept_proxy: true }),
      app('first', 'f'),
      app('pp2', 'p', { proxy_protocol: 'v2' }),
      app('tls', 'f', { tls: 'terminate', certificate: cert.body.result.id }),
      ...(postgres ? [app('pg', 'pg')] : []),
    ],
  });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  proxy = await startProxy();
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(Object.values(origins ?? {}).map((o) => o.stop()));
  await postgres?.stop();
  await teardown(worker, [], state);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('TCP mode', () => {
  it('a read-only token cannot write (403); the proxy reads with one', async () => {
    const res = await admin('/tcp_apps', 'POST', { name: 'x', listen_port: 1, load_balancer: 'w' }, READ);
    expect(res.status).toBe(403);
    expect((await admin('/tcp_apps', 'GET', undefined, READ)).status).toBe(200);
  });

  it('spreads connections by weight (random steering, weights 1 and 0.25)', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 300; i++) seen.push(await greeting(ports.weighted));
    const share = seen.filter((n) => n === 'a').length / seen.length;
    expect(share).toBeGreaterThan(0.72); // expected 0.8; ±0.08 is over 3.4 standard deviations at 300 draws
    expect(share).toBeLessThan(0.88);
  });

  it('counts them on the operations port in the Prometheus format, with /healthz and /readyz', async () => {
    const scrape = async () => (await send(`http://127.0.0.1:${ports.ops}/metrics`)).body;
    const proxied = /tcp_proxy_downstream_connections_total\{app="weighted",result="proxied"\} (\d+)/;
    let text = await scrape();
    for (let i = 0; i < 50 && proxied.exec(text)?.[1] !== '300'; i++) text = (await new Promise((r) => setTimeout(r, 100)), await scrape());
    expect(proxied.exec(text)?.[1]).toBe('300');
    const perOrigin = [...text.matchAll(/tcp_proxy_upstream_connections_total\{app="weighted",pool="w",origin="(a|b)"\} (\d+)/g)].map((m) => Number(m[2]));
    expect(perOrigin.reduce((x, y) => x + y, 0)).toBe(300);
    expect(text).toMatch(/tcp_proxy_origin_healthy\{app="weighted",pool="w",origin="a"\} 1/);
    expect((await send(`http://127.0.0.1:${ports.ops}/healthz`)).status).toBe(200);
    expect((await send(`http://127.0.0.1:${ports.ops}/readyz`)).status).toBe(200);
  });

  it('hashes the client IP (from the front PROXY header) to a stable origin', async () => {
    const first = new Map<string, string>();
    for (let i = 1; i <= 30; i++) first.set(`198.51.100.${i}`, await greeting(ports.hashed, `PROXY TCP4 198.51.100.${i} 192.0.2.1 4000${i % 10} 5432\r\n`));
    for (const [ip, name] of first) expect(await greeting(ports.hashed, `PROXY TCP4 ${ip} 192.0.2.1 51000 5432\r\n`), ip).toBe(name);
    expect(new Set(first.values()).size).toBeGreaterThan(1);
  });

  it('sends a PROXY v2 header that the origin parses', async () => {
    const s = await dial(ports.pp2);
    const line = await new Promise<string>((r) => s.once('data', (d) => r(d.toString().trim())));
    expect(line).toBe(`127.0.0.1:${s.localPort}`);
    s.destroy();
  });

  it.skipIf(!pgBin)("a real protocol: PostgreSQL answers psql through the proxy (skipped without Debian's postgresql)", async () => {
    const psql = (sql: string) =>
      promisify(execFile)(join(pgBin!, 'psql'), ['-h', '127.0.0.1', '-p', String(ports.pg), '-U', 'postgres', '-d', 'postgres', '-Atc', sql], {
        env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
      });
    expect((await psql('select 21 * 2')).stdout.trim()).toBe('42');
    // The server sees the proxy as its client (no PROXY header on this app) and answers over the same connection.
    expect((await psql("select client_addr || ' ' || current_user from pg_stat_activity where pid = pg_backend_pid()")).stdout.trim()).toBe(
      '127.0.0.1/32 postgres',
    );
  });

  it('terminates TLS with the uploaded certificate, verified by openssl s_client', async () => {
    const client = spawn(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${ports.tls}`, '-servername', NAME, '-CAfile', tlsFiles.certFile, '-verify_hostname', NAME, '-verify_return_error'],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    client.stdout.on('data', (d: Buffer) => (out += d.toString()));
    client.stderr.on('data', (d: Buffer) => (out += d.toString()));
    client.stdin.write('over tls\n');
    for (let i = 0; i < 100 && !/over tls/.test(out.split('---').at(-1) ?? ''); i++) await new Promise((r) => setTimeout(r, 100));
    client.kill();
    expect(out).toContain('Verify return code: 0 (ok)');
    expect(out).toMatch(/\na\nover tls\n/); // the origin's greeting, then the echo, in the clear behind TLS
  });

  it('an origin killed mid-run: its open connection closes cleanly, new connections go to the next origin', async () => {
    const held = await dial(ports.first);
    const ended = new Promise<string>((resolve) => {
      let got = '';
      held.on('data', (d) => (got += d.toString())).once('end', () => resolve(got)); // the origin's FIN, passed on
    });
    await new Promise((r) => setTimeout(r, 50));
    await origins.a.stop();
    expect(await ended).toBe('a\n');
    held.end();
    for (let i = 0; i < 5; i++) expect(await greeting(ports.first)).toBe('b');
  });

  it('admin API down: keeps serving, and a restarted proxy starts from its saved state; a taken port is a clear startup error', async () => {
    await worker!.stop();
    worker = undefined;
    expect(await greeting(ports.first)).toBe('b');
    // A second proxy while the first holds the ports: exits 1 naming the port.
    const second = await startProxy(await freePort(), false);
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(/cannot listen on 127\.0\.0\.1:\d+: the port is already in use \(EADDRINUSE\)/);
    proxy.process.kill('SIGTERM');
    expect(await proxy.exited).toBe(0);
    proxy = await startProxy();
    expect(proxy.output()).toContain('"event":"state_loaded"');
    expect(await greeting(ports.first)).toBe('b');
  });

  it('SIGTERM: stops accepting, lets the open connection finish, then exits 0', async () => {
    const held = await dial(ports.first);
    await new Promise((r) => held.once('data', r));
    proxy.process.kill('SIGTERM');
    for (let i = 0; i < 50 && !proxy.output().includes('"event":"draining"'); i++) await new Promise((r) => setTimeout(r, 50));
    await expect(dial(ports.first)).rejects.toThrow(/ECONNREFUSED/);
    const echoed = new Promise<string>((r) => held.once('data', (d) => r(d.toString())));
    held.write('still here');
    expect(await echoed).toBe('still here');
    held.end();
    expect(await proxy.exited).toBe(0);
    expect(proxy.output()).toContain('"connections_cut":0');
  });
});
