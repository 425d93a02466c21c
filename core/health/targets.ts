import { isProbed, poolReferences, type ConfigDocument, type DnsZone, type LoadBalancer, type Monitor, type Pool, type Webhook } from '../config/index.ts';

/** What one load balancer's LbState is told (core/rpc Targets). */
export interface LbTargets {
  lbId: string;
  pools: { pool: Pool; monitor?: Monitor }[];
  /** The load balancer (absent when deleted or disabled). */
  lb?: LoadBalancer;
  /** The zone it is published in (`lb.dns`), if any. */
  dnsZone?: DnsZone;
  /** Enabled webhooks that take its transitions. */
  webhooks?: Webhook[];
}

/**
 * What a load balancer's LbState should watch and tell: the pools it may route to (every
 * reference, each once) with their monitors (none for a monitor type that cannot be probed from
 * a Worker: core/config/cloudflare/fields.ts), the load balancer itself, its DNS zone and its
 * webhooks. No pools and no load balancer for a disabled one, or for `lbId` with no load balancer
 * (deleted).
 */
export function healthTargets(doc: ConfigDocument, lbId: string): LbTargets {
  const lb: LoadBalancer | undefined = doc.load_balancers.find((x) => x.id === lbId);
  if (!lb?.enabled) return { lbId, pools: [] };
  const ids = [...new Set(poolReferences(lb).map(([, id]) => id))];
  return {
    lbId: lb.id,
    pools: ids.flatMap((id) => {
      const pool = doc.pools.find((p) => p.id === id);
      if (!pool) return [];
      // A monitor of a type no Worker can send (icmp_ping, udp_icmp, smtp) counts as none: origins stay healthy.
      const monitor = pool.monitor ? doc.monitors.find((m) => m.id === pool.monitor && isProbed(m.type)) : undefined;
      return [{ pool, monitor }];
    }),
    lb,
    dnsZone: lb.dns ? doc.dns_zones.find((z) => z.id === lb.dns!.zone) : undefined,
    webhooks: doc.webhooks.filter((w) => w.enabled && (!w.load_balancers.length || w.load_balancers.includes(lb.id))),
  };
}
