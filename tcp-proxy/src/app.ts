/**
 * One TCP app on this proxy: its listener, its limits (max_connections, max_connections_per_origin,
 * the queue), what each config version compiles once for every connection (the load balancer,
 * route inputs, firewall, TLS contexts, metric counts), and the drain. The path of one connection
 * is connection.ts.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { LoadBalancer, Pool, TcpApp } from '../../core/config/index.ts';
import type { CertificateMaterial } from '../../core/rpc/index.ts';
import type { RouteInputs, Snapshot } from '../../core/route/index.ts';
import type { LoadTracker } from '../../core/steer/load.ts';
import { Connection } from './connection.ts';
import { compileFirewall } from './firewall.ts';
import type { AppHealth } from './health.ts';
import type { Log } from './log.ts';
import { listenOrExplain, type AppStats, type Metrics, type OriginStats } from './metrics.ts';
import { tlsOf, type Tls } from './tls.ts';

/** How often idle connections are looked for (ms): idle_timeout is honoured to within this. */
export const IDLE_TICK_MS = 1000;

export interface AppDeps {
  snapshot: Snapshot;
  health: AppHealth;
  loads: LoadTracker;
  certificates: ReadonlyMap<string, CertificateMaterial>;
  metrics: Metrics;
  log: Log;
  random: () => number;
}

/** What one config version gives every connection of an app; a connection keeps the one it started with. */
export interface AppVersion {
  app: TcpApp;
  deps: AppDeps;
  lb: LoadBalancer | undefined;
  /** Route inputs without the client (connection.ts adds `facts`); `usable` also skips origins at their limit. */
  inputs: RouteInputs;
  firewall: (address: string) => boolean;
  tls: Tls | undefined;
  stats: AppStats;
  /** Per pool, the counts of each origin (by index), for metrics. */
  originStats(pool: Pool, i: number): OriginStats;
}

export class AppRunner {
  version: AppVersion;
  draining = false;
  /** Admitted connections (counted against max_connections). */
  admitted = 0;
  /** Connections open (admitted or not), for the drain. */
  readonly connections = new Set<Connection>();
  /** Origin connections of this app, per pool id and origin name (max_connections_per_origin). */
  readonly #perOrigin = new Map<string, Map<string, number>>();
  #waiters: (() => void)[] = [];
  #server: Server | undefined;
  /** Ticks every spliced connection's idle clock (splice.ts). */
  #sweep: NodeJS.Timeout | undefined;

  constructor(app: TcpApp, deps: AppDeps) {
    this.version = this.#compile(app, deps);
  }

  get app(): TcpApp {
    return this.version.app;
  }

  /** A new config version: new connections follow it, open ones keep going. */
  update(app: TcpApp, deps: AppDeps): void {
    this.version = this.#compile(app, deps);
    this.#wake();
  }

  #compile(app: TcpApp, deps: AppDeps): AppVersion {
    const { health, loads } = deps;
    const limit = app.max_connections_per_origin;
    const byPool = new WeakMap<Pool, OriginStats[]>();
    const stats = deps.metrics.app(app.name);
    return {
      app,
      deps,
      lb: deps.snapshot.loadBalancers.get(app.load_balancer),
      inputs: {
        random: deps.random,
        usable: limit === undefined ? health.usable : (p, i) => health.usable(p, i) && this.originCount(p, i) < limit,
        stats: (p) => loads.stats(p.id, p.origins.length),
        poolOutstanding: (id) => loads.poolOutstanding(id),
      },
      firewall: compileFirewall(app.ip_firewall),
      tls: tlsOf(app, deps.certificates),
      stats,
      originStats(pool, i) {
        let list = byPool.get(pool);
        if (!list) byPool.set(pool, (list = pool.origins.map((o) => stats.origin(pool.name, o.name))));
        return list[i]!;
      },
    };
  }

  /** Why this app cannot serve (a missing certificate), or undefined. */
  get problem(): string | undefined {
    return this.app.tls === 'terminate' && !this.version.tls ? `certificate ${this.app.certificate} is not available` : undefined;
  }

  get openConnections(): number {
    return this.connections.size;
  }

  async listen(host: string): Promise<void> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (s: Socket) => new Connection(this, s).start());
    this.#server = await listenOrExplain(server, host, this.app.listen_port, `TCP app ${this.app.name} (${this.app.id})`);
    this.#sweep = setInterval(() => {
      const now = Date.now();
      for (const c of this.connections) c.splice?.tick(now);
    }, IDLE_TICK_MS).unref();
  }

  /** Stops accepting; queued connections are refused. Open ones go on (see drain). */
  stopAccepting(): Promise<void> {
    this.draining = true;
    this.#wake();
    // close() stops listening at once; its callback waits for every connection, which drain() handles.
    this.#server?.close();
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** Waits up to `deadline` (epoch ms) for open connections to end, then cuts what is left; resolves with how many were cut. */
  async drain(deadline: number): Promise<number> {
    while (this.connections.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const cut = this.connections.size;
    for (const c of this.connections) c.cut();
    clearInterval(this.#sweep);
    return cut;
  }

  /** Origin connections of this app to origin `i` of `pool` now. */
  originCount(pool: Pool, i: number): number {
    return this.#perOrigin.get(pool.id)?.get(pool.origins[i]!.name) ?? 0;
  }

  /** Counts an origin connection opening (+1) or closing (-1). */
  countOrigin(pool: Pool, i: number, delta: 1 | -1): void {
    let counts = this.#perOrigin.get(pool.id);
    if (!counts) this.#perOrigin.set(pool.id, (counts = new Map()));
    const name = pool.origins[i]!.name;
    const n = (counts.get(name) ?? 0) + delta;
    if (n > 0) counts.set(name, n);
    else counts.delete(name);
    if (delta < 0) this.#wake();
  }

  /** A connection left: its slot frees. */
  release(): void {
    this.admitted--;
    this.#wake();
  }

  #wake(): void {
    if (!this.#waiters.length) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Waits for a slot to free until `deadline` (epoch ms); false on time-out, when draining, or when the queue is full (at most max_connections wait). */
  wait(deadline: number): Promise<boolean> {
    if (this.draining || this.app.on_limit !== 'queue' || this.#waiters.length >= this.app.max_connections) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        resolve(false);
      }, deadline - Date.now());
      const wake = () => (clearTimeout(timer), resolve(!this.draining));
      this.#waiters.push(wake);
    });
  }
}
