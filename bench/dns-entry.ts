/**
 * Bench-only Worker entry (bench/dns.ts runs it under wrangler dev in place of worker/index.ts):
 * the real Worker, whose LbStates reach Cloudflare zones through the zone's DnsZoneWriter
 * (durable-objects/dns/providers.ts); `BENCH_DNS_MODE=direct` makes each load balancer call
 * Cloudflare's API itself instead (through LbState's test hook), for comparison.
 */
// The Worker first: its modules extend zod (OpenAPI) before the config schemas are built.
import worker, { ConfigStore, DnsZoneWriter, LbState as RealLbState } from '../worker/index.ts';
import { directProviderFor } from '../durable-objects/dns/providers.ts';
import { TESTING } from '../durable-objects/lb-state/index.ts';

export { ConfigStore, DnsZoneWriter };

export class LbState extends RealLbState {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    if ((env as { BENCH_DNS_MODE?: string }).BENCH_DNS_MODE !== 'direct') return;
    void this[TESTING]({ dnsProvider: (zone) => directProviderFor(zone, env) });
  }
}

export default worker;
