/**
 * The Worker entry: requests to an admin hostname (ADMIN_HOSTS) go to the admin API (and under
 * /dashboard to the operator's dashboard, worker/dashboard; under /client/v4 to Cloudflare's Load
 * Balancing API paths, worker/cloudflare-api); every other
 * hostname is load-balanced traffic, whatever its path, except /dns-query on a DOH_HOSTS hostname
 * (DNS-over-HTTPS for DNS-only load balancers, worker/doh). The cron trigger is the health watchdog.
 * The isolate's state lives in one object (worker/isolate.ts). The admin side (worker/admin-apps.ts)
 * is imported on an isolate's first admin-host request, so an isolate that only serves traffic
 * never builds its apps, route definitions and schemas (issue #13).
 */
import './zod-openapi.ts'; // before any module builds a zod schema
import { splitUrl } from '../core/forward/index.ts';
import type { AdminServe } from './admin-apps.ts';
import { serveDoh, isDohPath } from './doh/index.ts';
import { isAdminHost, isDohHost } from './hosts.ts';
import { Isolate } from './isolate.ts';
import { WorkerBackends } from './rpc.ts';
import { watchdog } from './scheduled.ts';

export { ConfigStore } from '../durable-objects/config-store/index.ts';
export { LbState } from '../durable-objects/lb-state/index.ts';
export { DnsZoneWriter } from '../durable-objects/dns-zone/index.ts';

const isolate = new Isolate();

/** The admin side, built once per isolate on its first admin-host request (a failed load is retried by the next one). */
let admin: Promise<AdminServe> | undefined;
function adminServe(): Promise<AdminServe> {
  admin ??= import('./admin-apps.ts')
    .then((m) => m.adminApps(isolate))
    .catch((err: unknown) => {
      admin = undefined;
      throw err;
    });
  return admin;
}

export default {
  fetch(request, env, ctx): Response | Promise<Response> {
    const url = splitUrl(request.url);
    // DNS-over-HTTPS first: a DoH host may also be an admin host (localhost), whose paths are /admin and /dashboard.
    if (isDohPath(url) && isDohHost(env, url.hostname)) return serveDoh(request, isolate, new WorkerBackends(env, ctx));
    if (isAdminHost(env, url.hostname)) {
      return adminServe().then((serve) => serve(request, env, ctx, url.path));
    }
    return isolate.serve(request, url, new WorkerBackends(env, ctx));
  },

  /** The watchdog: re-syncs every load balancer's LbState, then refreshes this isolate's config. */
  async scheduled(_controller, env, ctx): Promise<void> {
    ctx.waitUntil(watchdog(env).then(() => isolate.config.refresh(new WorkerBackends(env, ctx).config())));
  },
} satisfies ExportedHandler<Env>;
