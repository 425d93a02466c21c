/**
 * The Worker entry: requests to an admin hostname (ADMIN_HOSTS) go to the admin API (and under
 * /dashboard to the operator's dashboard, worker/dashboard; under /client/v4 to Cloudflare's Load
 * Balancing API paths, worker/cloudflare-api); every other
 * hostname is load-balanced traffic, whatever its path, except /dns-query on a DOH_HOSTS hostname
 * (DNS-over-HTTPS for DNS-only load balancers, worker/doh). The cron trigger is the health watchdog.
 * The isolate's state lives in one object (worker/isolate.ts).
 */
import { splitUrl } from '../core/forward/index.ts';
import { adminApp } from './admin/index.ts';
import { cloudflareApi, isCloudflareApiPath } from './cloudflare-api/index.ts';
import { dashboardApp, isDashboardPath } from './dashboard/index.tsx';
import { serveDoh, isDohPath } from './doh/index.ts';
import { isAdminHost, isDohHost } from './hosts.ts';
import { Isolate } from './isolate.ts';
import { explainRequest } from './proxy/index.ts';
import { WorkerBackends } from './rpc.ts';
import { watchdog } from './scheduled.ts';

export { ConfigStore } from '../durable-objects/config-store/index.ts';
export { LbState } from '../durable-objects/lb-state/index.ts';
export { DnsZoneWriter } from '../durable-objects/dns-zone/index.ts';

const isolate = new Isolate();

const admin = adminApp({
  onWrite: () => isolate.config.invalidate(),
  async explain(env, ctx, lbId, facts) {
    const backends = new WorkerBackends(env, ctx);
    return explainRequest(lbId, facts, isolate.deps(await isolate.snapshot(backends), backends));
  },
});
const dashboard = dashboardApp({ admin });
/** Cloudflare's Load Balancing API paths (/client/v4), with the admin API's auth. */
const cloudflare = cloudflareApi(() => isolate.config.invalidate());

export default {
  fetch(request, env, ctx): Response | Promise<Response> {
    const url = splitUrl(request.url);
    // DNS-over-HTTPS first: a DoH host may also be an admin host (localhost), whose paths are /admin and /dashboard.
    if (isDohPath(url) && isDohHost(env, url.hostname)) return serveDoh(request, isolate, new WorkerBackends(env, ctx));
    if (isAdminHost(env, url.hostname)) {
      return (isCloudflareApiPath(url.path) ? cloudflare : isDashboardPath(url.path) ? dashboard : admin).fetch(request, env, ctx);
    }
    return isolate.serve(request, url, new WorkerBackends(env, ctx));
  },

  /** The watchdog: re-syncs every load balancer's LbState, then refreshes this isolate's config. */
  async scheduled(_controller, env, ctx): Promise<void> {
    ctx.waitUntil(watchdog(env).then(() => isolate.config.refresh(new WorkerBackends(env, ctx).config())));
  },
} satisfies ExportedHandler<Env>;
