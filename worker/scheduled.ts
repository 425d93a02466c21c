/**
 * The cron trigger (every minute) is the health watchdog: it re-syncs every load balancer's
 * LbState with what it should watch (core/health/targets), which re-arms its alarm; overdue probes
 * then run at once.
 */
import { healthTargets } from '../core/health/targets.ts';
import { configStore, lbState } from './rpc.ts';

/** Syncs each load balancer's health targets; returns how many were synced. */
export async function watchdog(env: Env): Promise<number> {
  const { doc } = await configStore(env).snapshot(-1);
  if (!doc) return 0;
  const results = await Promise.allSettled(doc.load_balancers.map((lb) => lbState(env, lb.id).sync(healthTargets(doc, lb.id))));
  for (const r of results) if (r.status === 'rejected') console.error('watchdog: sync failed', String(r.reason));
  return results.filter((r) => r.status === 'fulfilled').length;
}
