/**
 * The admin API (`/admin/v1`), JSON in Cloudflare's v4 envelope `{success, errors, messages, result}`,
 * built from its route definitions (@hono/zod-openapi): one `createRoute` per endpoint, whose
 * schemas validate requests, type the handlers and the `hono/client` of `AdminApp`, and make the
 * OpenAPI 3.1 document served at `/admin/v1/openapi.json`.
 *
 * - Auth: auth.ts (bearer token, fails closed; read-only tokens may only read). Bodies: body.ts (size, type, nesting, syntax).
 * - Validation failures of a route's params, query, headers or body: 400, one error per problem
 *   naming its field path (core/config fromZod), through the app's `defaultHook`.
 * - Configuration writes are validated by the ConfigStore through core/config (resources.ts).
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import { ErrorCode, fromZod } from '../../core/config/index.ts';
import { adminAuth } from './auth.ts';
import { certificateRoutes } from './certificates.ts';
import { dnsRoutes } from './dns.ts';
import { API_PREFIX, failure, type AdminBindings, type AdminEnv, type FailureStatus } from './envelope.ts';
import { healthRoutes } from './health.ts';
import { importRoutes } from './import.ts';
import { metricsRoutes } from './metrics.ts';
import { explainerRoutes, type PreviewFacts } from './preview.ts';
import { configurationRoutes, type OnWrite } from './resources.ts';
import { webhookRoutes } from './webhooks.ts';

export { PreviewFacts } from './preview.ts';
export type { OnWrite } from './resources.ts';
export type { AdminBindings, AdminEnv } from './envelope.ts';
export { API_PREFIX } from './envelope.ts';

export interface AdminDeps {
  /** Called after every successful write, so this isolate's traffic sees it at once. */
  onWrite: OnWrite;
  /** Routes a hypothetical request through the same code as traffic; undefined for an unknown load balancer id. */
  explain(env: AdminBindings, ctx: ExecutionContext, lbId: string, facts: PreviewFacts): Promise<unknown | undefined>;
}

const DOCUMENT = {
  openapi: '3.1.0',
  info: {
    title: 'edge-lb admin API',
    version: '1.0.0',
    description: "Cloudflare Load Balancing's names; every answer is in the v4 envelope {success, errors, messages, result}.",
  },
  security: [{ bearer: [] }],
};

/** The admin app. The Worker entry makes one per isolate and hands it admin-host requests. */
export function adminApp({ onWrite, explain }: AdminDeps) {
  const app = new OpenAPIHono<AdminEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return failure(c, 400, fromZod(result.error));
    },
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.use('*', ...adminAuth());
  app.notFound((c) => failure(c, 404, [{ code: ErrorCode.notFound, message: `no admin route ${c.req.method} ${c.req.path}` }]));
  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      // bearerAuth's refusals carry their own (envelope) response; others get one here.
      if (err.res) return err.getResponse();
      return failure(c, err.status as FailureStatus, [{ code: ErrorCode.invalid, message: err.message }]);
    }
    console.error('admin error', err instanceof Error ? err.message : String(err));
    return failure(c, 500, [{ code: 500, message: 'internal error' }]);
  });

  const api = app
    .route(API_PREFIX, configurationRoutes(onWrite))
    .route(API_PREFIX, importRoutes(onWrite))
    .route(API_PREFIX, healthRoutes())
    .route(API_PREFIX, metricsRoutes())
    .route(API_PREFIX, dnsRoutes())
    .route(API_PREFIX, webhookRoutes())
    .route(API_PREFIX, certificateRoutes())
    .route(API_PREFIX, explainerRoutes(explain));

  // Generated once per app from the registered routes (not per request).
  let document: object | undefined;
  return api.get(`${API_PREFIX}/openapi.json`, (c) => c.json((document ??= api.getOpenAPI31Document(DOCUMENT))));
}

/** The admin app's type: what `hc<AdminApp>` (hono/client) calls. */
export type AdminApp = ReturnType<typeof adminApp>;
