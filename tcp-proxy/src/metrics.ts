/**
 * Prometheus metrics (prom-client) and the operations port: `/healthz` (the process answers),
 * `/readyz` (200 once a config is loaded and every enabled app listens, 503 with the reason
 * otherwise and while draining), `/metrics` (text exposition). Envoy's tcp_proxy statistics under
 * Prometheus names: `downstream` is the client side, `upstream` the origin side.
 */
import { createServer, type Server } from 'node:http';
import type { Server as NetServer } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  /** Client connections accepted, by app and how they ended (proxied, refused_firewall, refused_limit, queue_timeout, no_origin, proxy_header_error, tls_error, connect_failed, draining). */
  readonly downstreamTotal = new Counter({
    name: 'tcp_proxy_downstream_connections_total',
    help: 'Client connections by how they ended',
    labelNames: ['app', 'result'],
    registers: [this.registry],
  });
  readonly downstreamActive = new Gauge({
    name: 'tcp_proxy_downstream_connections_active',
    help: 'Client connections open (queued ones included)',
    labelNames: ['app'],
    registers: [this.registry],
  });
  readonly queued = new Gauge({
    name: 'tcp_proxy_queued_connections',
    help: 'Client connections waiting for a slot (on_limit queue)',
    labelNames: ['app'],
    registers: [this.registry],
  });
  readonly upstreamActive = new Gauge({
    name: 'tcp_proxy_upstream_connections_active',
    help: 'Origin connections open',
    labelNames: ['app', 'pool', 'origin'],
    registers: [this.registry],
  });
  readonly upstreamTotal = new Counter({
    name: 'tcp_proxy_upstream_connections_total',
    help: 'Origin connections established',
    labelNames: ['app', 'pool', 'origin'],
    registers: [this.registry],
  });
  readonly connectFailures = new Counter({
    name: 'tcp_proxy_upstream_connect_failures_total',
    help: 'Origin connect attempts that failed (reason: error or timeout)',
    labelNames: ['app', 'pool', 'origin', 'reason'],
    registers: [this.registry],
  });
  readonly receivedBytes = new Counter({
    name: 'tcp_proxy_downstream_received_bytes_total',
    help: 'Bytes from clients, counted when a connection closes',
    labelNames: ['app', 'pool', 'origin'],
    registers: [this.registry],
  });
  readonly sentBytes = new Counter({
    name: 'tcp_proxy_downstream_sent_bytes_total',
    help: 'Bytes to clients, counted when a connection closes',
    labelNames: ['app', 'pool', 'origin'],
    registers: [this.registry],
  });
  readonly originHealthy = new Gauge({
    name: 'tcp_proxy_origin_healthy',
    help: '1 when the origin is usable by health (probes, ejection, admin view)',
    labelNames: ['app', 'pool', 'origin'],
    registers: [this.registry],
  });
  readonly configVersion = new Gauge({ name: 'tcp_proxy_config_version', help: 'The config version in use', registers: [this.registry] });
  readonly adminErrors = new Counter({ name: 'tcp_proxy_admin_api_errors_total', help: 'Polls of the admin API that failed', registers: [this.registry] });

  constructor() {
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
