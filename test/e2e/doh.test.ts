/**
 * DNS-over-HTTPS end to end: the real Worker under `wrangler dev --local-protocol https`, queried
 * by curl's own DoH resolver (`curl --doh-url`), which then connects to the address we answered:
 * two real origins on 127.0.0.2 and 127.0.0.3 (same port) that say who they are. Health comes
 * from a real monitor. Raw RCODEs and HTTP errors through node:https, messages read by
 * @dnsquery/dns-packet. (kdig +https speaks HTTP/2 only, which wrangler dev's TLS listener does
 * not offer; geo by request.cf, which wrangler dev fixes, is tested in workerd: worker/doh.)
 */
import * as dnsPacket from '@dnsquery/dns-packet';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startWranglerDev, type WranglerDev } from '../../scripts/lib/wrangler-dev.ts';
import { tempState, teardown } from './stack.ts';

const TOKEN = 'e2e-doh-token-0123456789';
const NAME = 'dns-only.e2e.test';
let state: string;
let worker: WranglerDev;
let port: number;
const origins: { name: string; ip: string; healthy: boolean; server?: Server }[] = [
  { name: 'two', ip: '127.0.0.2', healthy: true },
  { name: 'three', ip: '127.0.0.3', healthy: true },
];

/** One HTTPS request to the Worker (its certificate is wrangler's self-signed one). */
function https(path: string, init: { method?: string; headers?: Record<string, string>; body?: Uint8Array | string } = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
    const req = request(`${worker.url}${path}`, { method: init.method ?? 'GET', headers: init.headers, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}
const admin = async (path: string, method = 'GET', body?: unknown) => {
  const res = await https(`/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${res.body}`);
  return JSON.parse(res.body.toString()).result;
};
const dohPost = (body: Uint8Array, headers: Record<string, string> = { 'content-type': 'application/dns-message' }) =>
  https('/dns-query', { method: 'POST', headers, body });

/**
 * curl resolves `host` through our DoH endpoint, then fetches http://host:port/ from the address
 * it got. `retry`: up to 2 more tries, 1 s apart (wrangler dev reloads when files of the tree
 * change, and a request during a reload can stall).
 */
function curl(host: string, retry = false): Promise<{ code: number; body: string }> {
  const args = ['-s', '--max-time', '5', '--doh-url', `${worker.url}/dns-query`, '--doh-insecure', `http://${host}:${port}/`];
  if (retry) args.unshift('--retry', '2', '--retry-all-errors', '--retry-delay', '1');
  return new Promise((resolve) => execFile('curl', args, (err, stdout) => resolve({ code: err ? Number(err.code) : 0, body: stdout })));
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean>, limitMs: number, what: string): Promise<void> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(`${what}: not within ${limitMs} ms\nwrangler (last 3,000 chars): ${worker.output().slice(-3000)}`);
}

beforeAll(async () => {
  port = await freePort();
  for (const o of origins) {
    o.server = createServer((req, res) => {
      const ok = req.url !== '/health' || o.healthy;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain', connection: 'close' }).end(o.name);
    });
    await new Promise<void>((resolve, reject) => o.server!.once('error', reject).listen(port, o.ip, resolve));
  }
  state = tempState('doh');
  worker = await startWranglerDev({ persistTo: state, https: true, vars: { ADMIN_TOKEN: TOKEN, DOH_HOSTS: '127.0.0.1' } });
  await admin('/config', 'PUT', {
    monitors: [{ id: 'mon', path: '/health', port, interval: 5, timeout: 1, retries: 0, consecutive_down: 1, consecutive_up: 1 }],
    pools: [{ id: 'p', name: 'p', monitor: 'mon', origins: origins.map((o) => ({ name: o.name, address: o.ip, port })) }],
    load_balancers: [{ id: 'lb', name: NAME, proxied: false, ttl: 30, default_pools: ['p'], fallback_pool: 'p' }],
  });
}, 90_000);

afterAll(async () => {
  await teardown(worker, [], state);
  await Promise.all(origins.map((o) => new Promise((r) => (o.server ? o.server.close(r) : r(undefined)))));
});

describe('DoH through curl --doh-url', () => {
  it('answers A records that follow health: an origin whose monitor fails disappears from answers, and returns', async () => {
    /** The origins `n` curl runs reached; `strict`: every run must succeed (else a failed run, e.g. during a wrangler reload, only counts as not yet). */
    const reached = async (n: number, strict = false) => {
      const seen = new Set<string>();
      for (let i = 0; i < n; i++) {
        const r = await curl(NAME, strict);
        if (r.code === 0) seen.add(r.body);
        else if (strict) throw new Error(`curl exited ${r.code}\n${worker.output().slice(-2000)}`);
      }
      return seen;
    };
    await until(async () => (await reached(6)).size === 2, 20_000, 'both origins answered');
    origins[1]!.healthy = false;
    await until(
      async () => !(await admin('/pools/p/health')).pop_health.global.origins.some((o: Record<string, { healthy: boolean }>) => o.three?.healthy),
      15_000,
      'three marked unhealthy',
    );
    await sleep(2500); // edges refresh health within 2 s
    expect([...(await reached(12, true))]).toEqual(['two']);
    origins[1]!.healthy = true;
    await until(async () => (await reached(6)).has('three'), 20_000, 'three answered again');
  }, 90_000);

  it('a name that is not ours does not resolve (REFUSED)', async () => {
    expect((await curl('foreign.e2e.test')).code).toBe(6); // curl: could not resolve host
    const res = await dohPost(dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'foreign.e2e.test' }] }));
    expect([res.status, dnsPacket.decode(res.body).rcode]).toEqual([200, 'REFUSED']);
  });
});

describe('malformed and oversized', () => {
  it('FORMERR for garbage that carries an ID; HTTP 400 for less; 413 for a body over 4,096 bytes; 415 for another media type', async () => {
    const garbage = await dohPost(new Uint8Array([0x13, 0x37, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef]));
    expect([garbage.status, garbage.headers['content-type'], dnsPacket.decode(garbage.body).id, dnsPacket.decode(garbage.body).rcode]).toEqual([
      200,
      'application/dns-message',
      0x1337,
      'FORMERR',
    ]);
    expect((await dohPost(new Uint8Array([7]))).status).toBe(400);
    expect((await dohPost(new Uint8Array(5000))).status).toBe(413);
    expect((await dohPost(new Uint8Array(64), { 'content-type': 'text/plain' })).status).toBe(415);
  });
});
