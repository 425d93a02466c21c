/**
 * The isolate's state, one object created once per isolate: the config snapshot cache, each load
 * balancer's health view, the outcome report buffers, the origin load tracker, the header-affinity
 * pin cache and the affinity cookie key. Time, randomness and the network come from it, so tests
 * can drive the proxy with a fake clock and a fake `fetch` (worker/proxy/index.node.test.ts).
 * Per request it hands the proxy a `ProxyDeps` bound to that request's Durable Object clients.
 */
import { affinityKey } from '../core/affinity/index.ts';
import type { LoadBalancer, Pool } from '../core/config/index.ts';
import type { LoadStats } from '../core/steer/index.ts';
import type { Outcome } from '../core/health/index.ts';
import type { Client, ConfigStoreApi, LbStateApi } from '../core/rpc/index.ts';
import type { Candidate, Snapshot } from '../core/route/index.ts';
import { LoadTracker } from '../core/steer/load.ts';
import type { PlaceFacts } from '../core/steer/pools.ts';
import { CookieAffinity, CookieMemo, PinCache, TableAffinity, type Affinity } from './affinity/index.ts';
import { SnapshotCache } from './config-cache/index.ts';
import { HealthViews, OutcomeReports, type HealthView } from './health/index.ts';
import type { RequestTarget } from '../core/forward/index.ts';
import { plain } from './proxy/forward.ts';
import { proxyRequest, type ProxyDeps } from './proxy/index.ts';
import { PlaceMemo } from '../core/steer/place-memo.ts';

/** How one request reaches the Durable Objects and keeps background work alive (the Worker: env + ExecutionContext). */
export interface Backends {
  config(): Client<ConfigStoreApi>;
  lbState(lbId: string): Client<LbStateApi>;
  waitUntil(p: Promise<unknown>): void;
  /** AFFINITY_SECRET: overrides the ConfigStore's generated cookie keys (snapshot.affinityKeys). */
  readonly affinitySecret: string | undefined;
}

export interface IsolateOptions {
  /** Epoch ms. Default Date.now. */
  now?: () => number;
  /** Uniform in [0, 1). Default Math.random. */
  random?: () => number;
  /** Default the runtime's fetch. */
  fetch?: typeof fetch;
  /** Waits `ms` (report batching). Default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Header-affinity pins cached per isolate (default MAX_CACHED_PINS). */
  maxCachedPins?: number;
  /** The longest a request waits on a Durable Object for config or health (ms, default 1000; see VersionedCache). */
  refreshDeadlineMs?: number;
}

export class Isolate {
  readonly now: () => number;
  readonly random: () => number;
  readonly fetch: typeof fetch;
  readonly config: SnapshotCache;
  readonly health: HealthViews;
  readonly reports: OutcomeReports;
  readonly load = new LoadTracker();
  readonly pins: PinCache;
  /** Cookie affinity's verified and sealed values (worker/affinity CookieMemo). */
  readonly cookies: CookieMemo;
  /** Places read from request.cf, by client address (core/steer PlaceMemo). */
  readonly places = new PlaceMemo();
  readonly deadlineMs: number;
  /** Bound once: routing calls it unbound. */
  readonly poolOutstanding = (poolId: string) => this.load.poolOutstanding(poolId);
  readonly loadStats = (pool: Pool) => this.load.stats(pool.id, pool.origins.length);
  #affinityKeys: { secrets: readonly string[]; keys: Promise<CryptoKey[]> } | undefined;

