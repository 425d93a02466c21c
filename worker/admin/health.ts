/**
 * Health views of the admin API:
 * - `GET /pools/:id/health`: Cloudflare's pool-health shape. We keep health in one place per load
 *   balancer rather than per PoP, so `pop_health` has one key, "global"; origins are keyed by
 *   origin name (addresses can repeat with other ports). Times are ISO 8601, rtt in ms.
 * - `GET /load_balancers/:id/backend-stats`: Scaleway's backend-stats fields per origin.
 * - `POST /monitors/:id/preview` `{origins: [{address, port, name?}]}`: probe now, store nothing.
 * - `GET /load_balancers/:id/events?limit=&before=`: the health event log, newest first;
 *   `result_info.next_before` pages back.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { ErrorCode, OriginSchema, fromZod, poolReferences, type Monitor, type Pool } from '../../core/config/index.ts';
import { probeOrigin } from '../../durable-objects/lb-state/probe.ts';
import { takesTraffic } from '../../core/steer/index.ts';
import { healthUsable, type OriginHealth } from '../../core/health/index.ts';
import { configStore, lbState, type Env } from '../env.ts';
import { envelope, failure } from './index.ts';
import { API_PREFIX } from './routes.ts';

const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : null);
type Record_ = { poolId: string; origin: string; health: OriginHealth; total: number; usable: boolean };

/** Records of `pool`'s origins from every load balancer that uses it, the freshest per origin. */
async function poolRecords(env: Env, poolId: string): Promise<Map<string, Record_>> {
  const { doc } = await configStore(env).snapshot(-1);
  const lbs = (doc?.load_balancers ?? []).filter((lb) => poolReferences(lb).some(([, p]) => p === poolId));
  const all = (await Promise.all(lbs.map((lb) => lbState(env, lb.id).records()))).flat();
  const best = new Map<string, Record_>();
  for (const r of all) {
    if (r.poolId !== poolId) continue;
    const seen = best.get(r.origin);
    if (!seen || r.health.lastCheckAt > seen.health.lastCheckAt) best.set(r.origin, { ...r, total: (seen?.total ?? 0) + r.total });
    else seen.total += r.total;
  }
  return best;
}

function serverState(pool: Pool, name: string, r: Record_ | undefined, now: number): 'running' | 'stopping' | 'stopped' | 'starting' {
  const origin = pool.origins.find((o) => o.name === name);
  if (!origin?.enabled || !pool.enabled) return 'stopped';
  if (origin.drain) return 'stopping';
  if (!r || r.health.verdict === 'unknown') return 'starting';
  if (!healthUsable(r.health, now)) return 'stopped';
  return 'running';
}

const EventsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.number().int().positive().optional(),
});

const PreviewBody = z.strictObject({
  origins: z.array(z.strictObject({ name: z.string().default('preview'), address: OriginSchema.shape.address, port: OriginSchema.shape.port })).min(1).max(20),
});

export function mountHealth(app: Hono<{ Bindings: Env }>): void {
  /** Probes the given origins with a monitor now (nothing stored) and returns what each probe saw. */
  app.post(`${API_PREFIX}/monitors/:id/preview`, async (c) => {
    const monitor = await configStore(c.env).get('monitors', c.req.param('id'));
    if (!monitor.ok) return failure(c, monitor.status, monitor.errors);
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      return failure(c, 400, [{ code: ErrorCode.invalid, message: 'the body is not valid JSON' }]);
    }
    const body = PreviewBody.safeParse(raw);
    if (!body.success) return failure(c, 400, fromZod(body.error));
    const results = await Promise.all(
      body.data.origins.map(async (o) => {
        const r = await probeOrigin(monitor.value.value as Monitor, { ...o, weight: 1, enabled: true, drain: false, header: {} });
        return { name: o.name, address: o.address, port: o.port, healthy: r.ok, rtt: r.rtt, response_code: r.status || null, failure_reason: r.reason || null };
      }),
    );
    return c.json(envelope(results));
  });

  app.get(`${API_PREFIX}/pools/:id/health`, async (c) => {
    const id = c.req.param('id');
    const pool = await configStore(c.env).get('pools', id);
    if (!pool.ok) return failure(c, pool.status, pool.errors);
    const p = pool.value.value as Pool;
    const records = await poolRecords(c.env, id);
    const now = Date.now();
    let usable = 0;
    const origins = p.origins.map((o) => {
      const h = records.get(o.name)?.health;
      if (takesTraffic(o) && healthUsable(h, now)) usable++;
      return {
        [o.name]: {
          healthy: o.enabled && healthUsable(h, now),
          rtt: h?.rtt ?? null,
          failure_reason: h?.failureReason || null,
          response_code: h?.responseCode || null,
          changed_at: iso(h?.changedAt ?? 0),
          ejected_until: h && h.ejectedUntil > now ? iso(h.ejectedUntil) : null,
        },
      };
    });
    // The pool's verdict is routing's: origins that take new traffic (not draining, weight > 0) and are usable.
    const healthy = p.enabled && usable >= p.minimum_origins;
    return c.json(envelope({ pool_id: id, healthy, pop_health: { global: { healthy, origins } } }));
  });

  app.get(`${API_PREFIX}/load_balancers/:id/backend-stats`, async (c) => {
    const id = c.req.param('id');
    const { doc } = await configStore(c.env).snapshot(-1);
    const lb = doc?.load_balancers.find((x) => x.id === id);
    if (!doc || !lb) return failure(c, 404, [{ code: ErrorCode.notFound, message: `load balancer ${id} not found` }]);
    const records = new Map((await lbState(c.env, id).records()).map((r) => [`${r.poolId}/${r.origin}`, r]));
    const now = Date.now();
    const poolIds = [...new Set(poolReferences(lb).map(([, p]) => p))];
    const stats = poolIds.flatMap((pid) => {
      const pool = doc.pools.find((p) => p.id === pid);
      return (pool?.origins ?? []).map((o) => {
        const r = records.get(`${pid}/${o.name}`);
        return {
          pool_id: pid,
          origin: o.name,
          address: o.address,
          port: o.port,
          server_state: serverState(pool!, o.name, r, now),
          server_state_changed_at: iso(r?.health.changedAt ?? 0),
          last_health_check_status: !r || !r.health.lastCheckAt ? 'unknown' : r.health.failureReason ? 'failed' : 'passed',
          total_count: r?.total ?? 0,
        };
      });
    });
    return c.json(envelope(stats));
  });

  app.get(`${API_PREFIX}/load_balancers/:id/events`, async (c) => {
    const query = EventsQuery.safeParse(c.req.query());
    if (!query.success) return failure(c, 400, fromZod(query.error));
    const id = c.req.param('id');
    const lb = await configStore(c.env).get('load_balancers', id);
    if (!lb.ok) return failure(c, lb.status, lb.errors);
    const page = await lbState(c.env, id).events(query.data.limit, query.data.before);
    const events = page.events.map((e) => ({ ...e, at: iso(e.at) }));
    // Cloudflare's v4 pagination field; pass `before` to get the next (older) page.
    return c.json({ ...envelope(events), result_info: { count: events.length, next_before: page.next ?? null } });
  });
}
