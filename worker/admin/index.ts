/**
 * The admin API (`/admin/v1`), JSON in Cloudflare's v4 envelope `{success, errors, messages, result}`.
 *
 * Fails closed: with no ADMIN_TOKEN configured every request is refused (401). The bearer token
 * is compared in constant time (hono's timingSafeEqual: SHA-256 of both, then a constant-time
 * compare). Writes go to the ConfigStore, which validates and applies them all or nothing.
 */
import { Hono, type Context } from 'hono';
import { timingSafeEqual } from 'hono/utils/buffer';
import { ErrorCode, fromZod, type ApiError, type Kind, type Outcome } from '../../core/config/index.ts';
import { configStore, type Env } from '../env.ts';
import { API_PREFIX, RESOURCES, openApiDocument } from './routes.ts';
import { mountHealth } from './health.ts';
import { PreviewFacts } from './preview.ts';
export { PreviewFacts } from './preview.ts';

type AdminContext = Context<{ Bindings: Env }>;

export function envelope(result: unknown, errors: ApiError[] = []) {
  return { success: errors.length === 0, errors, messages: [], result };
}

export function failure(c: Context, status: 400 | 401 | 404 | 409 | 412 | 415 | 500, errors: ApiError[]): Response {
  return c.json(envelope(null, errors), status);
}

function reply<T>(c: AdminContext, outcome: Outcome<{ value: T; etag: string }>, status: 200 | 201 = 200): Response {
  if (!outcome.ok) return failure(c, outcome.status, outcome.errors);
  c.header('etag', outcome.value.etag);
  return c.json(envelope(outcome.value.value), status);
}

/** Reads a JSON body; undefined (after answering 400/415) when it is not JSON. */
async function jsonBody(c: AdminContext): Promise<{ body: unknown } | Response> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/([a-z.-]+\+)?json\b/i.test(type)) {
    return failure(c, 415, [{ code: ErrorCode.invalid, message: 'the body must be JSON (Content-Type: application/json)' }]);
  }
  try {
    return { body: await c.req.json() };
  } catch (e) {
    return failure(c, 400, [{ code: ErrorCode.invalid, path: '', message: `the body is not valid JSON: ${(e as Error).message}` }]);
  }
}

/** Called after every successful write, so this isolate's traffic sees it at once. */
export type OnWrite = () => void;

export interface AdminDeps {
  onWrite: OnWrite;
  /** Routes a hypothetical request through the same code as traffic; undefined for an unknown id. */
  explain(env: Env, ctx: ExecutionContext, lbId: string, facts: PreviewFacts): Promise<unknown | undefined>;
}

export function adminApp({ onWrite, explain }: AdminDeps): Hono<{ Bindings: Env }> {
  const app = new Hono<{ Bindings: Env }>();
  let openapi: object | undefined;

  app.use('*', async (c, next) => {
    const expected = c.env.ADMIN_TOKEN;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
    if (!expected || !match || !(await timingSafeEqual(match[1]!, expected))) {
      c.header('www-authenticate', 'Bearer realm="edge-lb admin"');
      const reason = !expected ? 'the admin API is disabled: no ADMIN_TOKEN is configured' : 'a valid bearer token is required';
      return failure(c, 401, [{ code: ErrorCode.unauthorized, message: reason }]);
    }
    await next();
  });

  app.get(`${API_PREFIX}/openapi.json`, (c) => c.json((openapi ??= openApiDocument())));

  app.get(`${API_PREFIX}/config`, async (c) => reply(c, { ok: true, value: await configStore(c.env).exportConfig() }));
  app.put(`${API_PREFIX}/config`, async (c) => {
    const read = await jsonBody(c);
    if (read instanceof Response) return read;
    const outcome = await configStore(c.env).importConfig(read.body, c.req.header('if-match'));
    if (outcome.ok) onWrite();
    return reply(c, outcome);
  });

  mountHealth(app);
  app.post(`${API_PREFIX}/load_balancers/:id/preview`, async (c) => {
    const read = await jsonBody(c);
    if (read instanceof Response) return read;
    const facts = PreviewFacts.safeParse(read.body);
    if (!facts.success) return failure(c, 400, fromZod(facts.error));
    const result = await explain(c.env, c.executionCtx as unknown as ExecutionContext, c.req.param('id'), facts.data);
    if (result === undefined) return failure(c, 404, [{ code: ErrorCode.notFound, message: `load balancer ${c.req.param('id')} not found` }]);
    return c.json(envelope(result));
  });
  app.patch(`${API_PREFIX}/pools/:id/origins/:name`, async (c) => {
    const read = await jsonBody(c);
    if (read instanceof Response) return read;
    const outcome = await configStore(c.env).patchOrigin(c.req.param('id'), c.req.param('name'), read.body, c.req.header('if-match'));
    if (outcome.ok) onWrite();
    return reply(c, outcome);
  });
  for (const { kind } of RESOURCES) mountResource(app, kind, onWrite);

  app.notFound((c) => failure(c, 404, [{ code: ErrorCode.notFound, message: `no admin route ${c.req.method} ${c.req.path}` }]));
  app.onError((err, c) => {
    console.error('admin error', err instanceof Error ? err.message : String(err));
    return failure(c, 500, [{ code: 500, message: 'internal error' }]);
  });
  return app;
}

function mountResource(app: Hono<{ Bindings: Env }>, kind: Kind, onWrite: OnWrite): void {
  const base = `${API_PREFIX}/${kind}`;
  const written = <T>(outcome: Outcome<T>): Outcome<T> => {
    if (outcome.ok) onWrite();
    return outcome;
  };
  app.get(base, async (c) => reply(c, { ok: true, value: await configStore(c.env).list(kind) }));
  app.get(`${base}/:id`, async (c) => reply(c, await configStore(c.env).get(kind, c.req.param('id'))));
  app.post(base, async (c) => {
    const read = await jsonBody(c);
    if (read instanceof Response) return read;
    return reply(c, written(await configStore(c.env).create(kind, read.body)), 201);
  });
  app.put(`${base}/:id`, async (c) => {
    const read = await jsonBody(c);
    if (read instanceof Response) return read;
    return reply(c, written(await configStore(c.env).replace(kind, c.req.param('id'), read.body, c.req.header('if-match'))));
  });
  app.patch(`${base}/:id`, async (c) => {
    const read = await jsonBody(c);
    if (read instanceof Response) return read;
    return reply(c, written(await configStore(c.env).patch(kind, c.req.param('id'), read.body, c.req.header('if-match'))));
  });
  app.delete(`${base}/:id`, async (c) => {
    const outcome = written(await configStore(c.env).remove(kind, c.req.param('id'), c.req.header('if-match')));
    if (!outcome.ok) return failure(c, outcome.status, outcome.errors);
    return c.json(envelope(outcome.value));
  });
}
