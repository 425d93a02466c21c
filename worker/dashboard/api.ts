/**
 * What the dashboard reads and does, through the admin API's typed client (`hc<AdminApp>`,
 * hono/client) called in-process: every read and action passes the API's own auth (the session's
 * token as the bearer), validation and envelopes, so the dashboard has no privileged path.
 *
 * Views are plain objects built from the API's answers: overview rows per load balancer, and a
 * load balancer with its pools, origins (config, health, backend stats) and events.
 */
import { hc } from 'hono/client';
import { poolReferences } from '../../core/config/index.ts';
import type { AdminApp } from '../admin/index.ts';

/** Calls the admin app with a Request (in-process: the Worker's admin app with this request's env and ctx). */
export type AdminFetch = (request: Request) => Response | Promise<Response>;

/** The admin API's typed client, authenticated as `token`; `base` is the dashboard request's origin. */
export function adminClient(fetchAdmin: AdminFetch, base: string, token: string) {
  return hc<AdminApp>(base, {
    fetch: async (input: RequestInfo | URL, init?: RequestInit) => fetchAdmin(new Request(input, init)),
    headers: { authorization: `Bearer ${token}` },
  });
}
export type Api = ReturnType<typeof adminClient>;

/** A refusal of the admin API: its status and its envelope's error messages. */
export class ApiFailure extends Error {
  readonly status: number;
  constructor(status: number, messages: string[]) {
    super(messages.join('; ') || `admin API answered ${status}`);
    this.status = status;
  }
}

type Success<R> = R extends { status: 200 | 201; json(): Promise<infer B> } ? B : never;

/** The body of a 200/201 answer; any other status throws ApiFailure with the envelope's messages. */
export async function unwrap<R extends { status: number; json(): Promise<unknown> }>(res: R): Promise<Success<R>> {
  if (res.status === 200 || res.status === 201) return (await res.json()) as Success<R>;
  const body = (await res.json().catch(() => null)) as { errors?: { message: string }[] } | null;
  throw new ApiFailure(res.status, body?.errors?.map((e) => e.message) ?? []);
}

/** An origin's health at a glance: not yet probed, healthy, marked down by probes, or ejected by passive health. */
export type Health = 'unchecked' | 'healthy' | 'unhealthy' | 'ejected';

export interface OriginView {
  /** `<pool id>/<origin name>`: the key of the live updates. */
  key: string;
  poolId: string;
  name: string;
  address: string;
  port: number;
  enabled: boolean;
  drain: boolean;
  weight: number;
  health: Health;
  /** ms, of the last probe. */
  rtt: number | null;
  check: 'unknown' | 'passed' | 'failed';
  reason: string | null;
  /** ISO 8601: when the probe verdict last changed. */
  since: string | null;
  ejectedUntil: string | null;
  /** Requests the edges reported for this origin (backend-stats total_count). */
  total: number;
}

export interface PoolView {
  id: string;
  name: string;
  enabled: boolean;
  /** Routing's verdict (pool health). */
  healthy: boolean;
  usable: number;
  minimum: number;
  monitor: string | null;
  origins: OriginView[];
}

export interface EventView {
  id: number;
  at: string;
  poolId: string;
  origin: string;
  from: string;
  to: string;
  reason: string;
}

export interface LbView {
  id: string;
  name: string;
  enabled: boolean;
  steering: string;
  pools: PoolView[];
  events: EventView[];
}

export interface OverviewRow {
  id: string;
  name: string;
  enabled: boolean;
  poolsHealthy: number;
  poolsTotal: number;
  originsHealthy: number;
  originsTotal: number;
  /** Requests the edges reported, all origins (backend-stats). */
  total: number;
  /** Recent requests/s and error rate (%) from the traffic series (charts.ts recent); null without metrics. */
  rate: number | null;
  errors: number | null;
}

/** The overview shows at most this many load balancers (the first by name). */
export const OVERVIEW_MAX = 200;
/** Events shown on a load balancer's page. */
export const EVENTS_SHOWN = 20;

const uniq = <T>(xs: T[]) => [...new Set(xs)];

async function poolHealth(api: Api, id: string) {
  const { result } = await unwrap(await api.admin.v1.pools[':id'].health.$get({ param: { id } }));
  return {
    healthy: result.healthy,
    usable: result.usable_origins,
    origins: Object.assign({}, ...result.pop_health.global.origins) as (typeof result.pop_health.global.origins)[number],
  };
}

