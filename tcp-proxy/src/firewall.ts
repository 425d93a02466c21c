/**
 * A TCP app's `ip_firewall` (Cloudflare Spectrum's): an address passes when it is in `allow` (or
 * `allow` is empty) and not in `deny`. CIDRs are parsed by ipaddr.js once per config version;
 * IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, what a dual-stack socket reports) are matched as IPv4.
 */
import ipaddr from 'ipaddr.js';
import type { TcpApp } from '../../core/config/index.ts';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

function range(cidr: string): Range {
  if (cidr.includes('/')) return ipaddr.parseCIDR(cidr);
  const ip = ipaddr.parse(cidr);
  return [ip, ip.kind() === 'ipv4' ? 32 : 128];
}

/** The address as ipaddr.js sees it, IPv4-mapped IPv6 unwrapped; undefined when it does not parse. */
export function parseAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  try {
    return ipaddr.process(address);
  } catch {
    return undefined;
  }
}

const inAny = (ip: ipaddr.IPv4 | ipaddr.IPv6, ranges: readonly Range[]) => ranges.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits));

/** The app's firewall as a predicate over client addresses; an address that does not parse is refused. */
export function compileFirewall(fw: TcpApp['ip_firewall']): (address: string) => boolean {
  const allow = fw.allow.map(range);
  const deny = fw.deny.map(range);
  if (!allow.length && !deny.length) return () => true;
  return (address) => {
    const ip = parseAddress(address);
    if (!ip) return false;
    return (!allow.length || inAny(ip, allow)) && !inAny(ip, deny);
  };
}
