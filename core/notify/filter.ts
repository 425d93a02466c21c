/**
 * Cloudflare's pool `notification_filter` (load balancing pools API, `FilterOptions` in Cloudflare's
 * TypeScript SDK): `{origin?: {disable?, healthy?} | null, pool?: {disable?, healthy?} | null}`.
 *
 * - `disable: true`: no notifications for that kind of resource (the pool's origins, or the pool).
 * - `healthy: true`: only when it becomes healthy; `false`: only when it becomes unhealthy
 *   ("false for only DOWN events"); `null` or absent: both.
 * - A missing or null filter, or a missing or null kind, lets everything through.
 */
import type { NotificationFilter } from '../config/index.ts';

/** Which part of a pool a transition is about: one of its origins, or the pool itself. */
export type FilterResource = 'origin' | 'pool';

/** Whether a transition of `resource` that makes it `healthy` (true) or unhealthy (false) is notified under `filter`. */
export function notifies(filter: NotificationFilter | null | undefined, resource: FilterResource, healthy: boolean): boolean {
  const options = filter?.[resource];
  if (!options) return true;
  if (options.disable === true) return false;
  return options.healthy === null || options.healthy === undefined || options.healthy === healthy;
}
