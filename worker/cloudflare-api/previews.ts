/**
 * Cloudflare's two-step previews under `/client/v4/accounts/:account_id/load_balancers` (the SDK's
 * `monitors.previews.create`, `pools.health.create` and `previews.get`):
 *
 * - `POST monitors/:id/preview` (body: monitor details, Cloudflare's monitor shape, its defaults
 *   where absent): probes, with those details, every origin of every pool whose `monitor` is
 *   `:id`; answers `{pools: {<pool id>: <name>}, preview_id}`.
 * - `POST pools/:id/preview` (body: monitor details): the same for that pool's origins.
 * - `GET preview/:preview_id`: `{<pool id>: {healthy, origins: [{<address>: {healthy,
 *   failure_reason, response_code, rtt}}]}}`, rtt as Cloudflare writes it ("12ms"); a pool's
 *   healthy is routing's verdict over the preview's probes (at least minimum_origins passed).
 *
 * The probes run, and the result is kept, in the LbState named `preview-id:<preview_id>`
 * (durable-objects/lb-state/previews.ts): readable from any isolate for PREVIEW_TTL_MS (1 h),
 * then deleted by its alarm. The POST answers once every probe settled (each within
 * (retries + 1) × (timeout + 0.25) s), so the GET that follows always finds the whole result.
 *
 * Refusals: an unknown monitor or pool, or an unknown or expired preview_id: 404 in the v4
 * envelope. Monitor details of a type a Worker cannot probe (icmp_ping, udp_icmp, smtp), more
 * than MAX_PREVIEW_ORIGINS origins, or invalid details: 400 naming the field. A preview POST is
 * a write (Cloudflare asks for "Monitors and Pools Write"; it sends probes and stores a result):
 * read-only tokens may GET a result but not start a preview.
 */
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { ErrorCode, MonitorSchema, fromZod, isProbed, type CloudflareKind, type Monitor, type Outcome, type Pool } from '../../core/config/index.ts';
import type { StoredPreview, Versioned } from '../../core/rpc/index.ts';
import { MAX_PREVIEW_ORIGINS } from '../../durable-objects/lb-state/previews.ts';
import { BODY_LIMIT, jsonBody } from '../admin/body.ts';
import type { AdminEnv } from '../admin/envelope.ts';
import { configStore, lbState } from '../rpc.ts';
import { cfFail, cfOk, type CfFailureStatus } from './envelope.ts';
import { fromCloudflare } from './shapes.ts';

type Ctx = Context<AdminEnv>;
interface Store {
  list(kind: CloudflareKind): Promise<Versioned<(Record<string, unknown> & { id: string })[]>>;
  get(kind: CloudflareKind, id: string): Promise<Outcome<Versioned<Record<string, unknown>>>>;
}
const store = (c: Ctx) => configStore(c.env) as unknown as Store;

/** Preview ids: 32 lowercase hex digits (128 random bits). */
const PREVIEW_ID = /^[0-9a-f]{32}$/;
const previewObject = (c: Ctx, id: string) => lbState(c.env, `preview-id:${id}`);

function newPreviewId(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The body's monitor details as our Monitor (Cloudflare's read-only fields and "unset" nulls dropped), or the 400 errors naming each field. */
function monitorOf(body: unknown, id: string): { ok: true; monitor: Monitor } | { ok: false; errors: ReturnType<typeof fromZod> } {
  const prepared = fromCloudflare('monitors', body);
  if (!prepared.ok) return prepared;
  const parsed = MonitorSchema.safeParse(prepared.value.obj);
  if (!parsed.success) return { ok: false, errors: fromZod(parsed.error) };
  if (!isProbed(parsed.data.type)) {
    const message = `type: ${parsed.data.type} cannot be probed from a Worker (http, https and tcp can), so it cannot be previewed here`;
    return { ok: false, errors: [{ code: ErrorCode.invalid, path: 'type', message }] };
  }
  const now = new Date().toISOString();
  return { ok: true, monitor: { ...parsed.data, id, created_on: now, modified_on: now } };
}

/** Runs a preview of `pools` with the body's monitor details and answers Cloudflare's `{pools, preview_id}`. */
async function start(c: Ctx, monitorId: string, pools: Pool[]) {
  const details = monitorOf(await c.req.json(), monitorId);
  if (!details.ok) return cfFail(c, 400, details.errors);
  const origins = pools.reduce((n, p) => n + p.origins.length, 0);
  if (origins > MAX_PREVIEW_ORIGINS) {
    const message = `the pools to preview have ${origins} origins: a preview probes at most ${MAX_PREVIEW_ORIGINS}`;
    return cfFail(c, 400, [{ code: ErrorCode.invalid, message }]);
  }
  const preview_id = newPreviewId();
  await previewObject(c, preview_id).previewStore(details.monitor, pools);
  return cfOk(c, { pools: Object.fromEntries(pools.map((p) => [p.id, p.name])), preview_id });
}

/** A stored preview in Cloudflare's shape (see the module doc). */
export function cloudflarePreview(preview: StoredPreview) {
  return Object.fromEntries(
    Object.entries(preview.pools).map(([id, pool]) => [
      id,
      {
        healthy: pool.healthy,
        origins: pool.origins.map((o) => ({
          [o.address]: {
            healthy: o.healthy,
            rtt: `${Math.round(o.rtt)}ms`,
            ...(o.failure_reason ? { failure_reason: o.failure_reason } : {}),
            ...(o.response_code ? { response_code: o.response_code } : {}),
          },
        })),
      },
    ]),
  );
}

/** The three preview routes under `account` (…/accounts/:account_id/load_balancers); register before the load balancers' `/:id`. */
export function previewRoutes(app: Hono<AdminEnv>, account: string) {
  const [limit, json] = jsonBody(BODY_LIMIT) as [MiddlewareHandler<AdminEnv>, MiddlewareHandler<AdminEnv>];
  app.post(`${account}/monitors/:id/preview`, limit, json, async (c) => {
    const id = c.req.param('id') ?? '';
    const read = await store(c).get('monitors', id);
    if (!read.ok) return cfFail(c, read.status as CfFailureStatus, read.errors);
    const pools = (await store(c).list('pools')).value.filter((p) => p.monitor === id) as unknown as Pool[];
    return start(c, id, pools);
  });
  app.post(`${account}/pools/:id/preview`, limit, json, async (c) => {
    const read = await store(c).get('pools', c.req.param('id') ?? '');
    if (!read.ok) return cfFail(c, read.status as CfFailureStatus, read.errors);
    const pool = read.value.value as unknown as Pool;
    return start(c, pool.monitor ?? 'preview', [pool]);
  });
  app.get(`${account}/preview/:preview_id`, async (c) => {
    const id = c.req.param('preview_id') ?? '';
    const preview = PREVIEW_ID.test(id) ? await previewObject(c, id).previewResult() : null;
    if (!preview) return cfFail(c, 404, [{ code: ErrorCode.notFound, message: `preview ${id} not found: previews are kept for an hour` }]);
    return cfOk(c, cloudflarePreview(preview));
  });
}
