/**
 * The Worker entry: requests to an admin hostname (ADMIN_HOSTS) go to the admin API; every
 * other hostname is load-balanced traffic, whatever its path. The cron trigger is the health
 * watchdog.
 */
import { adminApp, type PreviewFacts } from './admin/index.ts';
import { SnapshotCache } from './config-cache/index.ts';
import { configStore, lbState, type Env } from './env.ts';
import { healthOf, observe, outcomeOf } from './health/index.ts';
import { proxyRequest, type ProxyDeps } from './proxy/index.ts';
import { splitUrl } from '../core/forward/index.ts';
import { healthTargets } from '../core/health/targets.ts';
import { affinityKey } from '../core/affinity/index.ts';
import { headerPins } from './affinity/index.ts';
import { explainRoute, type Candidate, type Explanation, type Snapshot } from '../core/route/index.ts';
import type { PlaceFacts } from '../core/steer/pools.ts';

export { ConfigStore } from '../durable-objects/config-store/index.ts';
export { LbState } from '../durable-objects/lb-state/index.ts';

/** One per isolate: the compiled config, refreshed in the background (see SnapshotCache). */
const snapshots = new SnapshotCache();
const admin = adminApp({ onWrite: () => snapshots.invalidate(), explain });

/** The routing explainer: the isolate's config and health, the request's facts, core's explainRoute. */
async function explain(env: Env, ctx: ExecutionContext, lbId: string, f: PreviewFacts): Promise<Explanation | undefined> {
  const snapshot = await snapshots.get(configStore, env, ctx);
  const lb = snapshot.loadBalancers.get(lbId);
  if (!lb) return undefined;
  const health = await healthOf(env, lbId, ctx);
  const headers = new Headers(f.headers);
  return explainRoute(snapshot, lb, {
    random: Math.random,
    usable: health.usable,
    poolLatency: health.poolLatency,
    place: { colo: f.colo, country: f.country, continent: f.continent, latitude: f.latitude, longitude: f.longitude },
    facts: { clientIp: f.client_ip, uri: f.path, header: (name) => headers.get(name), cookie: (name) => f.cookies[name] },
  });
}
let adminHosts: { raw: string | undefined; set: Set<string> } | undefined;

/** Whether `hostname` serves the admin API (ADMIN_HOSTS, default "localhost,127.0.0.1"). */
export function isAdminHost(env: Env, hostname: string): boolean {
  const raw = env.ADMIN_HOSTS;
  if (!adminHosts || adminHosts.raw !== raw) {
    const list = (raw ?? 'localhost,127.0.0.1').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
    adminHosts = { raw, set: new Set(list) };
  }
  return adminHosts.set.has(hostname.charCodeAt(0) === 91 /* [ */ ? hostname.slice(1, -1) : hostname);
}

let affinity: { secret: string; key: Promise<CryptoKey> } | undefined;
/** The affinity cookie key: AFFINITY_SECRET, else derived from ADMIN_TOKEN; none = affinity off. */
function affinityKeyFor(env: Env): Promise<CryptoKey> | undefined {
  const secret = env.AFFINITY_SECRET || (env.ADMIN_TOKEN ? `admin:${env.ADMIN_TOKEN}` : '');
  if (!secret) return undefined;
  if (affinity?.secret !== secret) affinity = { secret, key: affinityKey(secret) };
  return affinity.key;
}

/** What the proxy needs from this request's Worker context: one object, methods on the prototype
 * (no closures allocated per request). */
class WorkerDeps implements ProxyDeps {
  readonly snapshot: Snapshot;
  readonly random = Math.random;
  readonly fetch = fetch;
  readonly #env: Env;
  readonly #ctx: ExecutionContext;
  constructor(snapshot: Snapshot, env: Env, ctx: ExecutionContext) {
    this.snapshot = snapshot;
    this.#env = env;
    this.#ctx = ctx;
  }
  health(lbId: string) {
    return healthOf(this.#env, lbId, this.#ctx);
  }
  observe(lbId: string, candidate: Candidate, status: number | undefined, latencyMs?: number, place?: PlaceFacts): void {
    observe(this.#env, this.#ctx, lbId, candidate, outcomeOf(status), latencyMs === undefined ? undefined : { ms: latencyMs, place });
  }
  affinityKey() {
    return affinityKeyFor(this.#env);
  }
  headerPins() {
    return headerPins(this.#env, this.#ctx);
  }
}

/** Syncs each load balancer's health targets; returns how many were synced. */
export async function watchdog(env: Env): Promise<number> {
  const { doc } = await configStore(env).snapshot(-1);
  if (!doc) return 0;
  const results = await Promise.allSettled(
    doc.load_balancers.map((lb) => lbState(env, lb.id).sync(healthTargets(doc, lb.id))),
  );
  for (const r of results) if (r.status === 'rejected') console.error('watchdog: sync failed', String(r.reason));
  await snapshots.refresh(configStore(env));
  return results.filter((r) => r.status === 'fulfilled').length;
}

export default {
  fetch(request, env, ctx): Response | Promise<Response> {
    const url = splitUrl(request.url);
    if (isAdminHost(env, url.hostname)) return admin.fetch(request, env, ctx);
    const snapshot = snapshots.get(configStore, env, ctx);
    if (!(snapshot instanceof Promise)) return proxyRequest(request, url, new WorkerDeps(snapshot, env, ctx));
    return snapshot.then(
      (s) => proxyRequest(request, url, new WorkerDeps(s, env, ctx)),
      (e: unknown) => {
        console.error('config unavailable', e instanceof Error ? e.message : String(e));
        return new Response('Load balancer configuration is unavailable; try again shortly.\n', { status: 503, headers: { 'retry-after': '1' } });
      },
    );
  },

  /** The watchdog: re-syncs every load balancer's LbState (which re-arms its alarm; overdue probes run at once). */
  async scheduled(_controller, env, ctx): Promise<void> {
    ctx.waitUntil(watchdog(env));
  },
} satisfies ExportedHandler<Env>;
