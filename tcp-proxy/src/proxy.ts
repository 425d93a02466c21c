/**
 * The proxy process: the operations port, the admin API source, one AppRunner per enabled TCP
 * app, their health (probes every second when due, the admin view every poll), and the drain.
 *
 * Config changes apply to new connections; a removed app (or one whose port changed) stops
 * accepting and its open connections drain as on SIGTERM. At start, a port already in use is
 * fatal (the error names the app and the port); later, the app is reported by /readyz instead.
 */
import type { Server } from 'node:http';
import type { TcpApp } from '../../core/config/index.ts';
import { healthTargets } from '../../core/health/targets.ts';
import { compileSnapshot } from '../../core/route/index.ts';
import { LoadTracker } from '../../core/steer/load.ts';
import { AdminSource } from './admin-source.ts';
import { AppRunner } from './app.ts';
import { AppHealth, type Probe } from './health.ts';
import type { Log } from './log.ts';
import { Metrics, serveOperations } from './metrics.ts';
import type { Settings } from './settings.ts';
import { connectWithin } from './splice.ts';

/** A TCP connect probe: the time to connect (ms), or the reason it failed. */
export const tcpProbe: Probe = async (address, port, timeoutMs) => {
  const t0 = performance.now();
  const s = await connectWithin(address, port, timeoutMs);
  s.destroy();
  return performance.now() - t0;
};

type Running = { runner: AppRunner; health: AppHealth; key: string };
/** What forces a new listener and fresh health: the port, and the origin port override. */
const runnerKey = (a: TcpApp) => `${a.listen_port}/${a.origin_port ?? ''}`;

export class TcpProxy {
  readonly metrics = new Metrics();
  readonly source: AdminSource;
  readonly #settings: Settings;
  readonly #log: Log;
  readonly #running = new Map<string, Running>();
  readonly #loads = new LoadTracker();
  readonly #problems = new Map<string, string>();
  readonly #retiring = new Set<Promise<unknown>>();
  /** Pool id → name of the loaded config (metric labels), set by #apply. */
  #poolNames = new Map<string, string>();
  #ops: Server | undefined;
  #timers: NodeJS.Timeout[] = [];
  #draining = false;
  #polling = false;

  constructor(settings: Settings, log: Log) {
    this.#settings = settings;
    this.#log = log;
    this.source = new AdminSource({ adminUrl: settings.adminUrl, token: settings.token, stateDir: settings.stateDir, log });
  }

