import type { Origin } from '../config/index.ts';

/**
 * Cloudflare's endpoint drain: a session pinned to an origin that takes no new traffic by
 * configuration (enabled false, or our `drain`) may stay on it for `drainDurationS` seconds after
 * its `disabled_at`; new sessions never go there. `nowMs` is epoch ms. False with no drain
 * configured (0), no `disabled_at`, or an origin that is simply enabled.
 */
export function inDrainWindow(origin: Origin, drainDurationS: number, nowMs: number): boolean {
  if (drainDurationS <= 0 || !origin.disabled_at || (origin.enabled && !origin.drain)) return false;
  return nowMs < Date.parse(origin.disabled_at) + drainDurationS * 1000;
}
