/**
 * Session affinity on the request path (Cloudflare's semantics): cookie and ip_cookie with a
 * signed cookie, header with the load balancer's LbState table (worker/affinity).
 */
import { AFFINITY_COOKIE, affinityTtl, cookieValue, inDrainWindow, readPin, setCookieHeader, signPin, type Pinned } from '../../core/affinity/index.ts';
import type { LoadBalancer } from '../../core/config/index.ts';
import type { Candidate, Plan, Snapshot, Usable } from '../../core/route/index.ts';
import { effectiveWeights, takesTraffic } from '../../core/steer/index.ts';
import { RendezvousPolicy } from '../../core/steer/policies.ts';
import type { HeaderPins } from '../affinity/index.ts';
import { firstAttempt, requestBody, type Attempt } from './attempt.ts';

/**
 * Cookie session affinity, Cloudflare's semantics. A valid pin to a usable origin sends the
 * request there; `zero_downtime_failover` decides what a failure on it does: `none` = no other
 * origin, `temporary` = others, cookie unchanged, `sticky` = others, cookie moved to the one that
 * answered. A pin to an unhealthy origin moves the session; so does one to a disabled or draining
 * origin once its drain_duration (counted from `disabled_at`) has passed. New
 * sessions: the usual pick (`ip_cookie`: by hash of the client IP), and a cookie for the origin
 * that answered. Our cookie never reaches the origin.
 */
export async function withAffinity(a: Attempt, lb: LoadBalancer, usable: Usable, keyPromise: Promise<CryptoKey>): Promise<Response> {
  const key = await keyPromise;
  const now = Math.floor(Date.now() / 1000);
  const pin = await readPin(key, lb.id, cookieValue(a.request.headers.get('cookie'), AFFINITY_COOKIE), now);
  const pinned = pin ? pinnedCandidate(a.deps.snapshot, lb, pin, usable) : undefined;
  const failover = lb.session_affinity_attributes?.zero_downtime_failover ?? 'none';
  if (pinned) a.plan = pinnedPlan(a.plan, pinned, failover !== 'none');
  else if (lb.session_affinity === 'ip_cookie' && a.clientIp) a.plan = ipPlan(a.plan, a.clientIp, usable);
  a.stripAffinityCookie = true;
  if (a.request.body) a.body = await requestBody(a.request);
  const response = await firstAttempt(a);
  const by = a.answeredBy;
  const moved = by && pinned && (by.pool.id !== pinned.pool.id || by.originIndex !== pinned.originIndex);
  if (!by || response.status === 101 || (pinned && !(moved && failover === 'sticky'))) return response;
  const value = await signPin(key, lb.id, { poolId: by.pool.id, origin: by.origin.name, expiresAt: now + affinityTtl(lb) });
  const out = new Response(response.body, response);
  out.headers.append('set-cookie', setCookieHeader(lb, value, a.url.protocol === 'https:'));
  return out;
}

/**
 * Header affinity: the session key's origin from the table when usable; `zero_downtime_failover`
 * `temporary` lets a failure go elsewhere without re-pinning, `none` does not. A new session, or
 * one whose origin is no longer usable, is pinned to the origin that answered.
 */
export async function withHeaderAffinity(a: Attempt, lb: LoadBalancer, usable: Usable, pins: HeaderPins, session: string): Promise<Response> {
  const pin = await pins.get(lb, session);
  const pinned = pin ? pinnedCandidate(a.deps.snapshot, lb, { ...pin, expiresAt: Infinity }, usable) : undefined;
  const failover = lb.session_affinity_attributes?.zero_downtime_failover ?? 'none';
  if (pinned) a.plan = pinnedPlan(a.plan, pinned, failover !== 'none');
  if (a.request.body) a.body = await requestBody(a.request);
  const response = await firstAttempt(a);
  const by = a.answeredBy;
  if (by && !pinned && response.status < 500) pins.put(lb, session, by.pool.id, by.origin.name, pin !== undefined);
  return response;
}

/**
 * The pinned origin as a candidate, when the session may stay there: the pool is enabled, the
 * origin is healthy and either takes traffic or is within its drain window (drain_duration after
 * it was disabled or set to drain).
 */
function pinnedCandidate(snapshot: Snapshot, lb: LoadBalancer, pin: Pinned, usable: Usable): Candidate | undefined {
  const pool = snapshot.pools.get(pin.poolId)?.pool;
  const i = pool ? pool.origins.findIndex((o) => o.name === pin.origin) : -1;
  const origin = pool?.origins[i];
  if (!pool || !origin || !pool.enabled || !usable(pool, i)) return undefined;
  if (!takesTraffic(origin) && !inDrainWindow(origin, lb.session_affinity_attributes?.drain_duration ?? 0, Date.now())) return undefined;
  return { pool, poolRank: 0, origin, originIndex: i };
}

/** The pinned origin first; with failover, then the plan's candidates without it. */
function pinnedPlan(plan: Plan, pinned: Candidate, failover: boolean): Plan {
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

/** ip_cookie's first pick: weighted rendezvous hashing of the client IP over the chosen pool. */
function ipPlan(plan: Plan, clientIp: string, usable: Usable): Plan {
  const pool = plan.pool;
  const i = new RendezvousPolicy(effectiveWeights(pool), pool.origins.map((o) => o.name)).first({ random: Math.random, key: clientIp }, (k) => usable(pool, k));
  if (i < 0 || i === plan.first.originIndex) return plan;
  return pinnedPlan(plan, { pool, poolRank: 0, origin: pool.origins[i]!, originIndex: i }, true);
}

