/**
 * Cloudflare's Load Balancing API paths (`/client/v4`), so that Cloudflare's SDK (npm `cloudflare`,
 * pointed here by its `baseURL`), Terraform-style scripts and curl recipes drive us unchanged.
 * Served on the admin hosts only, with the admin API's auth (worker/admin/auth.ts: bearer token;
 * read-only tokens may GET, every write is 403).
 *
 * | path under /client/v4                                   | methods                           |
 * | ------------------------------------------------------- | --------------------------------- |
 * | /accounts/:account_id/load_balancers/monitors[/:id]     | GET list, POST; GET, PUT, PATCH, DELETE |
 * | /accounts/:account_id/load_balancers/pools[/:id]        | same; list takes `?monitor=<id>`  |
 * | /accounts/:account_id/load_balancers/pools/:id/health   | GET                               |
 * | /accounts/:account_id/load_balancers/monitors/:id/preview | POST (previews.ts)              |
 * | /accounts/:account_id/load_balancers/pools/:id/preview  | POST (previews.ts)                |
 * | /accounts/:account_id/load_balancers/preview/:preview_id | GET (previews.ts)               |
 * | /zones/:zone_id/load_balancers[/:id]                    | same as monitors                  |
 * | /accounts/:account_id/load_balancers[/:id]              | same (the SDK's account-level load balancers) |
 *
 * - One tenant: the account and zone ids in the path are accepted as given and select nothing;
 *   every call sees the one configuration. An id of `monitors` or `pools` (ours are 32 hex digits
 *   unless given) can only be reached on the zone path.
 * - Bodies and answers are Cloudflare's shapes, mapped by core/config/cloudflare (shapes.ts);
 *   writes go through the ConfigStore's resource RPCs, as `/admin/v1` writes do: validated, all
 *   or nothing, errors naming the field. PUT replaces (Cloudflare's defaults where absent: our
 *   extension fields, which its shape cannot carry, are kept from the stored object); PATCH sets
 *   the top-level fields it names (Cloudflare's "overwriting the supplied properties"), as a PUT of
 *   the stored object with those fields replaced. Both write with the read's ETag and read again
 *   after a concurrent write (twice at most, then 412).
 * - Envelope, paging and error codes: envelope.ts. Creates answer 200, as Cloudflare does.
 * - Previews are Cloudflare's two steps (POST answers a preview_id, GET reads the result):
 *   previews.ts. A preview POST is a write for read-only tokens, as at Cloudflare.
 * - Not served: references, monitor groups, regions, search, pools bulk edit: each is
 *   Cloudflare's 404 code 7000 (but a GET of one segment under the
 *   account's load_balancers, `/regions`, reads as a load balancer id: 404 code 1004).
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { type ApiError, type CloudflareKind, type Outcome, type Pool } from '../../core/config/index.ts';
import type { Versioned } from '../../core/rpc/index.ts';
import { adminAuth } from '../admin/auth.ts';
import { BODY_LIMIT, jsonBody } from '../admin/body.ts';
import type { AdminEnv } from '../admin/envelope.ts';
import { poolHealthOf } from '../admin/health.ts';
import type { OnWrite } from '../admin/resources.ts';
import { configStore } from '../rpc.ts';
import { NOT_AN_OBJECT, cfFail, cfOk, listQuery, noRoute, pageOf, type CfFailureStatus } from './envelope.ts';
import { previewRoutes } from './previews.ts';
import { fromCloudflare, keepOurs, toCloudflareList, toCloudflareOne } from './shapes.ts';

/** Every path this app answers starts with this. */
export const CLOUDFLARE_API_PREFIX = '/client/v4';

/** Whether a request path (query included or not) is under CLOUDFLARE_API_PREFIX. */
export function isCloudflareApiPath(path: string): boolean {
  return path === CLOUDFLARE_API_PREFIX || path.startsWith(`${CLOUDFLARE_API_PREFIX}/`) || path.startsWith(`${CLOUDFLARE_API_PREFIX}?`);
}

/** Writes that met a concurrent write read again this many times before answering 412. */
const WRITE_ATTEMPTS = 3;

type Ctx = Context<AdminEnv>;
type Obj = Record<string, unknown>;
type Stored = Obj & { id: string };
/** The ConfigStore's resource methods, for the three kinds this app serves. */
interface Store {
  list(kind: CloudflareKind): Promise<Versioned<Stored[]>>;
  get(kind: CloudflareKind, id: string): Promise<Outcome<Versioned<Stored>>>;
  create(kind: CloudflareKind, input: unknown): Promise<Outcome<Versioned<Stored>>>;
  replace(kind: CloudflareKind, id: string, input: unknown, ifMatch?: string): Promise<Outcome<Versioned<Stored>>>;
  remove(kind: CloudflareKind, id: string): Promise<Outcome<{ id: string }>>;
}
const store = (c: Ctx) => configStore(c.env) as unknown as Store;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function refused(c: Ctx, outcome: { status: CfFailureStatus; errors: ApiError[] }) {
  return cfFail(c, outcome.status, outcome.errors);
}

/** Answers a stored object in Cloudflare's shape, with `extra` warnings first. */
function answerOne(c: Ctx, kind: CloudflareKind, item: object, extra: readonly string[] = []) {
  const { result, messages } = toCloudflareOne(kind, item);
  return cfOk(c, result, [...new Set([...extra, ...messages])]);
}

/**
 * Replaces `id` with `build(stored)` (a Cloudflare-shaped object, or errors), with our extension
 * fields of the stored object kept; reads again when a concurrent write made its ETag stale.
 */
