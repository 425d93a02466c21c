import { poolReferences, type ConfigDocument, type LoadBalancer } from '../config/index.ts';
import type { Monitor, Pool } from '../config/index.ts';

/** The pools a load balancer may route to (every reference, each once) with their monitors. */
export function healthTargets(doc: ConfigDocument, lb: LoadBalancer): { lbId: string; pools: { pool: Pool; monitor?: Monitor }[] } {
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
