/**
 * Session affinity decisions, pure (Cloudflare Load Balancing's semantics): whether a pin the
 * request carries is honoured, the plan it leads to, ip_cookie's first pick, and whether a
 * response may create or move a pin. Both kinds of affinity (signed cookie; the LbState table for
 * header affinity) call these, so they cannot disagree. `nowMs` is epoch ms.
 */
import type { LoadBalancer } from '../config/index.ts';
import type { Candidate, CompiledPool, Plan, Snapshot, Usable } from '../route/index.ts';
import { sheds } from '../route/shedding.ts';
import { takesTraffic } from '../steer/index.ts';
import { inDrainWindow } from './drain.ts';

/** Where a session is pinned: a pool of the load balancer and an origin of that pool, by name. */
export interface Pin {
  poolId: string;
  origin: string;
}

/** Whether a pin is honoured, and why (the routing explainer shows `why`). */
export interface PinVerdict {
  /** The pinned origin as the first candidate, when honoured. */
  candidate?: Candidate;
  why:
    | 'honoured'
    | 'honoured: within drain_duration'
    | 'pool no longer used by the load balancer'
    | 'pool or origin no longer configured'
    | 'pool disabled'
    | 'origin unhealthy'
    | 'origin takes no new traffic and its drain window is over'
    | typeof SESSION_SHED;
}

/** The verdict on a pin the pool's `load_shedding.session_percent` sheds: the session is routed anew with that pool shed (RouteInputs.shedPool). */
export const SESSION_SHED = "session shed by the pool's load_shedding (session_percent): routed as a new session";

/** `sheds` draws only for default traffic: session shedding is by client-IP hash alone. */
const noDraw = (): number => {
  throw new Error('session shedding never draws');
};

/**
 * A pin is honoured while its pool still belongs to the load balancer and is enabled, its origin
 * is still in the pool and usable by health, the origin either takes new traffic or is within its
 * drain window (drain_duration after disabled_at), and the pool's `load_shedding.session_percent`
 * does not shed the session (by `clientIp`'s hash, core/route/shedding.ts: SESSION_SHED).
 * Otherwise routing goes on as for a new session, and zero_downtime_failover applies as usual.
 */
export function judgePin(snapshot: Snapshot, lb: LoadBalancer, pin: Pin, usable: Usable, nowMs: number, clientIp: string | undefined): PinVerdict {
  if (!snapshot.poolsOf.get(lb.id)?.has(pin.poolId)) return { why: 'pool no longer used by the load balancer' };
  const pool = snapshot.pools.get(pin.poolId)?.pool;
  const i = pool ? pool.origins.findIndex((o) => o.name === pin.origin) : -1;
  const origin = pool?.origins[i];
  if (!pool || !origin) return { why: 'pool or origin no longer configured' };
  if (!pool.enabled) return { why: 'pool disabled' };
  if (!usable(pool, i)) return { why: 'origin unhealthy' };
  const why = takesTraffic(origin)
    ? 'honoured'
    : inDrainWindow(origin, lb.session_affinity_attributes?.drain_duration ?? 0, nowMs)
      ? 'honoured: within drain_duration'
      : undefined;
  if (!why) return { why: 'origin takes no new traffic and its drain window is over' };
  if (sheds(pool.load_shedding, pool.id, 'session', clientIp, noDraw)) return { why: SESSION_SHED };
  return { candidate: { pool, poolRank: 0, origin, originIndex: i }, why };
}

/** zero_downtime_failover of the load balancer (Cloudflare's default: none). */
export function failoverMode(lb: LoadBalancer): 'none' | 'temporary' | 'sticky' {
  return lb.session_affinity_attributes?.zero_downtime_failover ?? 'none';
}

/** The pinned origin first; with failover (`temporary` or `sticky`), then the plan's candidates without it. */
export function pinnedPlan(plan: Plan, pinned: Candidate, failover: boolean): Plan {
  const same = (c: Candidate) => c.pool.id === pinned.pool.id && c.originIndex === pinned.originIndex;
  return {
    pool: pinned.pool,
    first: pinned,
    *rest() {
      if (!failover) return;
      if (!same(plan.first)) yield plan.first;
      for (const c of plan.rest()) if (!same(c)) yield c;
    },
  };
}

/**
 * ip_cookie's first pick for a new session: weighted rendezvous hashing of the client IP over the
 * chosen pool (the pool's `ipHash`, built once per config version), then the plan as usual.
 */
export function ipCookiePlan(plan: Plan, compiled: CompiledPool, clientIp: string, usable: Usable, random: () => number): Plan {
  const pool = compiled.pool;
  const i = compiled.ipHash.first({ random, key: clientIp }, (k) => usable(pool, k));
  if (i < 0 || i === plan.first.originIndex) return plan;
  return pinnedPlan(plan, { pool, poolRank: 0, origin: pool.origins[i]!, originIndex: i }, true);
}

/** Whether a response may create or move a pin: a final answer below 400 (never an error, never 101). */
export function mayPin(status: number): boolean {
  return status >= 200 && status < 400;
}

/**
 * What to do with the pin after the response, from who answered: `write` a new pin (a new
 * session, or one whose pin was not honoured), `move` it (zero_downtime_failover `sticky` and
 * another origin answered), or `keep` it (honoured and answered there, or `temporary`/`none`).
 * Nothing is written for a response that may not pin (mayPin) or when nothing answered.
 */
export function pinAfter(
  honoured: Candidate | undefined,
  answeredBy: Candidate | undefined,
  status: number,
  failover: 'none' | 'temporary' | 'sticky',
): 'write' | 'move' | 'keep' {
  if (!answeredBy || !mayPin(status)) return 'keep';
  if (!honoured) return 'write';
  const moved = answeredBy.pool.id !== honoured.pool.id || answeredBy.originIndex !== honoured.originIndex;
  return moved && failover === 'sticky' ? 'move' : 'keep';
}
