/**
 * Health views of the admin API. Every judgement is core's: core/health/verdict `poolVerdict`
 * (a pool's healthy and usable count, as routing counts them) over core/health `healthUsable`
 * (an origin's health: not marked down by probes, not ejected); nothing here decides health.
 *
 * - `GET /pools/{id}/health`: Cloudflare's pool-health shape. Health lives in one place per load
 *   balancer rather than per PoP, so `pop_health` has one key, "global"; origins are keyed by
 *   name (addresses can repeat with other ports). Times are ISO 8601, rtt in ms.
 * - `GET /load_balancers/{id}/backend-stats`: Scaleway's backend-stats fields per origin.
 * - `GET /load_balancers/{id}/events?limit=&before=`: the health event log, newest first;
 *   `result_info.next_before` pages back.
 * - `POST /monitors/{id}/preview` `{origins: [{address, port, name?}]}`: probe now, store nothing.
 *   The probes run in the LbState named `preview:<monitor id>` (LbStateApi.previewMonitor): the
 *   Worker holds no probe code.
 */
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { ErrorCode, IdSchema, OriginSchema, isProbed, poolReferences, type Monitor, type Pool } from '../../core/config/index.ts';
import { healthUsable } from '../../core/health/index.ts';
import { poolVerdict } from '../../core/health/verdict.ts';
import type { OriginRecord, ProbePreview } from '../../core/rpc/index.ts';
import { configStore, lbState } from '../rpc.ts';
import { BODY_LIMIT, jsonBody } from './body.ts';
import { Envelope, REFUSALS, failure, failures, json, ok, refuse, type AdminBindings, type AdminEnv } from './envelope.ts';

const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : null);

// ---------------------------------------------------------------------------------------- schemas

const OriginHealth = z.object({
  healthy: z.boolean().describe("the origin's health (core healthUsable): not marked down by probes, not ejected"),
  rtt: z.number().nullable().describe('ms, of the last probe'),
  failure_reason: z.string().nullable(),
  response_code: z.int().nullable(),
  changed_at: z.string().nullable().describe('when the probe verdict last changed'),
  ejected_until: z.string().nullable().describe('passive health: ejected until then'),
});
const PoolHealth = z
  .object({
    pool_id: z.string(),
    healthy: z.boolean().describe("routing's verdict: enabled, and at least minimum_origins origins take new traffic and are healthy"),
    usable_origins: z.int().describe('origins that take new traffic (enabled, not draining, weight > 0) and are healthy'),
    pop_health: z.object({
      global: z.object({ healthy: z.boolean(), origins: z.array(z.record(z.string(), OriginHealth)).describe('one object per origin, keyed by its name') }),
    }),
  })
  .meta({ id: 'PoolHealth' });
const BackendStat = z
  .object({
    pool_id: z.string(),
    origin: z.string(),
    address: z.string(),
    port: z.int(),
    server_state: z.enum(['running', 'stopping', 'stopped', 'starting']),
    server_state_changed_at: z.string().nullable(),
    last_health_check_status: z.enum(['unknown', 'passed', 'failed']),
    total_count: z.int().describe('requests the edges reported'),
  })
  .meta({ id: 'BackendStat' });
const HealthEvent = z
  .object({ id: z.int(), at: z.string(), pool_id: z.string(), origin: z.string(), from: z.string(), to: z.string(), reason: z.string() })
  .meta({ id: 'HealthEvent' });
/** The events query, as validated and as documented. */
export const EventsQuery = z.strictObject({
  limit: z.coerce.number<string>().int().min(1).max(500).default(50).describe('events per page'),
  before: z.coerce.number<string>().int().positive().optional().describe('an event id: the page of older events (result_info.next_before)'),
});
/** The monitor preview body, as validated and as documented. */
export const MonitorPreviewBody = z.strictObject({
  origins: z
    .array(z.strictObject({ name: z.string().default('preview'), address: OriginSchema.shape.address, port: OriginSchema.shape.port }))
    .min(1)
    .max(20),
});
const ProbePreviewSchema: z.ZodType<ProbePreview> = z
  .object({
    name: z.string(),
    address: z.string(),
    port: z.int(),
    healthy: z.boolean(),
    rtt: z.number().describe('ms'),
    response_code: z.int().nullable(),
    failure_reason: z.string().nullable(),
  })
  .meta({ id: 'ProbePreview' });

