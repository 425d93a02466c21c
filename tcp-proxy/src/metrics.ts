/**
 * Prometheus metrics (prom-client) and the operations port: `/healthz` (the process answers),
 * `/readyz` (200 once a config is loaded and every enabled app listens, 503 with the reason
 * otherwise and while draining), `/metrics` (text exposition). Envoy's tcp_proxy statistics under
 * Prometheus names: `downstream` is the client side, `upstream` the origin side.
 *
 * The connection path only adds to plain numbers (AppStats, OriginStats): prom-client's inc()
 * hashes and validates its label object on every call, which cost more than the rest of
 * accepting a connection. The per-connection metrics copy those numbers when scraped
 * (prom-client's `collect`).
 */
import { createServer, type Server } from 'node:http';
import type { Server as NetServer } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** One origin's counts as one app sees it. Bytes are counted when a connection closes. */
export class OriginStats {
  active = 0;
  total = 0;
  /** Bytes from clients (passed to the origin) and to clients. */
  receivedBytes = 0;
  sentBytes = 0;
  connectErrors = 0;
  connectTimeouts = 0;
  readonly pool: string;
  readonly origin: string;
  constructor(pool: string, origin: string) {
    this.pool = pool;
    this.origin = origin;
  }
}

/** One app's counts: connections open, queued, ended (by result), and per origin. */
export class AppStats {
  downstreamActive = 0;
  queued = 0;
  readonly results = new Map<string, number>();
  readonly origins = new Map<string, OriginStats>();

  readonly app: string;
  constructor(app: string) {
    this.app = app;
  }

  ended(result: string): void {
    this.results.set(result, (this.results.get(result) ?? 0) + 1);
  }

  /** The counts of `origin` in `pool` (names, as the labels show them), made on first use. */
  origin(pool: string, origin: string): OriginStats {
    const key = `${pool}\n${origin}`;
    let s = this.origins.get(key);
    if (!s) this.origins.set(key, (s = new OriginStats(pool, origin)));
    return s;
  }
}

type Sample = [labels: Record<string, string>, value: number];

export class Metrics {
  readonly registry = new Registry();
  /** By app name; kept across config versions, as Prometheus counters are. */
  readonly #apps = new Map<string, AppStats>();

  /** The stats of app `name`, made on first use. */
  app(name: string): AppStats {
    let s = this.#apps.get(name);
    if (!s) this.#apps.set(name, (s = new AppStats(name)));
    return s;
  }

  /** A metric whose samples are read from the apps' stats at each scrape. */
  #scraped(kind: 'counter' | 'gauge', name: string, help: string, labelNames: string[], samples: () => Iterable<Sample>): void {
    const collect = function (this: Counter | Gauge) {
      this.reset();
      for (const [labels, value] of samples()) {
        if (this instanceof Gauge) this.set(labels, value);
        else this.inc(labels, value);
      }
    };
    const config = { name, help, labelNames, registers: [this.registry], collect };
    if (kind === 'counter') new Counter(config);
    else new Gauge(config);
  }

  *#perApp(value: (s: AppStats) => number): Generator<Sample> {
    for (const s of this.#apps.values()) yield [{ app: s.app }, value(s)];
  }

  *#perOrigin(value: (o: OriginStats) => number): Generator<Sample> {
    for (const s of this.#apps.values()) for (const o of s.origins.values()) yield [{ app: s.app, pool: o.pool, origin: o.origin }, value(o)];
  }

  readonly originHealthy = new Gauge({
    name: 'tcp_proxy_origin_healthy',
    help: '1 when the origin is usable by health (probes, ejection, admin view)',
    labelNames: ['app', 'pool', 'origin'],
    registers: [this.registry],
  });
  readonly configVersion = new Gauge({ name: 'tcp_proxy_config_version', help: 'The config version in use', registers: [this.registry] });
  readonly adminErrors = new Counter({ name: 'tcp_proxy_admin_api_errors_total', help: 'Polls of the admin API that failed', registers: [this.registry] });

  constructor() {
    const apps = this.#apps;
    this.#scraped(
      'counter',
      'tcp_proxy_downstream_connections_total',
      'Client connections by how they ended (proxied, refused_firewall, refused_limit, queue_timeout, no_origin, proxy_header_error, tls_error, connect_failed, draining)',
      ['app', 'result'],
      function* () {
        for (const s of apps.values()) for (const [result, n] of s.results) yield [{ app: s.app, result }, n];
      },
    );
    this.#scraped('gauge', 'tcp_proxy_downstream_connections_active', 'Client connections open (queued ones included)', ['app'], () =>
      this.#perApp((s) => s.downstreamActive),
    );
    this.#scraped('gauge', 'tcp_proxy_queued_connections', 'Client connections waiting for a slot (on_limit queue)', ['app'], () =>
      this.#perApp((s) => s.queued),
    );
    const origin = ['app', 'pool', 'origin'];
    this.#scraped('gauge', 'tcp_proxy_upstream_connections_active', 'Origin connections open', origin, () => this.#perOrigin((o) => o.active));
    this.#scraped('counter', 'tcp_proxy_upstream_connections_total', 'Origin connections established', origin, () => this.#perOrigin((o) => o.total));
    this.#scraped(
      'counter',
      'tcp_proxy_upstream_connect_failures_total',
      'Origin connect attempts that failed (reason: error or timeout)',
      [...origin, 'reason'],
      function* () {
        for (const s of apps.values()) {
          for (const o of s.origins.values()) {
            const labels = { app: s.app, pool: o.pool, origin: o.origin };
            yield [{ ...labels, reason: 'error' }, o.connectErrors];
            yield [{ ...labels, reason: 'timeout' }, o.connectTimeouts];
          }
        }
      },
    );
    this.#scraped('counter', 'tcp_proxy_downstream_received_bytes_total', 'Bytes from clients, counted when a connection closes', origin, () =>
      this.#perOrigin((o) => o.receivedBytes),
    );
    this.#scraped('counter', 'tcp_proxy_downstream_sent_bytes_total', 'Bytes to clients, counted when a connection closes', origin, () =>
      this.#perOrigin((o) => o.sentBytes),
    );
    collectDefaultMetrics({ register: this.registry });
  }
}

/** Serves /healthz, /readyz and /metrics on `host:port`; rejects with a clear message when the port is taken. */
export function serveOperations(metrics: Metrics, ready: () => string | undefined, host: string, port: number): Promise<Server> {
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    if (path === '/readyz') {
      const why = ready();
      return void res.writeHead(why ? 503 : 200, { 'content-type': 'text/plain' }).end(why ? `not ready: ${why}\n` : 'ready\n');
    }
    if (path === '/metrics') return void res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  return listenOrExplain(server, host, port, 'the operations port (/healthz, /readyz, /metrics)');
}

/** Listens, or rejects with what was being opened and why (EADDRINUSE spelled out). */
export function listenOrExplain<S extends NetServer>(server: S, host: string, port: number, what: string): Promise<S> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      const why =
        e.code === 'EADDRINUSE'
          ? 'the port is already in use (EADDRINUSE): is another process listening on it?'
          : e.code === 'EACCES'
            ? 'permission denied (EACCES): ports below 1024 need privileges'
            : e.message;
      reject(new Error(`${what}: cannot listen on ${host}:${port}: ${why}`));
    };
    server.once('error', onError);
    server.listen(port, host);
    server.once('listening', () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}
