/**
 * The admin side of the Worker, loaded on an isolate's first admin-host request (worker/index.ts
 * imports this module dynamically): the admin API (worker/admin), the operator's dashboard under
 * /dashboard (worker/dashboard) and Cloudflare's Load Balancing API paths under /client/v4
 * (worker/cloudflare-api). Their Hono apps, OpenAPI route definitions, request schemas and the
 * certificate parser are built here, so an isolate that only serves traffic never builds them
 * (issue #13: wrangler's esbuild inlines this module behind a lazy `__esm` initialiser).
 */
import { adminApp } from './admin/index.ts';
import { cloudflareApi, isCloudflareApiPath } from './cloudflare-api/index.ts';
import { dashboardApp, isDashboardPath } from './dashboard/index.tsx';
import type { Isolate } from './isolate.ts';
import { explainRequest } from './proxy/index.ts';
import { WorkerBackends } from './rpc.ts';

/** Answers one admin-host request; `path` is the request's path with its query (core/forward splitUrl). */
export type AdminServe = (request: Request, env: Env, ctx: ExecutionContext, path: string) => Response | Promise<Response>;

/**
 * Builds the three apps once for `isolate`: every successful write invalidates its config cache
 * (so this isolate's traffic sees the write at once), and the admin API's explainer routes a
 * hypothetical request through the isolate's own snapshot and proxy code.
 */
export function adminApps(isolate: Isolate): AdminServe {
  const admin = adminApp({
    onWrite: () => isolate.config.invalidate(),
    async explain(env, ctx, lbId, facts) {
      const backends = new WorkerBackends(env, ctx);
      return explainRequest(lbId, facts, isolate.deps(await isolate.snapshot(backends), backends));
    },
  });
  const dashboard = dashboardApp({ admin });
  const cloudflare = cloudflareApi(() => isolate.config.invalidate());
  return (request, env, ctx, path) => (isCloudflareApiPath(path) ? cloudflare : isDashboardPath(path) ? dashboard : admin).fetch(request, env, ctx);
}