  /** Why the proxy is not ready (no config yet, an app that cannot listen or lacks its certificate, draining), or undefined. */
  ready = (): string | undefined => {
    if (this.#draining) return 'draining';
    if (!this.source.loaded) return 'no config yet (admin API unreachable and no saved state)';
    const problems = [...this.#problems.values(), ...[...this.#running.values()].flatMap((r) => r.runner.problem ?? [])];
    return problems.length ? problems.join('; ') : undefined;
  };

  /** Starts everything; rejects (with a message naming the port) when a port is taken at start. */
  async start(): Promise<void> {
    const s = this.#settings;
    this.#ops = await serveOperations(this.metrics, this.ready, s.opsHost, s.opsPort);
    await this.source.loadCache();
    try {
      await this.source.refresh();
    } catch (e) {
      this.metrics.adminErrors.inc();
      this.#log('admin_unreachable', { reason: e instanceof Error ? e.message : String(e), serving_from: this.source.loaded ? 'saved state' : 'nothing yet' });
    }
    if (this.source.loaded) await this.#apply(true);
    this.#timers.push(setInterval(() => void this.#poll(), s.pollMs));
    this.#timers.push(setInterval(() => void this.#probe(), 1000));
    void this.#probe();
  }

  async #poll(): Promise<void> {
    if (this.#polling || this.#draining) return;
    this.#polling = true;
    try {
      if (await this.source.refresh()) await this.#apply(false);
      const pools = new Set([...this.#running.values()].flatMap((r) => [...r.health.states()].map((x) => x.poolId)));
      await Promise.all(
        [...pools].map(async (id) => {
          const view = await this.source.poolHealth(id).catch(() => undefined);
          if (view) for (const r of this.#running.values()) r.health.setAdminHealth(id, view);
        }),
      );
    } catch (e) {
      this.metrics.adminErrors.inc();
      this.#log('admin_poll_failed', { reason: e instanceof Error ? e.message : String(e) });
    } finally {
      this.#polling = false;
    }
  }

  /** Each app's due probes at once (a slow one delays no other app), then its origin_healthy gauges. */
  async #probe(): Promise<void> {
    await Promise.all(
      [...this.#running.values()].map(async ({ runner, health }) => {
        for (const c of await health.probeDue(tcpProbe))
          this.#log('origin_health', { app: runner.app.name, pool: c.poolId, origin: c.origin, from: c.from, to: c.to, reason: c.reason });
        for (const st of health.states()) {
          const pool = this.#poolNames.get(st.poolId) ?? st.poolId;
          this.metrics.originHealthy.set({ app: runner.app.name, pool, origin: st.origin }, st.usable ? 1 : 0);
        }
      }),
    );
  }

  /** Makes the running apps match the loaded config. `strict`: a port that cannot be opened rejects. */
  async #apply(strict: boolean): Promise<void> {
    const loaded = this.source.loaded!;
    const only = this.#settings.apps;
    const snapshot = compileSnapshot(loaded.doc, loaded.version);
    this.#poolNames = new Map(loaded.doc.pools.map((p) => [p.id, p.name]));
    const apps = loaded.doc.tcp_apps.filter((a) => a.enabled && (!only.length || only.includes(a.id) || only.includes(a.name)));
    const wanted = new Map(apps.map((a) => [a.id, a]));
    for (const [id, r] of this.#running) {
      const next = wanted.get(id);
      if (next && runnerKey(next) === r.key) continue;
      this.#running.delete(id);
      this.#retire(r.runner);
    }
    this.#problems.clear();
    for (const app of apps) {
      const r = this.#running.get(app.id);
      const health = r?.health ?? new AppHealth((o) => app.origin_port ?? o.port);
      health.setPools(healthTargets(loaded.doc, app.load_balancer).pools);
      const deps = { snapshot, health, loads: this.#loads, certificates: loaded.certificates, metrics: this.metrics, log: this.#log, random: Math.random };
      if (r) {
        r.runner.update(app, deps);
        continue;
      }
      const runner = new AppRunner(app, deps);
      try {
        await runner.listen(this.#settings.listenHost);
      } catch (e) {
        if (strict) throw e;
        this.#problems.set(app.id, e instanceof Error ? e.message : String(e));
        this.#log('app_listen_failed', { app: app.name, app_id: app.id, reason: e instanceof Error ? e.message : String(e) });
        continue;
      }
      this.#running.set(app.id, { runner, health, key: runnerKey(app) });
      this.#log('app_listening', { app: app.name, app_id: app.id, port: app.listen_port, load_balancer: app.load_balancer });
    }
    this.metrics.configVersion.set(loaded.version);
  }

  /** A runner that left the config: stops accepting, drains like SIGTERM. */
  #retire(runner: AppRunner): void {
    const done: Promise<unknown> = runner
      .stopAccepting()
      .then(() => runner.drain(Date.now() + this.#settings.drainTimeoutS * 1000))
      .then(() => this.#retiring.delete(done));
    this.#retiring.add(done);
  }

  /** SIGTERM: stop accepting everywhere, wait for open connections up to the drain timeout, cut the rest; resolves with how many were cut. */
  async stop(): Promise<number> {
    this.#draining = true;
    for (const t of this.#timers) clearInterval(t);
    const runners = [...this.#running.values()].map((r) => r.runner);
    await Promise.all(runners.map((r) => r.stopAccepting()));
    const open = runners.reduce((n, r) => n + r.openConnections, 0);
    this.#log('draining', { open_connections: open, drain_timeout_s: this.#settings.drainTimeoutS });
    const deadline = Date.now() + this.#settings.drainTimeoutS * 1000;
    const cut = (await Promise.all(runners.map((r) => r.drain(deadline)))).reduce((a, b) => a + b, 0);
    await Promise.all(this.#retiring);
    await new Promise((r) => (this.#ops ? this.#ops.close(() => r(undefined)) : r(undefined)));
    this.#ops?.closeAllConnections();
    return cut;
  }
}
