/**
 * The Worker entry: requests to an admin hostname (ADMIN_HOSTS) go to the admin API; every
 * other hostname is load-balanced traffic, whatever its path. The cron trigger keeps the config
 * cache warm today and becomes the health watchdog with issue "Health".
 */
import { adminApp } from './admin/index.ts';
import { SnapshotCache } from './config-cache/index.ts';
import { configStore, type Env } from './env.ts';
import { proxyRequest } from './proxy/index.ts';

export { ConfigStore } from '../durable-objects/config-store/index.ts';

/** One per isolate: the compiled config, refreshed in the background (see SnapshotCache). */
const snapshots = new SnapshotCache();
const admin = adminApp(() => snapshots.invalidate());
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

export default {
  fetch(request, env, ctx): Response | Promise<Response> {
    const url = new URL(request.url);
    if (isAdminHost(env, url.hostname)) return admin.fetch(request, env, ctx);
    const snapshot = snapshots.get(configStore, env, ctx);
    if (!(snapshot instanceof Promise)) return proxyRequest(request, url, { snapshot, random: Math.random, fetch });
    return snapshot.then(
      (s) => proxyRequest(request, url, { snapshot: s, random: Math.random, fetch }),
      (e: unknown) => {
        console.error('config unavailable', e instanceof Error ? e.message : String(e));
        return new Response('Load balancer configuration is unavailable; try again shortly.\n', { status: 503, headers: { 'retry-after': '1' } });
      },
    );
  },

  async scheduled(_controller, env, ctx): Promise<void> {
    ctx.waitUntil(snapshots.refresh(configStore(env)));
  },
} satisfies ExportedHandler<Env>;
