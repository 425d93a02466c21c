/**
 * AppRunner against real origins on 127.0.0.1 (no admin API: the config is built by core's own
 * import): failover to the next candidate on a refused connect, limits (refuse, queue), the
 * firewall, half-close, back-pressure, PROXY v2 to the origin, a malformed PROXY header closing
 * only its own connection.
 */
import { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';
import pp from 'proxy-protocol-js';
import { afterEach, describe, expect, it } from 'vitest';
import { EMPTY_DOCUMENT, importDocument, type TcpApp } from '../../core/config/index.ts';
import { compileSnapshot } from '../../core/route/index.ts';
import { LoadTracker } from '../../core/steer/load.ts';
import { dial, freePort, startOrigin } from '../test/origins.ts';
import { AppRunner } from './app.ts';
import { AppHealth } from './health.ts';
import type { Fields } from './log.ts';
import { Metrics } from './metrics.ts';

const started: { stop(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

/** A runner for one app over `origins` (one pool, policy `first` unless given), listening on a free port. */
async function runner(origins: { name: string; port: number }[], app: Partial<TcpApp> = {}, policy = 'first') {
  const listen = await freePort();
  const doc = importDocument(
    EMPTY_DOCUMENT,
    {
      pools: [{ id: 'p', name: 'p', origins: origins.map((o) => ({ name: o.name, address: '127.0.0.1', port: o.port })), origin_steering: { policy } }],
      load_balancers: [{ id: 'lb', name: 'tcp.test', default_pools: ['p'], fallback_pool: 'p' }],
      tcp_apps: [{ id: 'app', name: 'app', listen_port: listen, load_balancer: 'lb', ...app }],
    },
    { newId: () => 'x', now: () => new Date().toISOString() },
  );
  if (!doc.ok) throw new Error(JSON.stringify(doc.errors));
  const health = new AppHealth((o) => o.port);
  health.setPools([{ pool: doc.value.pools[0]! }]);
  const lines: Fields[] = [];
  const metrics = new Metrics();
  const r = new AppRunner(doc.value.tcp_apps[0]!, {
    snapshot: compileSnapshot(doc.value, 1),
    health,
    loads: new LoadTracker(),
    certificates: new Map(),
    metrics,
    log: (event, fields = {}) => lines.push({ event, ...fields }),
    random: Math.random,
  });
  await r.listen('127.0.0.1');
  started.push({ stop: () => r.stopAccepting().then(() => r.drain(Date.now())) });
  return { port: listen, lines, runner: r, metrics };
}
const origin = async (name: string, opts?: Parameters<typeof startOrigin>[1]) => {
  const o = await startOrigin(name, opts);
  started.push(o);
  return o;
};
/** Everything the socket receives until it ends or closes. */
const readAll = (s: Socket) =>
  new Promise<string>((resolve) => {
    let got = '';
    s.on('data', (d) => (got += d.toString()))
      .on('end', () => resolve(got))
      .on('close', () => resolve(got))
      .on('error', () => undefined);
  });
const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
};

describe('AppRunner', () => {
  it('tries the next origin when a connect is refused (nothing was sent), and passes half-close through', async () => {
    const closed = await freePort(); // nothing listens there
    const b = await origin('b');
    const { port, lines, metrics } = await runner([
      { name: 'dead', port: closed },
      { name: 'b', port: b.port },
    ]);
    const s = await dial(port);
    const all = readAll(s);
    s.end('ping'); // FIN after the data: the echo comes back after our half-close
    expect(await all).toBe('b\nping');
    await until(() => lines.length > 0);
    expect(lines[0]).toMatchObject({ event: 'connection_closed', result: 'proxied', origin: 'b', attempts: 2, bytes_in: 4, bytes_out: 6 });
    // The same, as Prometheus scrapes it.
    const scraped = await metrics.registry.metrics();
    for (const sample of [
      'tcp_proxy_downstream_connections_total{app="app",result="proxied"} 1',
      'tcp_proxy_downstream_connections_active{app="app"} 0',
      'tcp_proxy_upstream_connect_failures_total{app="app",pool="p",origin="dead",reason="error"} 1',
      'tcp_proxy_upstream_connections_total{app="app",pool="p",origin="b"} 1',
      'tcp_proxy_upstream_connections_active{app="app",pool="p",origin="b"} 0',
      'tcp_proxy_downstream_received_bytes_total{app="app",pool="p",origin="b"} 4',
      'tcp_proxy_downstream_sent_bytes_total{app="app",pool="p",origin="b"} 6',
    ])
      expect(scraped).toContain(sample);
  });

  it('closes both sides after idle_timeout without a byte either way', async () => {
    const a = await origin('a');
    const { port, lines } = await runner([{ name: 'a', port: a.port }], { idle_timeout: 1, connect_timeout: 60 });
    const s = await dial(port);
    expect(await readAll(s)).toBe('a\n'); // the greeting, then nothing until the proxy closes
    await until(() => lines.length > 0);
    expect(lines[0]).toMatchObject({ result: 'proxied', error: 'idle_timeout' });
    await until(() => a.sockets.size === 0);
    expect(a.sockets.size).toBe(0);
  });

  it('refuses past max_connections, or queues until a slot frees (on_limit queue)', async () => {
    const a = await origin('a');
    const refusing = await runner([{ name: 'a', port: a.port }], { max_connections: 1 });
    const first = await dial(refusing.port);
    await new Promise((r) => first.once('data', r));
    expect(await readAll(await dial(refusing.port))).toBe('');
    await until(() => refusing.lines.some((l) => l.result === 'refused_limit'));
    first.destroy();

    const queueing = await runner([{ name: 'a', port: a.port }], { max_connections: 1, on_limit: 'queue', queue_timeout: 10 });
    const holder = await dial(queueing.port);
    await new Promise((r) => holder.once('data', r));
    const waiting = await dial(queueing.port);
    const got = readAll(waiting);
    holder.end();
    waiting.end('x');
    expect(await got).toBe('a\nx');
  });

  it('refuses a client outside ip_firewall, and closes only the connection whose PROXY header is malformed', async () => {
    const a = await origin('a');
    const fw = await runner([{ name: 'a', port: a.port }], { ip_firewall: { allow: ['10.0.0.0/8'], deny: [] } });
    expect(await readAll(await dial(fw.port))).toBe('');
    await until(() => fw.lines.length > 0);
    expect(fw.lines[0]).toMatchObject({ result: 'refused_firewall' });

    const proxied = await runner([{ name: 'a', port: a.port }], { accept_proxy: true, ip_firewall: { allow: ['203.0.113.0/24'], deny: [] } });
    const bad = await dial(proxied.port);
    bad.write('PROXY TCP4 nonsense\r\nhello');
    expect(await readAll(bad)).toBe('');
    const good = await dial(proxied.port);
    const got = readAll(good);
    good.end('PROXY TCP4 203.0.113.7 192.0.2.1 40000 5432\r\nhi');
    expect(await got).toBe('a\nhi');
    await until(() => proxied.lines.length === 2);
    expect(proxied.lines.map((l) => [l.result, l.client])).toEqual([
      ['proxy_header_error', expect.any(String)],
      ['proxied', '203.0.113.7:40000'],
    ]);
    expect(String(proxied.lines[0]!.error)).toMatch(/^malformed PROXY header/);
  });

  it('sends a PROXY v2 header the origin parses, with the client address', async () => {
    let seen: InstanceType<typeof pp.V2ProxyProtocol> | undefined;
    const a = await origin('a', {
      onSocket: (s) =>
        s.once('data', (d: Buffer) => {
          const len = 16 + d.readUInt16BE(14);
          seen = pp.V2ProxyProtocol.parse(new Uint8Array(d.subarray(0, len)));
          s.write(d.subarray(len));
          s.pipe(s);
        }),
    });
    const { port } = await runner([{ name: 'a', port: a.port }], { proxy_protocol: 'v2' });
    const s = await dial(port);
    const clientPort = s.localPort;
    const got = readAll(s);
    s.end('payload');
    expect(await got).toBe('payload');
    const addr = seen!.proxyAddress as InstanceType<typeof pp.IPv4ProxyAddress>;
    expect([addr.sourceAddress.address.join('.'), addr.sourcePort, addr.destinationPort]).toEqual(['127.0.0.1', clientPort, port]);
  });

  it('respects back-pressure: a client that does not read stops the origin being read (no unbounded buffering)', async () => {
    const total = 256 * 1024 * 1024;
    let originSocket: Socket | undefined;
    const a = await origin('a', {
      onSocket: (s) => {
        originSocket = s;
        const chunk = Buffer.alloc(1024 * 1024);
        let sent = 0;
        const pump = () => {
          while (sent < total && s.write(chunk)) sent += chunk.length;
          if (sent < total) s.once('drain', pump);
        };
        pump();
      },
    });
    const { port } = await runner([{ name: 'a', port: a.port }]);
    const s = await dial(port);
    s.pause();
    // Wait until the origin's writes stall: what it handed to the kernel stops growing.
    let last = -1;
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = originSocket?.bytesWritten ?? 0;
      if (now > 0 && now === last) break;
      last = now;
    }
    const rss = process.memoryUsage().rss;
    expect(originSocket!.bytesWritten - originSocket!.writableLength).toBeLessThan(64 * 1024 * 1024);
    expect(rss).toBeLessThan(1024 * 1024 * 1024);
    s.destroy();
  });
});
