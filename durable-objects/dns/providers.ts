/**
 * From a DNS zone's config (core/config DnsZoneSchema) and the Worker's secret bindings to the
 * DnsProvider that reaches it: Cloudflare's API through `fetch`, or an RFC 2136 server over TCP
 * through `cloudflare:sockets` (socket.ts). Secrets are read from the bindings the zone names
 * (`wrangler secret put NAME`; `.dev.vars` locally) and never stored, logged or put in a message.
 */
import type { DnsZone } from '../../core/config/index.ts';
import { cloudflareProvider } from '../../dns/cloudflare/index.ts';
import { ProviderError, type DnsProvider } from '../../dns/provider.ts';
import { rfc2136Provider } from '../../dns/rfc2136/index.ts';
import { zoneWriterProvider } from '../dns-zone/provider.ts';
import { socketDnsTransport } from './socket.ts';

/** Makes the provider of a zone; LbState's test hook `dnsProvider` replaces the default, providerFor. */
export type ProviderFactory = (zone: DnsZone) => DnsProvider;

/**
 * The provider LbState uses for `zone`: a Cloudflare zone goes through its DnsZoneWriter (one per
 * zone, binding DNS_ZONE), which coalesces every load balancer's reads and changes into a few
 * listings and batches, so 1,000 load balancers stay within Cloudflare's 1,200 requests per 5
 * minutes (durable-objects/dns-zone); without the binding, and for RFC 2136, `directProviderFor`.
 */
export function providerFor(zone: DnsZone, env: object, now: () => number = Date.now): DnsProvider {
  const writers = (env as { DNS_ZONE?: Env['DNS_ZONE'] }).DNS_ZONE;
  if (zone.provider.type === 'cloudflare' && writers) return zoneWriterProvider(writers.getByName(zone.id), zone);
  return directProviderFor(zone, env, now);
}

/**
 * The provider of `zone` called directly from here, its credential read from
 * `env[<binding the zone names>]`. Throws ProviderError 'auth' when that binding is missing, empty
 * or not a string (the message names the binding, never a value); nothing is sent then.
 */
export function directProviderFor(zone: DnsZone, env: object, now: () => number = Date.now): DnsProvider {
  const p = zone.provider;
  if (p.type === 'cloudflare') {
    return cloudflareProvider({
      zoneId: p.zone_id,
      apiToken: secret(env, p.api_token_secret, zone),
      baseURL: p.api_base,
      fetch: (i, init) => fetch(i, init),
      now,
    });
  }
  return rfc2136Provider({
    zone: zone.name,
    server: p.server,
    port: p.port,
    keyName: p.tsig_key_name,
    algorithm: p.tsig_algorithm,
    secret: secret(env, p.tsig_secret, zone),
    transport: socketDnsTransport(),
    now,
  });
}

/** The value of secret binding `name`; ProviderError 'auth' when it is not a non-empty string. */
function secret(env: object, name: string, zone: DnsZone): string {
  const value: unknown = (env as Record<string, unknown>)[name];
  if (typeof value === 'string' && value.length > 0) return value;
  throw new ProviderError('auth', `secret binding ${name} of zone ${zone.name} is not set (wrangler secret put ${name}; locally .dev.vars)`);
}