async function rewrite(c: Ctx, kind: CloudflareKind, id: string, onWrite: OnWrite, build: (stored: Stored) => ReturnType<typeof fromCloudflare>) {
  for (let attempt = 1; ; attempt++) {
    const read = await store(c).get(kind, id);
    if (!read.ok) return refused(c, read);
    const prepared = build(read.value.value);
    if (!prepared.ok) return cfFail(c, 400, prepared.errors);
    const next = keepOurs(kind, read.value.value, prepared.value.obj);
    const outcome = await store(c).replace(kind, id, next, read.value.etag);
    if (!outcome.ok && outcome.status === 412 && attempt < WRITE_ATTEMPTS) continue;
    if (!outcome.ok) return refused(c, outcome);
    onWrite();
    return answerOne(c, kind, outcome.value.value, prepared.value.messages);
  }
}

/** The six routes of one kind at `base` (list, create; get, update, edit, delete at `base/:id`). */
function kindRoutes(app: Hono<AdminEnv>, base: string, kind: CloudflareKind, onWrite: OnWrite) {
  const one = `${base}/:id`;
  const [limit, json] = jsonBody(BODY_LIMIT) as [MiddlewareHandler<AdminEnv>, MiddlewareHandler<AdminEnv>];
  const idOf = (c: Ctx) => c.req.param('id') ?? '';
  app.get(base, async (c) => {
    const query = listQuery(c);
    if (!query.ok) return cfFail(c, 400, query.errors);
    const { monitor } = query.value;
    const all = (await store(c).list(kind)).value;
    const chosen = kind === 'pools' && monitor !== undefined ? all.filter((p) => (p as unknown as Pool).monitor === monitor) : all;
    const { items, info } = pageOf(chosen, query.value);
    const { result, messages } = toCloudflareList(kind, items);
    return cfOk(c, result, messages, info);
  });
  app.post(base, limit, json, async (c) => {
    const prepared = fromCloudflare(kind, await c.req.json());
    if (!prepared.ok) return cfFail(c, 400, prepared.errors);
    const outcome = await store(c).create(kind, prepared.value.obj);
    if (!outcome.ok) return refused(c, outcome);
    onWrite();
    return answerOne(c, kind, outcome.value.value, prepared.value.messages);
  });
  app.get(one, async (c) => {
    const read = await store(c).get(kind, idOf(c));
    return read.ok ? answerOne(c, kind, read.value.value) : refused(c, read);
  });
  app.put(one, limit, json, async (c) => {
    const input: unknown = await c.req.json();
    return rewrite(c, kind, idOf(c), onWrite, () => fromCloudflare(kind, input));
  });
  app.patch(one, limit, json, async (c) => {
    const input: unknown = await c.req.json();
    if (!isObj(input)) return cfFail(c, 400, [NOT_AN_OBJECT]);
    return rewrite(c, kind, idOf(c), onWrite, (stored) => {
      const current = toCloudflareOne(kind, stored).result;
      return fromCloudflare(kind, { ...current, ...input }, new Set(Object.keys(input)));
    });
  });
  app.delete(one, async (c) => {
    const outcome = await store(c).remove(kind, idOf(c));
    if (!outcome.ok) return refused(c, outcome);
    onWrite();
    return cfOk(c, outcome.value);
  });
}

/** `GET …/pools/:id/health`: the admin API's pool health view (poolHealthOf) in Cloudflare's shape, origins keyed by address, rtt as "12ms". */
function poolHealthRoute(app: Hono<AdminEnv>, path: string) {
  app.get(path, async (c) => {
    const id = c.req.param('id') ?? '';
    const read = await store(c).get('pools', id);
    if (!read.ok) return refused(c, read);
    const { healthy, origins } = await poolHealthOf(c.env, read.value.value as unknown as Pool);
    const byAddress = origins.map(({ origin, healthy, health: h }) => ({
      [origin.address]: {
        healthy,
        rtt: typeof h?.rtt === 'number' ? `${Math.round(h.rtt)}ms` : undefined,
        failure_reason: h?.failureReason || undefined,
        response_code: h?.responseCode || undefined,
      },
    }));
    return cfOk(c, { pool_id: id, pop_health: { global: { healthy, origins: byAddress } } });
  });
}

/** The `/client/v4` app (see the module doc). The Worker entry hands it admin-host requests under CLOUDFLARE_API_PREFIX. */
export function cloudflareApi(onWrite: OnWrite) {
  const app = new Hono<AdminEnv>().basePath(CLOUDFLARE_API_PREFIX);
  app.use('*', ...adminAuth());
  const account = '/accounts/:account_id/load_balancers';
  // Monitors and pools before the account-level load balancers' `/:id`, which would match them too.
  kindRoutes(app, `${account}/monitors`, 'monitors', onWrite);
  poolHealthRoute(app, `${account}/pools/:id/health`);
  previewRoutes(app, account);
  kindRoutes(app, `${account}/pools`, 'pools', onWrite);
  kindRoutes(app, '/zones/:zone_id/load_balancers', 'load_balancers', onWrite);
  kindRoutes(app, account, 'load_balancers', onWrite);
  app.notFound(noRoute);
  app.onError((err, c) => {
    // bearerAuth's refusals carry their own (envelope) response.
    if (err instanceof HTTPException && err.res) return err.getResponse();
    console.error('cloudflare api error', err instanceof Error ? err.message : String(err));
    return cfFail(c, 500, [{ code: 500, message: 'internal error' }]);
  });
  return app;
}
