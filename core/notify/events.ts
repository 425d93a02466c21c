/**
 * What health transitions a webhook is told about, and the two transitions LbState derives rather
 * than observes.
 *
 * Every notification starts as a core/health `HealthEvent` in LbState's event log and outbox:
 * - `origin_health`: an origin's probe verdict changes. Only changes of usability notify:
 *   anything → `unhealthy`, and `unhealthy` → `healthy` (a new origin's first `unknown` →
 *   `healthy` changes nothing: unknown origins already take traffic).
 * - `ejection`: outlier detection takes an origin out (`in rotation` → `ejected`) or an active
 *   check puts it back (`ejected` → `in rotation`). An ejection that simply runs out is not an
 *   event (the origin is back in rotation at `ejected_until`).
 * - `pool_health`: derived here. A pool is healthy by core/health/verdict `poolVerdict` (enabled,
 *   at least `minimum_origins` origins that take traffic and are usable); origin `''` marks the
 *   pool's own event. Config changes (an origin disabled, `minimum_origins` raised) count too.
 * - `fallback`: derived here. The load balancer's fallback pool is in use when none of its
 *   `default_pools` is healthy (from `default_pools` to `fallback_pool`), and back.
 *
 * A derivation starts from a baseline (the first look at a pool or a load balancer sends nothing)
 * and only a change from the last look is an event; LbState keeps the last look (`DerivedState`).
 */
import type { LoadBalancer, Pool } from '../config/index.ts';
import type { HealthEvent } from '../health/index.ts';
import { poolVerdict, type UsableAt } from '../health/verdict.ts';
import type { FilterResource } from './filter.ts';

/** Kinds of notification, as a webhook's `events` names them (core/config WEBHOOK_EVENTS). */
export type NotificationKind = 'origin_health' | 'pool_health' | 'ejection' | 'fallback';

/** States of the derived events: a pool's own event has origin `''`. */
export const POOL_EVENT_ORIGIN = '';
export const FALLBACK_STATES = { off: 'default_pools', on: 'fallback_pool' } as const;

/** What a health event means to a webhook: its kind, whether it is a recovery, and which `notification_filter` part applies (none for `fallback`). */
export interface Classified {
  kind: NotificationKind;
  /** True when the resource becomes healthy / usable again (or the fallback is no longer in use). */
  healthy: boolean;
  resource: FilterResource | undefined;
}

/** Classifies a health event; undefined for one no webhook is told about (e.g. `unknown` → `healthy`). */
export function classify(e: Pick<HealthEvent, 'origin' | 'from' | 'to'>): Classified | undefined {
  if (e.to === 'ejected' || e.from === 'ejected') return { kind: 'ejection', healthy: e.to !== 'ejected', resource: 'origin' };
  if (e.to === FALLBACK_STATES.on || e.to === FALLBACK_STATES.off) return { kind: 'fallback', healthy: e.to === FALLBACK_STATES.off, resource: undefined };
  const kind = e.origin === POOL_EVENT_ORIGIN ? 'pool_health' : 'origin_health';
  const resource = kind === 'pool_health' ? 'pool' : 'origin';
  if (e.to === 'unhealthy') return { kind, healthy: false, resource };
  if (e.to === 'healthy' && e.from === 'unhealthy') return { kind, healthy: true, resource };
  return undefined;
}

/** The last look at derived health: each watched pool's verdict, and whether the fallback pool is in use. */
export interface DerivedState {
  pools: Record<string, boolean>;
  /** Undefined without a load balancer. */
  fallback?: boolean;
}

/**
 * Compares pool verdicts and fallback use now with `prev` (undefined: first look, no events) and
 * answers the new state with the events of what changed (`at` epoch ms). Pools seen for the first
 * time are a baseline too, and so is the fallback of a load balancer not looked at before. Without
 * a load balancer (disabled, deleted) nothing is said about the fallback.
 */
export function deriveTransitions(
  lb: LoadBalancer | undefined,
  pools: readonly Pool[],
  usable: UsableAt,
  prev: DerivedState | undefined,
  at: number,
): { state: DerivedState; events: HealthEvent[] } {
  const events: HealthEvent[] = [];
  const state: DerivedState = { pools: {} };
  for (const pool of pools) {
    const v = poolVerdict(pool, usable);
    state.pools[pool.id] = v.healthy;
    const before = prev?.pools[pool.id];
    if (before === undefined || before === v.healthy) continue;
    const why = !pool.enabled ? 'the pool is disabled' : `${v.usable_count} of ${pool.origins.length} origins usable, minimum_origins ${pool.minimum_origins}`;
    events.push({
      at,
      poolId: pool.id,
      origin: POOL_EVENT_ORIGIN,
      from: before ? 'healthy' : 'unhealthy',
      to: v.healthy ? 'healthy' : 'unhealthy',
      reason: `pool ${v.healthy ? 'healthy' : 'unhealthy'}: ${why}`,
    });
  }
  if (lb) {
    state.fallback = lb.default_pools.every((id) => state.pools[id] !== true);
    if (prev?.fallback !== undefined && prev.fallback !== state.fallback) {
      events.push({
        at,
        poolId: lb.fallback_pool,
        origin: POOL_EVENT_ORIGIN,
        from: state.fallback ? FALLBACK_STATES.off : FALLBACK_STATES.on,
        to: state.fallback ? FALLBACK_STATES.on : FALLBACK_STATES.off,
        reason: state.fallback
          ? `fallback pool in use: none of the default pools (${lb.default_pools.join(', ')}) is healthy`
          : 'fallback pool no longer in use: a default pool is healthy again',
      });
    }
  }
  return { state, events };
}
