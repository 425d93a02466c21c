/**
 * Cloudflare's pool load shedding: whether a pool passes one request on to the next pools of the
 * load balancer's steering order, as if it were not there ("Load shedding", Cloudflare Load
 * Balancing docs; API schema `load-balancing_load_shedding`).
 *
 * - Default traffic (no affinity session, or a new one) is shed by `default_percent`, with
 *   `default_policy` `random` (each request draws: accurate shares, but one client's requests may
 *   go to different pools) or `hash` (the share of the client-IP hash space: a client is shed
 *   every time or never).
 * - Existing sessions (a request pinned to this pool) are shed by `session_percent`, `hash` only
 *   (Cloudflare: a random policy would shed sessions at an exponential rate: each request is a
 *   new draw). Shedding a pinned request moves its session: affinity's judgePin (SESSION_SHED)
 *   does not honour the pin, and the request is planned as a new session with that pool shed
 *   whatever its `default_percent` (RouteInputs.shedPool), so the answer re-pins it elsewhere.
 *
 * The IP hash is hash32 (core/steer/hash.ts) seeded by the pool id: raising a percent only adds
 * clients to those shed, and different pools shed different clients. A client with no address
 * (unknown CF-Connecting-IP) is drawn at random for default traffic and keeps its session below
 * a `session_percent` of 100 (at 100 every session is shed, whatever the address).
 * Pure: randomness is injected.
 */
import type { LoadShedding } from '../config/index.ts';
import { hash32 } from '../steer/hash.ts';

/** Which share of traffic a request belongs to: `session` when it carries a pin to the pool. */
export type ShedTraffic = 'default' | 'session';

/** The client's point in [0, 1) of the pool's IP hash space. */
export function ipPoint(poolId: string, clientIp: string): number {
  return hash32(clientIp, hash32(poolId)) / 2 ** 32;
}

/**
 * Whether the pool `poolId` with `shedding` (null or absent: none) sheds this request.
 * `random` gives uniform numbers in [0, 1); called at most once, only by the random policy.
 */
export function sheds(
  shedding: LoadShedding | null | undefined,
  poolId: string,
  traffic: ShedTraffic,
  clientIp: string | undefined,
  random: () => number,
): boolean {
  if (!shedding) return false;
  const percent = traffic === 'session' ? shedding.session_percent : shedding.default_percent;
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  const share = percent / 100;
  if (traffic === 'default' && (shedding.default_policy === 'random' || clientIp === undefined)) return random() < share;
  if (clientIp === undefined) return false;
  return ipPoint(poolId, clientIp) < share;
}
