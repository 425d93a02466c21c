/**
 * The path of one client connection:
 * accept → PROXY header (accept_proxy) → ip_firewall → limits (refuse or queue) → TLS (terminate)
 * → origin steering (core/route: the load balancer's pools, failover, fallback and origin
 * steering, with this app's health) → connect (the next candidate on failure or timeout: nothing
 * was sent yet) → PROXY header to the origin → splice → one log line.
 *
 * The common path (no PROXY header from the client, no TLS, a free slot) makes no promise and no
 * closure: socket events call shared functions that find their Connection through a symbol, and
 * what a config version needs is compiled once (app.ts AppVersion).
 */
import { connect, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { MAX_ATTEMPTS_PER_POOL } from '../../core/forward/index.ts';
import { planRoute, type Candidate, type Plan } from '../../core/route/index.ts';
import type { AppRunner, AppVersion } from './app.ts';
import type { OriginStats } from './metrics.ts';
import { buildProxyHeader, readProxyHeader, type Endpoint, type ProxiedAddresses } from './proxy-header.ts';
import { Splice, type SpliceOwner } from './splice.ts';
import { handshake, HANDSHAKE_TIMEOUT_MS } from './tls.ts';

const kConnection = Symbol('connection');
type Tagged = Socket & { [kConnection]?: Connection };
const noop = () => undefined;
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class Connection implements SpliceOwner {
  readonly runner: AppRunner;
  /** The config version the connection started with. */
  readonly v: AppVersion;
  readonly raw: Socket;
  readonly t0 = performance.now();
  /** What is spliced to the origin: `raw`, or the TLS socket over it. */
  client: Socket | TLSSocket;
  /** The client's address and port (the PROXY header's with accept_proxy). */
  address = '';
  port = 0;
  /** Where the client connected to, from the PROXY header; read from `raw` when needed otherwise. */
  destination: Endpoint | undefined;
  sni: string | undefined;
  admitted = false;
  /** Until when a queued connection waits (epoch ms); 0 = not set yet. */
  deadline = 0;
  plan: Plan | undefined;
  rest: Iterator<Candidate> | undefined;
  /** Attempts per pool rank. */
  readonly tried: number[] = [];
  attempts = 0;
  candidate: Candidate | undefined;
  origin: Tagged | undefined;
  originStats: OriginStats | undefined;
  headerBytes = 0;
  splice: Splice | undefined;
  done = false;

  constructor(runner: AppRunner, raw: Socket) {
    this.runner = runner;
    this.v = runner.version;
    this.raw = raw;
    this.client = raw;
  }

  start(): void {
    const { raw, runner, v } = this;
    raw.on('error', noop); // before the splice; the socket is destroyed by finish()
    runner.connections.add(this);
    v.stats.downstreamActive++;
    this.address = raw.remoteAddress ?? '';
    this.port = raw.remotePort ?? 0;
    if (runner.draining) return this.finish('draining');
    if (!v.app.accept_proxy) return this.admit();
    readProxyHeader(raw, HANDSHAKE_TIMEOUT_MS).then(
      (h) => this.proxied(h),
      (e) => this.finish('proxy_header_error', message(e)),
    );
  }

  proxied(h: ProxiedAddresses | 'local'): void {
    if (this.done) return;
    if (h !== 'local') [this.address, this.port, this.destination] = [h.source.address, h.source.port, h.destination];
    this.admit();
  }

  /** ip_firewall, then max_connections: refuse, or queue. */
  admit(): void {
    const { runner, v } = this;
    if (!v.firewall(this.address)) return this.finish('refused_firewall');
    if (runner.admitted < v.app.max_connections && !runner.draining) {
      runner.admitted++;
      this.admitted = true;
      return this.secure();
    }
    if (v.app.on_limit !== 'queue' || runner.draining) return this.finish(runner.draining ? 'draining' : 'refused_limit');
    void this.queue();
  }

  async queue(): Promise<void> {
    const { runner, v } = this;
    this.deadline ||= Date.now() + v.app.queue_timeout * 1000;
    v.stats.queued++;
    let room = false;
    while (!room && !this.done && (await runner.wait(this.deadline))) room = runner.admitted < v.app.max_connections;
    v.stats.queued--;
    if (this.done) return;
    if (!room) return this.finish(runner.draining ? 'draining' : 'queue_timeout');
    runner.admitted++;
    this.admitted = true;
    this.secure();
  }

  secure(): void {
    if (this.v.app.tls !== 'terminate') return this.route();
    const tls = this.v.tls;
    if (!tls) return this.finish('tls_error', this.runner.problem);
    handshake(this.raw, tls).then(
      (s) => {
        this.client = s;
        this.sni = s.servername || undefined;
        if (this.done) s.destroy();
        else this.route();
      },
      (e) => this.finish('tls_error', message(e)),
    );
  }

  /** Plans over the load balancer (origins at max_connections_per_origin are not usable), then connects to the first candidate. */
  route(): void {
    const { lb, inputs, deps, app } = this.v;
    if (!lb?.enabled) return this.finish('no_origin');
    const input = { ...inputs, facts: { clientIp: this.address } };
    const plan = planRoute(deps.snapshot, lb, input);
    if (plan) {
      this.plan = plan;
      return this.attempt(plan.first);
    }
    const limited = app.max_connections_per_origin !== undefined && planRoute(deps.snapshot, lb, { ...input, usable: deps.health.usable }) !== undefined;
    if (!limited) return this.finish('no_origin');
    if (app.on_limit !== 'queue') return this.finish('refused_limit');
    this.deadline ||= Date.now() + app.queue_timeout * 1000;
    this.runner.wait(this.deadline).then((woken) => (this.done ? undefined : woken ? this.route() : this.finish('queue_timeout')));
  }

  /** Connects to `c` unless its pool had its attempts or it has no port; then the next candidate. */
  attempt(c: Candidate): void {
    const app = this.v.app;
    const port = app.origin_port ?? c.origin.port;
    const tried = this.tried[c.poolRank] ?? 0;
    if (!port || tried >= MAX_ATTEMPTS_PER_POOL) return this.next();
    this.tried[c.poolRank] = tried + 1;
    this.attempts++;
    this.candidate = c;
    const origin: Tagged = connect({ host: c.origin.address, port, allowHalfOpen: true, noDelay: true });
    origin[kConnection] = this;
    origin.on('connect', onOriginConnect).on('error', onOriginError).on('timeout', onOriginTimeout);
    origin.setTimeout(app.connect_timeout * 1000);
    this.origin = origin;
  }

  next(): void {
    this.rest ??= this.plan!.rest()[Symbol.iterator]();
    const r = this.rest.next();
    if (r.done) return this.finish('connect_failed');
    this.attempt(r.value);
  }

  connectFailed(reason: 'error' | 'timeout'): void {
    const origin = detach(this.origin!);
    const c = this.candidate!;
    origin.on('error', noop).destroy();
    this.origin = undefined;
    this.v.deps.health.report(c.pool.id, c.originIndex, reason === 'timeout' ? 'timeout' : 'connect_error');
    const stats = this.v.originStats(c.pool, c.originIndex);
    if (reason === 'timeout') stats.connectTimeouts++;
    else stats.connectErrors++;
    if (this.done) return;
    this.next();
  }

  connected(): void {
    const origin = detach(this.origin!).setTimeout(0); // the connect timeout; the splice keeps the idle one
    if (this.done) return void origin.destroy();
    const c = this.candidate!;
    const { v, runner } = this;
    this.plan = this.rest = undefined; // no more attempts: what an open connection holds is less
    v.deps.health.report(c.pool.id, c.originIndex, 'success');
    runner.countOrigin(c.pool, c.originIndex, 1);
    v.deps.loads.start(c.pool.id, c.pool.origins.length, c.originIndex);
    const stats = (this.originStats = v.originStats(c.pool, c.originIndex));
    stats.active++;
    stats.total++;
    if (v.app.proxy_protocol !== 'off') {
      const destination = this.destination ?? { address: this.raw.localAddress ?? '', port: this.raw.localPort ?? 0 };
      const header = buildProxyHeader(v.app.proxy_protocol, { address: this.address, port: this.port }, destination);
      this.headerBytes = header.length;
      origin.write(header);
    }
    this.splice = new Splice(this.client, origin, v.app.idle_timeout * 1000, this);
  }

  /** Both sides closed: counts and the log line. */
  spliced(reason: string): void {
    const c = this.candidate!;
    const origin = this.origin!;
    this.runner.countOrigin(c.pool, c.originIndex, -1);
    this.v.deps.loads.end(c.pool.id, c.pool.origins.length, c.originIndex);
    const stats = this.originStats!;
    stats.active--;
    const [bytesIn, bytesOut] = [origin.bytesWritten - this.headerBytes, origin.bytesRead];
    stats.receivedBytes += bytesIn;
    stats.sentBytes += bytesOut;
    this.finish('proxied', reason === 'closed' ? undefined : reason, bytesIn, bytesOut);
  }

  /** The drain's deadline passed: closes both sides now. */
  cut(): void {
    if (this.splice) return this.splice.fail('cut by drain');
    this.origin?.destroy();
    this.finish('draining');
  }

  finish(result: string, error?: string, bytesIn?: number, bytesOut?: number): void {
    if (this.done) return;
    this.done = true;
    const { runner, v, candidate: c } = this;
    this.raw.destroy();
    if (this.client !== this.raw) this.client.destroy();
    runner.connections.delete(this);
    if (this.admitted) runner.release();
    v.stats.downstreamActive--;
    v.stats.ended(result);
    v.deps.log('connection_closed', {
      app: v.app.name,
      app_id: v.app.id,
      client: `${this.address}:${this.port}`,
      sni: this.sni,
      pool: c?.pool.name,
      origin: c?.origin.name,
      attempts: c ? this.attempts : undefined,
      bytes_in: bytesIn,
      bytes_out: bytesOut,
      result,
      error,
      duration_ms: Math.round(performance.now() - this.t0),
    });
  }
}

function detach(origin: Tagged): Tagged {
  origin.removeListener('connect', onOriginConnect).removeListener('error', onOriginError).removeListener('timeout', onOriginTimeout);
  return origin;
}
function onOriginConnect(this: Tagged): void {
  this[kConnection]!.connected();
}
function onOriginError(this: Tagged): void {
  this[kConnection]!.connectFailed('error');
}
function onOriginTimeout(this: Tagged): void {
  this[kConnection]!.connectFailed('timeout');
}
