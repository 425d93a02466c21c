/**
 * EDNS Client Subnet (RFC 7871): reading the option of a query, and deciding whether it stands
 * for the client (the load balancer's `location_strategy.prefer_ecs`). dns/doh/wire.ts echoes it
 * in the response with a SCOPE PREFIX-LENGTH (§7.2.1).
 *
 * The option is read from its raw bytes (the codec's own ECS decoder accepts inconsistent
 * lengths): FAMILY (2 bytes: 1 = IPv4, 2 = IPv6), SOURCE PREFIX-LENGTH, SCOPE PREFIX-LENGTH, then
 * ADDRESS truncated to ceil(SOURCE / 8) bytes. An unknown FAMILY, a prefix longer than the family
 * allows, too few or too many ADDRESS bytes, or ADDRESS bits set beyond SOURCE PREFIX-LENGTH are
 * malformed (§6: the server answers FORMERR).
 */
import type { LoadBalancer } from '../../core/config/index.ts';
import { effectivePolicy } from '../../core/steer/pools.ts';

/** The EDNS option code of Client Subnet (IANA "DNS EDNS0 Option Codes"). */
export const ECS_OPTION_CODE = 8;

/** A query's Client Subnet option, validated. */
export interface ClientSubnet {
  /** 1 = IPv4, 2 = IPv6 (IANA address family numbers). */
  family: 1 | 2;
  /** Bits of `address` the client disclosed (0: it asks that its address not be used, §7.1.2). */
  sourcePrefixLength: number;
  /** The subnet's address, zero-filled past the prefix: dotted quad, or eight full hex groups (no `::` shortening). */
  address: string;
  /** ADDRESS as sent: ceil(sourcePrefixLength / 8) bytes (copied into the response, §7.2.1). */
  addressBytes: Uint8Array;
}

/** Reads a Client Subnet option's data (the bytes after OPTION-CODE and OPTION-LENGTH); undefined when malformed (FORMERR). */
export function parseClientSubnet(data: Uint8Array): ClientSubnet | undefined {
  if (data.length < 4) return undefined;
  const family = (data[0]! << 8) | data[1]!;
  const source = data[2]!;
  if (family !== 1 && family !== 2) return undefined;
  const width = family === 1 ? 4 : 16;
  if (source > width * 8) return undefined;
  const used = Math.ceil(source / 8);
  if (data.length !== 4 + used) return undefined;
  const addressBytes = data.slice(4);
  // Bits past the prefix in the last byte must be zero.
  if (used > 0 && source % 8 !== 0 && (addressBytes[used - 1]! & (0xff >> (source % 8))) !== 0) return undefined;
  const full = new Uint8Array(width);
  full.set(addressBytes);
  return { family, sourcePrefixLength: source, address: addressText(full), addressBytes };
}

function addressText(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/**
 * Whether the ECS subnet stands for the client of `lb`, as Cloudflare defines `prefer_ecs`:
 * `always`; `never`; `proximity` (the default) only when the effective steering policy is
 * proximity; `geo` only when it is geo. A subnet with SOURCE PREFIX-LENGTH 0 never does (the
 * client opted out, RFC 7871 §7.1.2).
 */
export function ecsPreferred(lb: LoadBalancer, subnet: ClientSubnet | undefined): boolean {
  if (!subnet || subnet.sourcePrefixLength === 0) return false;
  const prefer = lb.location_strategy?.prefer_ecs ?? 'proximity';
  if (prefer === 'always') return true;
  if (prefer === 'never') return false;
  return effectivePolicy(lb) === prefer;
}
