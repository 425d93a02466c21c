/**
 * One TCP app on this proxy: a listener and, per client connection, the path
 * accept → PROXY header (accept_proxy) → ip_firewall → limits (refuse or queue) → TLS (terminate)
 * → origin steering (core/route: the load balancer's pools, failover, fallback and origin
 * steering, with this app's health) → connect (the next candidate on failure or timeout: nothing
 * was sent yet) → PROXY header to the origin → splice → one log line.
 */
import { X509Certificate } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import type { TcpApp } from '../../core/config/index.ts';
import type { CertificateMaterial } from '../../core/rpc/index.ts';
import { candidatesOf, route, type Candidate, type Snapshot } from '../../core/route/index.ts';
import type { LoadTracker } from '../../core/steer/load.ts';
import { compileFirewall } from './firewall.ts';
import type { AppHealth } from './health.ts';
import type { Log } from './log.ts';
import { listenOrExplain, type Metrics } from './metrics.ts';
import { buildProxyHeader, readProxyHeader, type Endpoint } from './proxy-header.ts';
import { connectWithin, splice } from './splice.ts';

/** Origins tried per pool for one connection: the HTTP proxy's rule (worker/proxy MAX_ATTEMPTS_PER_POOL). */
export const MAX_ATTEMPTS_PER_POOL = 3;
/** A PROXY header and a TLS handshake must each complete within this long (ms). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface AppDeps {
  snapshot: Snapshot;
  health: AppHealth;
  loads: LoadTracker;
  certificates: ReadonlyMap<string, CertificateMaterial>;
  metrics: Metrics;
  log: Log;
  random: () => number;
}

type Tls = { fallback: SecureContext; byName: { x509: X509Certificate; context: SecureContext }[] };

export class AppRunner {
  app: TcpApp;
  #deps: AppDeps;
  #firewall: (address: string) => boolean;
  #tls: Tls | undefined;
  #server: Server | undefined;
  /** Admitted connections (counted against max_connections), per-origin connections, and waiters for a slot. */
  #open = 0;
  readonly #perOrigin = new Map<string, number>();
  #waiters: (() => void)[] = [];
  readonly #sockets = new Set<Socket>();
  #draining = false;

  constructor(app: TcpApp, deps: AppDeps) {
    this.app = app;
    this.#deps = deps;
    this.#firewall = compileFirewall(app.ip_firewall);
    this.#tls = tlsOf(app, deps.certificates);
  }

  /** A new config version: new connections follow it, open ones keep going. */
  update(app: TcpApp, deps: AppDeps): void {
    [this.app, this.#deps] = [app, deps];
    this.#firewall = compileFirewall(app.ip_firewall);
    this.#tls = tlsOf(app, deps.certificates);
    this.#wake();
  }

  /** Why this app cannot serve (a missing certificate), or undefined. */
  get problem(): string | undefined {
    return this.app.tls === 'terminate' && !this.#tls ? `certificate ${this.app.certificate} is not available` : undefined;
  }

  get openConnections(): number {
    return this.#sockets.size;
  }

  async listen(host: string): Promise<void> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (s) => void this.#handle(s));
    this.#server = await listenOrExplain(server, host, this.app.listen_port, `TCP app ${this.app.name} (${this.app.id})`);
  }

  /** Stops accepting; queued connections are refused. Open ones go on (see drain). */
  stopAccepting(): Promise<void> {
    this.#draining = true;
    this.#wake();
    // close() stops listening at once; its callback waits for every connection, which drain() handles.
    this.#server?.close();
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** Waits up to `deadline` (epoch ms) for open connections to end, then destroys what is left; resolves with how many were cut. */
  async drain(deadline: number): Promise<number> {
    while (this.#sockets.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const cut = this.#sockets.size;
    for (const s of this.#sockets) s.destroy();
    return cut;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Waits for a slot to free until `deadline` (epoch ms); false on time-out, when draining, or when the queue is full (at most max_connections wait). */
  #wait(deadline: number): Promise<boolean> {
    if (this.#draining || this.app.on_limit !== 'queue' || this.#waiters.length >= this.app.max_connections) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        resolve(false);
      }, deadline - Date.now());
      const wake = () => (clearTimeout(timer), resolve(!this.#draining));
      this.#waiters.push(wake);
    });
  }

  #roomAt = (poolId: string, origin: string): boolean =>
    this.app.max_connections_per_origin === undefined || (this.#perOrigin.get(`${poolId}\n${origin}`) ?? 0) < this.app.max_connections_per_origin;

  async #handle(raw: Socket): Promise<void> {
    const t0 = performance.now();
    const { app } = this;
    const { metrics, log } = this.#deps;
    this.#sockets.add(raw);
    metrics.downstreamActive.inc({ app: app.name });
    raw.on('error', () => undefined); // reported through splice, or the socket is destroyed below
    let client: Endpoint = { address: raw.remoteAddress ?? '', port: raw.remotePort ?? 0 };
    let destination: Endpoint = { address: raw.localAddress ?? '', port: raw.localPort ?? 0 };
    const line: Record<string, string | number | undefined> = { app: app.name, app_id: app.id, client: `${client.address}:${client.port}` };
    let admitted = false;
    const finish = (result: string, error?: string) => {
      raw.destroy();
      this.#sockets.delete(raw);
      if (admitted) (this.#open--, this.#wake());
      metrics.downstreamActive.dec({ app: app.name });
      metrics.downstreamTotal.inc({ app: app.name, result });
      log('connection_closed', { ...line, result, error, duration_ms: Math.round(performance.now() - t0) });
    };
    if (this.#draining) return finish('draining');

    if (app.accept_proxy) {
      try {
        const h = await readProxyHeader(raw, HANDSHAKE_TIMEOUT_MS);
        if (h !== 'local') [client, destination, line.client] = [h.source, h.destination, `${h.source.address}:${h.source.port}`];
      } catch (e) {
        return finish('proxy_header_error', e instanceof Error ? e.message : String(e));
      }
    }
    if (!this.#firewall(client.address)) return finish('refused_firewall');

    // Limits: max_connections, then an origin under max_connections_per_origin (in planning).
    const deadline = Date.now() + app.queue_timeout * 1000;
    let room = this.#open < app.max_connections && !this.#draining;
    if (!room) {
      metrics.queued.inc({ app: app.name });
      while (!room && (await this.#wait(deadline))) room = this.#open < app.max_connections;
      metrics.queued.dec({ app: app.name });
    }
    if (!room) return finish(this.#draining ? 'draining' : app.on_limit === 'queue' ? 'queue_timeout' : 'refused_limit');
    this.#open++;
    admitted = true;

    let stream: Socket | TLSSocket = raw;
    if (app.tls === 'terminate') {
      const tls = this.#tls;
      if (!tls) return finish('tls_error', this.problem);
      try {
        stream = await handshake(raw, tls);
        line.sni = (stream as TLSSocket).servername || undefined;
      } catch (e) {
        return finish('tls_error', e instanceof Error ? e.message : String(e));
      }
    }

    const picked = await this.#connect(client, deadline);
    if (typeof picked === 'string') return finish(picked);
    const { origin, candidate, attempts } = picked;
    const { pool } = candidate;
    const m = originMetrics(metrics, app.name, pool.name, candidate.origin.name);
    Object.assign(line, { pool: pool.name, origin: candidate.origin.name, attempts });
    const key = `${pool.id}\n${candidate.origin.name}`;
    this.#perOrigin.set(key, (this.#perOrigin.get(key) ?? 0) + 1);
    this.#deps.loads.start(pool.id, pool.origins.length, candidate.originIndex);
    m.active.inc();
    m.total.inc();
    let headerBytes = 0;
    if (app.proxy_protocol !== 'off') {
      const header = buildProxyHeader(app.proxy_protocol, client, destination);
      headerBytes = header.length;
      origin.write(header);
    }
    const { reason } = await splice(stream, origin, app.idle_timeout * 1000);
    this.#perOrigin.set(key, (this.#perOrigin.get(key) ?? 1) - 1);
    this.#deps.loads.end(pool.id, pool.origins.length, candidate.originIndex);
    m.active.dec();
    const [bytesIn, bytesOut] = [origin.bytesWritten - headerBytes, origin.bytesRead];
    m.received.inc(bytesIn);
    m.sent.inc(bytesOut);
    Object.assign(line, { bytes_in: bytesIn, bytes_out: bytesOut });
    finish('proxied', reason === 'closed' ? undefined : reason);
  }

  /** Steers and connects: each candidate in the plan's order (3 per pool), skipping origins at their limit. */
  async #connect(client: Endpoint, deadline: number): Promise<{ origin: Socket; candidate: Candidate; attempts: number } | string> {
    for (;;) {
      const { app } = this;
      const { snapshot, health, loads, metrics } = this.#deps;
      const lb = snapshot.loadBalancers.get(app.load_balancer);
      if (!lb?.enabled) return 'no_origin';
      const inputs = {
        random: this.#deps.random,
        facts: { clientIp: client.address },
        stats: (p: { id: string; origins: unknown[] }) => loads.stats(p.id, p.origins.length),
        poolOutstanding: (id: string) => loads.poolOutstanding(id),
      };
      const plan = route(snapshot, lb, { ...inputs, usable: (p, i) => health.usable(p, i) && this.#roomAt(p.id, p.origins[i]!.name) }).plan;
      if (!plan) {
        const limited = route(snapshot, lb, { ...inputs, usable: health.usable }).plan !== undefined;
        if (limited && (await this.#wait(deadline))) continue;
        return limited ? (app.on_limit === 'queue' ? 'queue_timeout' : 'refused_limit') : 'no_origin';
      }
      const tried = new Map<number, number>();
      let attempts = 0;
      for (const c of candidatesOf(plan)) {
        if ((tried.get(c.poolRank) ?? 0) >= MAX_ATTEMPTS_PER_POOL) continue;
        const port = app.origin_port ?? c.origin.port;
        if (!port) continue;
        tried.set(c.poolRank, (tried.get(c.poolRank) ?? 0) + 1);
        attempts++;
        try {
          const origin = await connectWithin(c.origin.address, port, app.connect_timeout * 1000);
          health.report(c.pool.id, c.originIndex, 'success');
          return { origin, candidate: c, attempts };
        } catch (e) {
          const reason = (e as { reason?: 'timeout' | 'error' }).reason ?? 'error';
          health.report(c.pool.id, c.originIndex, reason === 'timeout' ? 'timeout' : 'connect_error');
          metrics.connectFailures.inc({ app: app.name, pool: c.pool.name, origin: c.origin.name, reason });
        }
      }
      return 'connect_failed';
    }
  }
}

const children = new WeakMap<Metrics, Map<string, ReturnType<typeof childrenOf>>>();
const childrenOf = (metrics: Metrics, labels: { app: string; pool: string; origin: string }) => ({
  active: metrics.upstreamActive.labels(labels),
  total: metrics.upstreamTotal.labels(labels),
  received: metrics.receivedBytes.labels(labels),
  sent: metrics.sentBytes.labels(labels),
});
/** One origin's metric children, made once (prom-client hashes the labels on every call otherwise). */
function originMetrics(metrics: Metrics, app: string, pool: string, origin: string) {
  let byKey = children.get(metrics);
  if (!byKey) children.set(metrics, (byKey = new Map()));
  const key = `${app}\n${pool}\n${origin}`;
  let m = byKey.get(key);
  if (!m) byKey.set(key, (m = childrenOf(metrics, { app, pool, origin })));
  return m;
}

/** The app's certificates as TLS contexts: `certificate` is the fallback, the others are matched by SNI. */
function tlsOf(app: TcpApp, certificates: ReadonlyMap<string, CertificateMaterial>): Tls | undefined {
  if (app.tls !== 'terminate') return undefined;
  const context = (m: CertificateMaterial) => createSecureContext({ cert: m.certificate, key: m.private_key });
  const main = certificates.get(app.certificate!);
  if (!main) return undefined;
  const byName = [app.certificate!, ...app.additional_certificates].flatMap((id) => {
    const m = certificates.get(id);
    return m ? [{ x509: new X509Certificate(m.certificate), context: context(m) }] : [];
  });
  return { fallback: byName[0]!.context, byName };
}

/** The server side of a TLS handshake on `raw` (the certificate chosen by SNI); rejects on failure or after HANDSHAKE_TIMEOUT_MS. */
function handshake(raw: Socket, tls: Tls): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = new TLSSocket(raw, {
      isServer: true,
      secureContext: tls.fallback,
      SNICallback: (name, cb) => cb(null, tls.byName.find((c) => c.x509.checkHost(name))?.context ?? tls.fallback),
    });
    const timer = setTimeout(() => (socket.destroy(), reject(new Error('TLS handshake timed out'))), HANDSHAKE_TIMEOUT_MS);
    socket.once('secure', () => (clearTimeout(timer), socket.removeAllListeners('error'), resolve(socket)));
    socket.once('error', (e) => (clearTimeout(timer), reject(e)));
  });
}
