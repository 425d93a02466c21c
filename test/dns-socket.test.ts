/**
 * The RFC 2136 provider inside workerd (Miniflare), over durable-objects/dns/socket.ts's
 * `connect()` from cloudflare:sockets, against a real BIND9: the Workers transport moves the bytes
 * of signed reads and updates, and a refused connection is 'unreachable'. The provider and the
 * transport are bundled with esbuild into a Worker whose fetch handler calls them.
 */
import { build } from 'esbuild';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { a, OWNER, plan } from '../dns/provider.case.test.ts';
import { startBind9, type Bind9 } from './fixtures/bind9.ts';

const entry = `
import { rfc2136Provider } from './dns/rfc2136/index.ts';
import { ProviderError } from './dns/provider.ts';
import { socketDnsTransport } from './durable-objects/dns/socket.ts';
export default {
  async fetch(request) {
    const { options, op, args } = await request.json();
    const provider = rfc2136Provider({ ...options, transport: socketDnsTransport() });
    try {
      return Response.json({ ok: await provider[op](...args) ?? null });
    } catch (e) {
      return Response.json({ error: e instanceof ProviderError ? { kind: e.kind, message: e.message } : String(e) });
    }
  },
};`;

let bind: Bind9;
let mf: Miniflare;
beforeAll(async () => {
  const [bundle] = (
    await build({ stdin: { contents: entry, resolveDir: process.cwd(), loader: 'js' }, bundle: true, format: 'esm', write: false, external: ['cloudflare:*'] })
  ).outputFiles!;
  bind = await startBind9();
  mf = new Miniflare(convertV4MiniflareOptions({ modules: true, script: bundle!.text, compatibilityDate: '2026-11-01' }));
});
afterAll(async () => {
  await mf?.dispose();
  await bind?.stop();
});

async function call(op: 'read' | 'apply', args: unknown[], over: Record<string, unknown> = {}) {
  const options = { zone: bind.zone, server: bind.host, port: bind.port, keyName: bind.keyName, algorithm: bind.algorithm, secret: bind.secret, ...over };
  const response = await mf.dispatchFetch('http://dns.test/', { method: 'POST', body: JSON.stringify({ options, op, args }) });
  return (await response.json()) as { ok?: unknown; error?: { kind: string; message: string } };
}

test('reads and updates BIND through cloudflare:sockets', async () => {
  const name = `workerd.${bind.zone}`;
  const before = (await call('read', [name, OWNER])).ok as Parameters<typeof plan>[2];
  expect(before).toMatchObject({ records: [], foreign: 0 });
  expect(await call('apply', [plan(name, OWNER, before, [a(name, '192.0.2.71')])])).toEqual({ ok: null });
  expect(await bind.dig(name, 'A')).toEqual(['192.0.2.71']);
  expect((await call('read', [name, OWNER])).ok).toMatchObject({ records: [a(name, '192.0.2.71')], foreign: 0 });
  expect((await call('read', [`taken.${bind.zone}`, OWNER])).ok).toMatchObject({ records: [], foreign: 1 });
});

test('a wrong secret is auth and a closed port unreachable, through cloudflare:sockets', async () => {
  const wrong = await call('read', [`www.${bind.zone}`, OWNER], { secret: Buffer.alloc(32, 3).toString('base64') });
  expect(wrong.error).toMatchObject({ kind: 'auth', message: expect.stringContaining(bind.keyName) });
  const closed = await call('read', [`www.${bind.zone}`, OWNER], { port: 1 });
  expect(closed.error).toMatchObject({ kind: 'unreachable' });
});