async function backendStats(api: Api, id: string) {
  const { result } = await unwrap(await api.admin.v1.load_balancers[':id']['backend-stats'].$get({ param: { id } }));
  return result;
}

function healthOf(o: { healthy: boolean; ejected_until: string | null } | undefined, check: OriginView['check']): Health {
  if (!o) return 'unchecked';
  if (o.ejected_until) return 'ejected';
  if (!o.healthy) return 'unhealthy';
  return check === 'unknown' ? 'unchecked' : 'healthy';
}

/** Every load balancer (at most OVERVIEW_MAX, by name) with its health at a glance and its traffic count. */
export async function overview(api: Api): Promise<OverviewRow[]> {
  const [lbs, pools] = await Promise.all([unwrap(await api.admin.v1.load_balancers.$get()), unwrap(await api.admin.v1.pools.$get())]);
  const shown = lbs.result.sort((a, b) => a.name.localeCompare(b.name)).slice(0, OVERVIEW_MAX);
  const poolIds = uniq(shown.flatMap((lb) => poolReferences(lb).map(([, p]) => p)));
  const health = new Map(await Promise.all(poolIds.map(async (id) => [id, await poolHealth(api, id)] as const)));
  const stats = await Promise.all(shown.map((lb) => backendStats(api, lb.id)));
  const enabledPools = new Map(pools.result.map((p) => [p.id, p.enabled]));
  return shown.map((lb, i) => {
    const ids = uniq(poolReferences(lb).map(([, p]) => p));
    const origins = ids.flatMap((id) => Object.values(health.get(id)?.origins ?? {}));
    return {
      id: lb.id,
      name: lb.name,
      enabled: lb.enabled,
      poolsHealthy: ids.filter((id) => enabledPools.get(id) && health.get(id)?.healthy).length,
      poolsTotal: ids.length,
      originsHealthy: origins.filter((o) => o.healthy).length,
      originsTotal: origins.length,
      total: stats[i]!.reduce((sum, s) => sum + s.total_count, 0),
      rate: null,
      errors: null,
    };
  });
}

/** One load balancer: its pools in the order it references them, their origins, and its latest EVENTS_SHOWN events. */
export async function loadBalancer(api: Api, id: string): Promise<LbView> {
  const { result: lb } = await unwrap(await api.admin.v1.load_balancers[':id'].$get({ param: { id } }));
  const ids = uniq(poolReferences(lb).map(([, p]) => p));
  const [pools, health, stats, events] = await Promise.all([
    Promise.all(ids.map(async (pid) => (await unwrap(await api.admin.v1.pools[':id'].$get({ param: { id: pid } }))).result)),
    Promise.all(ids.map((pid) => poolHealth(api, pid))),
    backendStats(api, id),
    unwrap(await api.admin.v1.load_balancers[':id'].events.$get({ param: { id }, query: { limit: String(EVENTS_SHOWN) } })),
  ]);
  const statOf = new Map(stats.map((s) => [`${s.pool_id}/${s.origin}`, s]));
  return {
    id: lb.id,
    name: lb.name,
    enabled: lb.enabled,
    steering: lb.steering_policy || 'off',
    pools: pools.map((p, i) => ({
      id: p.id,
      name: p.name,
      enabled: p.enabled,
      healthy: health[i]!.healthy,
      usable: health[i]!.usable,
      minimum: p.minimum_origins,
      monitor: p.monitor ?? null,
      origins: p.origins.map((o) => {
        const h = health[i]!.origins[o.name];
        const s = statOf.get(`${p.id}/${o.name}`);
        const check = s?.last_health_check_status ?? 'unknown';
        return {
          key: `${p.id}/${o.name}`,
          poolId: p.id,
          name: o.name,
          address: o.address,
          port: o.port,
          enabled: o.enabled,
          drain: o.drain ?? false,
          weight: o.weight,
          health: healthOf(h, check),
          rtt: h?.rtt ?? null,
          check,
          reason: h?.failure_reason ?? null,
          since: h?.changed_at ?? null,
          ejectedUntil: h?.ejected_until ?? null,
          total: s?.total_count ?? 0,
        };
      }),
    })),
    events: events.result.map((e) => ({ id: e.id, at: e.at, poolId: e.pool_id, origin: e.origin, from: e.from, to: e.to, reason: e.reason })),
  };
}
