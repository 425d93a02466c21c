/**
 * A TCP app's `ip_firewall` (Cloudflare Spectrum's): an address passes when it is in `allow` (or
 * `allow` is empty) and not in `deny`. Entries (validated by core/config/tcp.ts) and client
 * addresses are parsed by core/rules/ip.ts, as ACL subnets are (core/acl): entries once per
 * config version; IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, what a dual-stack socket
 * reports) are matched as IPv4.
 */
import type { TcpApp } from '../../core/config/index.ts';
import { ipSet, parseAddress, parseIpElement, type IpAddress, type IpRange } from '../../core/rules/ip.ts';

/** Throws an Error naming the entry when it is not an address or CIDR (the config schema refuses those first). */
function ranges(entries: readonly string[]): ((ip: IpAddress) => boolean) | undefined {
  if (!entries.length) return undefined;
  return ipSet(
    entries.map((entry): IpRange => {
      const r = parseIpElement(entry, true);
      if (typeof r === 'string') throw new Error(`ip_firewall entry ${entry}: ${r}`);
      return r;
    }),
  );
}

/** The app's firewall as a predicate over client addresses; an address that does not parse is refused. */
export function compileFirewall(fw: TcpApp['ip_firewall']): (address: string) => boolean {
  const allow = ranges(fw.allow);
  const deny = ranges(fw.deny);
  if (!allow && !deny) return () => true;
  return (address) => {
    const ip = parseAddress(address);
    if (!ip) return false;
    return (!allow || allow(ip)) && !deny?.(ip);
  };
}