  constructor(options: IsolateOptions = {}) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.fetch = options.fetch ?? fetch;
    this.config = new SnapshotCache({ now: this.now, deadlineMs: options.refreshDeadlineMs });
    this.health = new HealthViews(this.now, options.refreshDeadlineMs);
    this.reports = new OutcomeReports(this.now, options.sleep);
    this.pins = new PinCache(options.maxCachedPins);
    this.cookies = new CookieMemo();
    this.deadlineMs = options.refreshDeadlineMs ?? 1000;
  }

  /**
   * Serves one load-balanced request (`url`: request.url split by core/forward splitUrl). Never
   * answers 500: a cold isolate whose config does not come within the deadline answers 503 with
   * Retry-After; any other failure of ours is a 502 with one line, logged once.
   */
  serve(request: Request, url: RequestTarget, backends: Backends): Promise<Response> {
    const snapshot = this.snapshot(backends);
    if (!(snapshot instanceof Promise)) return proxyRequest(request, url, this.deps(snapshot, backends));
    return snapshot.then((s) => proxyRequest(request, url, this.deps(s, backends)), unavailable);
  }

  /** The current config snapshot (synchronously when cached; see VersionedCache). */
  snapshot(backends: Backends): Snapshot | Promise<Snapshot> {
    return this.config.get(openConfig, backends, backends);
  }

  /** The proxy's dependencies for one request. */
  deps(snapshot: Snapshot, backends: Backends): ProxyDeps {
    return new RequestDeps(this, snapshot, backends);
  }

  /** The affinity cookie keys (newest first), imported once per set of secrets. */
  affinityKeys(secrets: readonly string[]): Promise<CryptoKey[]> {
    const held = this.#affinityKeys;
    if (held && held.secrets.length === secrets.length && held.secrets.every((s, i) => s === secrets[i])) return held.keys;
    this.#affinityKeys = { secrets, keys: Promise.all(secrets.map(affinityKey)) };
    return this.#affinityKeys.keys;
  }
}

const openConfig = (b: Backends) => b.config();

function unavailable(e: unknown): Response {
  console.error('config unavailable', e instanceof Error ? e.message : String(e));
  return plain(503, 'Load balancer configuration is unavailable; try again shortly.\n', { 'retry-after': '1' });
}

/** One request's view of the isolate: methods on the prototype, no closures per request. */
class RequestDeps implements ProxyDeps {
  readonly snapshot: Snapshot;
  readonly fetch: typeof fetch;
  readonly now: () => number;
  readonly random: () => number;
  readonly load: LoadTracker;
  readonly poolOutstanding: (poolId: string) => number;
  readonly loadStats: (pool: Pool) => LoadStats;
  readonly deadlineMs: number;
  readonly places: PlaceMemo;
  readonly #isolate: Isolate;
  readonly #backends: Backends;
  constructor(isolate: Isolate, snapshot: Snapshot, backends: Backends) {
    this.#isolate = isolate;
    this.#backends = backends;
    this.snapshot = snapshot;
    this.fetch = isolate.fetch;
    this.now = isolate.now;
    this.random = isolate.random;
    this.load = isolate.load;
    this.poolOutstanding = isolate.poolOutstanding;
    this.loadStats = isolate.loadStats;
    this.deadlineMs = isolate.deadlineMs;
    this.places = isolate.places;
  }
  health(lbId: string): HealthView | Promise<HealthView> {
    const b = this.#backends;
    return this.#isolate.health.get(lbId, (id) => b.lbState(id), b);
  }
  observe(lbId: string, candidate: Candidate, outcome: Outcome, latencyMs?: number, place?: PlaceFacts): void {
    this.#isolate.reports.observe(lbId, candidate, outcome, latencyMs === undefined ? undefined : { ms: latencyMs, place }, this.#backends);
  }
  count(lbId: string, candidate: Candidate, status: number, ms: number, sent: number, received: number, retry: boolean): void {
    this.#isolate.reports.count(lbId, candidate, status, ms, sent, received, retry, this.#backends);
  }
  affinity(lb: LoadBalancer): Affinity | undefined {
    const kind = lb.session_affinity;
    if (kind === 'cookie' || kind === 'ip_cookie') {
      const override = this.#backends.affinitySecret;
      const secrets = override ? [override] : this.snapshot.affinityKeys;
      return secrets.length ? new CookieAffinity(this.#isolate.affinityKeys(secrets), this.now, this.#isolate.cookies) : undefined;
    }
    if (kind === 'header') {
      const b = this.#backends;
      return new TableAffinity(this.#isolate.pins, (id) => b.lbState(id), b, this.now);
    }
    return undefined;
  }
}
