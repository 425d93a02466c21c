/**
 * A DnsProvider (dns/provider.ts) over a DnsZoneWriter's RPC stub: what LbState's DNS job holds
 * for a Cloudflare zone, so that its reads and applies are coalesced with every other load
 * balancer's in that zone (./index.ts).
 *
 * Errors: the writer answers ProviderErrors as values (core/rpc WireProviderError); they are
 * thrown here again as ProviderError with the same kind, message and retryAfterMs. A failure of
 * the RPC itself (the object reset, overloaded, unreachable) is ProviderError 'unreachable': the
 * caller backs off and reads again, as after a timeout of the API.
 */
import type { DnsZone } from '../../core/config/index.ts';
import type { Client, DnsZoneApi, ZoneReply } from '../../core/rpc/index.ts';
import { ProviderError, type DnsProvider } from '../../dns/provider.ts';

/** The writer of `zone` (`namespace.getByName(zone.id)`), as a DnsProvider of kind 'cloudflare'. */
export function zoneWriterProvider(stub: Client<DnsZoneApi>, zone: DnsZone): DnsProvider {
  return {
    kind: 'cloudflare',
    read: async (name, owner) => unwrap(await call(() => stub.read(zone, name, owner))),
    apply: async (changes) => void unwrap(await call(() => stub.apply(zone, changes))),
  };
}

async function call<T>(fn: () => Promise<ZoneReply<T>>): Promise<ZoneReply<T>> {
  try {
    return await fn();
  } catch (e) {
    return { ok: false, error: { kind: 'unreachable', message: `the zone's writer did not answer: ${e instanceof Error ? e.message : String(e)}` } };
  }
}

function unwrap<T>(r: ZoneReply<T>): T {
  if (r.ok) return r.value;
  throw new ProviderError(r.error.kind, r.error.message, r.error.retryAfterMs);
}