const params = (noun: string) => z.object({ id: IdSchema.describe(`${noun} id`) });

// ----------------------------------------------------------------------------------------- routes

const poolHealth = createRoute({
  method: 'get',
  path: '/pools/{id}/health',
  summary: "Pool health (Cloudflare's shape; one pop_health key, global)",
  request: { params: params('pool') },
  responses: { 200: json(Envelope(PoolHealth), 'Health of the pool and its origins'), ...failures(400, 401, 404) },
});
const backendStats = createRoute({
  method: 'get',
  path: '/load_balancers/{id}/backend-stats',
  summary: 'Per-origin state and traffic counts',
  request: { params: params('load balancer') },
  responses: { 200: json(Envelope(z.array(BackendStat)), 'One row per origin of every pool the load balancer uses'), ...failures(400, 401, 404) },
});
const events = createRoute({
  method: 'get',
  path: '/load_balancers/{id}/events',
  summary: 'Health event log, newest first',
  request: { params: params('load balancer'), query: EventsQuery },
  responses: {
    200: json(
      Envelope(z.array(HealthEvent)).extend({
        result_info: z.object({ count: z.int(), next_before: z.int().nullable().describe('pass as `before` for the next (older) page') }),
      }),
      'Events; result_info.next_before pages back',
    ),
    ...failures(400, 401, 404),
  },
});
const monitorPreview = createRoute({
  method: 'post',
  path: '/monitors/{id}/preview',
  summary: 'Probe the given origins with this monitor now (nothing stored)',
  middleware: jsonBody(BODY_LIMIT),
  request: { params: params('monitor'), body: { required: true, content: { 'application/json': { schema: MonitorPreviewBody } } } },
  responses: { 200: json(Envelope(z.array(ProbePreviewSchema)), 'What each probe saw'), ...failures(400, 401, 404, 413, 415) },
});

type Seen = Pick<OriginRecord, 'health' | 'total'>;

/** Records of `poolId`'s origins from every load balancer that uses it: the freshest per origin, traffic summed. */
async function poolRecords(env: AdminBindings, poolId: string): Promise<Map<string, Seen>> {
  const { doc } = await configStore(env).snapshot(-1);
  const lbs = (doc?.load_balancers ?? []).filter((lb) => poolReferences(lb).some(([, p]) => p === poolId));
  const all = (await Promise.all(lbs.map((lb) => lbState(env, lb.id).records()))).flat();
  const best = new Map<string, Seen>();
  for (const r of all) {
    if (r.poolId !== poolId) continue;
    const seen = best.get(r.origin);
    const total = (seen?.total ?? 0) + r.total;
    best.set(r.origin, { health: !seen || r.health.lastCheckAt > seen.health.lastCheckAt ? r.health : seen.health, total });
  }
  return best;
}

/**
 * Scaleway's server_state of one origin: configuration first (disabled, draining), then health.
 * With no probe verdict (an unmonitored pool, or not probed yet) traffic decides: `starting`
 * until edges report requests to it, then running unless ejected.
 */
function serverState(pool: Pool, i: number, r: Seen | undefined, now: number): 'running' | 'stopping' | 'stopped' | 'starting' {
  const origin = pool.origins[i]!;
  if (!pool.enabled || !origin.enabled) return 'stopped';
  if (origin.drain) return 'stopping';
  if (!r || (r.health.verdict === 'unknown' && !r.total)) return 'starting';
  return healthUsable(r.health, now) ? 'running' : 'stopped';
}

/**
 * One pool's health as routing sees it now: the pool's verdict (core/health poolVerdict: at least
 * minimum_origins usable), and each origin (in the pool's order) with its record's health and
 * whether it is usable. `now` is the epoch ms the answer was judged at. Used by
 * `GET /pools/{id}/health` and by Cloudflare's pool health path (worker/cloudflare-api).
 */
