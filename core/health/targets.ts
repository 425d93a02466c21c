import { poolReferences, type ConfigDocument, type LoadBalancer } from '../config/index.ts';
import type { Monitor, Pool } from '../config/index.ts';

/**
 * What a load balancer's LbState should watch: the pools it may route to (every reference, each
 * once) with their monitors. Nothing for a disabled load balancer, or for `lbId` with no load
 * balancer (deleted).
 */
export function healthTargets(doc: ConfigDocument, lbId: string): { lbId: string; pools: { pool: Pool; monitor?: Monitor }[] } {
  const lb: LoadBalancer | undefined = doc.load_balancers.find((x) => x.id === lbId);
  if (!lb?.enabled) return { lbId, pools: [] };
  const ids = [...new Set(poolReferences(lb).map(([, id]) => id))];
  return {
    lbId: lb.id,
    pools: ids.flatMap((id) => {
      const pool = doc.pools.find((p) => p.id === id);
      if (!pool) return [];
      const monitor = pool.monitor ? doc.monitors.find((m) => m.id === pool.monitor) : undefined;
      return [{ pool, monitor }];
    }),
  };
}