export async function poolHealthOf(env: AdminBindings, pool: Pool) {
  const records = await poolRecords(env, pool.id);
  const now = Date.now();
  const origins = pool.origins.map((origin) => {
    const health = records.get(origin.name)?.health;
    return { origin, health, healthy: healthUsable(health, now) };
  });
  const { healthy, usable_count } = poolVerdict(pool, (_, i) => origins[i]!.healthy);
  return { healthy, usable_count, origins, now };
}

export function healthRoutes() {
  return new OpenAPIHono<AdminEnv>()
    .openapi(poolHealth, async (c) => {
      const { id } = c.req.valid('param');
      const read = await configStore(c.env).get('pools', id);
      if (!read.ok) return refuse(c, read, REFUSALS.get);
      const { healthy, usable_count, origins: each, now } = await poolHealthOf(c.env, read.value.value as Pool);
      const origins = each.map(({ origin, healthy, health: h }) => ({
        [origin.name]: {
          healthy,
          rtt: h?.rtt ?? null,
          failure_reason: h?.failureReason || null,
          response_code: h?.responseCode || null,
          changed_at: iso(h?.changedAt ?? 0),
          ejected_until: h && h.ejectedUntil > now ? iso(h.ejectedUntil) : null,
        },
      }));
      return c.json(ok({ pool_id: id, healthy, usable_origins: usable_count, pop_health: { global: { healthy, origins } } }), 200);
    })
    .openapi(backendStats, async (c) => {
      const { id } = c.req.valid('param');
      const { doc } = await configStore(c.env).snapshot(-1);
      const lb = doc?.load_balancers.find((x) => x.id === id);
      if (!doc || !lb) return failure(c, 404, [{ code: ErrorCode.notFound, message: `load balancer ${id} not found` }]);
      const records = new Map((await lbState(c.env, id).records()).map((r) => [`${r.poolId}/${r.origin}`, r]));
      const now = Date.now();
      const poolIds = [...new Set(poolReferences(lb).map(([, p]) => p))];
      const stats = poolIds.flatMap((pid) => {
        const pool = doc.pools.find((p) => p.id === pid);
        if (!pool) return [];
        return pool.origins.map((o, i) => {
          const r = records.get(`${pid}/${o.name}`);
          return {
            pool_id: pid,
            origin: o.name,
            address: o.address,
            port: o.port,
            server_state: serverState(pool, i, r, now),
            server_state_changed_at: iso(r?.health.changedAt ?? 0),
            last_health_check_status: !r || !r.health.lastCheckAt ? ('unknown' as const) : r.health.failureReason ? ('failed' as const) : ('passed' as const),
            total_count: r?.total ?? 0,
          };
        });
      });
      return c.json(ok(stats), 200);
    })
    .openapi(events, async (c) => {
      const { id } = c.req.valid('param');
      const { limit, before } = c.req.valid('query');
      const lb = await configStore(c.env).get('load_balancers', id);
      if (!lb.ok) return refuse(c, lb, REFUSALS.get);
      const page = await lbState(c.env, id).events(limit, before);
      const result = page.events.map((e) => ({ id: e.id, at: iso(e.at) ?? '', pool_id: e.poolId, origin: e.origin, from: e.from, to: e.to, reason: e.reason }));
      // Cloudflare's v4 pagination field; pass `before` to get the next (older) page.
      return c.json({ ...ok(result), result_info: { count: result.length, next_before: page.next ?? null } }, 200);
    })
    .openapi(monitorPreview, async (c) => {
      const { id } = c.req.valid('param');
      const read = await configStore(c.env).get('monitors', id);
      if (!read.ok) return refuse(c, read, REFUSALS.get);
      const { origins } = c.req.valid('json');
      const monitor = read.value.value as Monitor;
      if (!isProbed(monitor.type)) {
        const why = `monitor ${id} is of type ${monitor.type}, which a Worker cannot probe (stored from Cloudflare; pools using it count as having no monitor)`;
        return failure(c, 400, [{ code: ErrorCode.invalid, message: why }]);
      }
      const results = await lbState(c.env, `preview:${id}`).previewMonitor(monitor, origins);
      return c.json(ok(results), 200);
    });
}
