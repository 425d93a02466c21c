/**
 * Client subnets indexed by family and prefix length, for the candidate index of rules and ACLs
 * (rule-index.ts): per family and distinct
 * prefix length, the masked network, one Map level per 32-bit word (1 for IPv4, up to 4 for
 * IPv6), so an address costs one lookup chain per distinct prefix length (the per-length hash
 * tables of "Longest prefix match" by binary search on lengths, Waldvogel et al., SIGCOMM 1997,
 * without the search: every length is looked up, since every matching subnet counts).
 *
 * Families are kept apart exactly as core/rules/ip.ts `ipSet` keeps them: a request from
 * `::ffff:a.b.c.d` is IPv4 there (parseAddress) and here, and a subnet written in IPv4-mapped
 * IPv6 form stays IPv6 (so it holds no request's address, there or here).
 */
import type { IpAddress, IpRange } from './ip.ts';
import { markRanks, pushRank } from './ranks.ts';

/** A level of networks: the masked 32-bit word of the address, then the next word's level or (last word) the ranks. */
type Level = Map<number, Level | number[]>;
interface PrefixTable {
  readonly bits: number;
  /** Words of the address the prefix covers (≥ 1), or 0 for /0. */
  readonly words: number;
  readonly root: Level;
  /** The ranks of /0. */
  readonly any: number[];
}

/** Subnets by family and prefix length: `mark` sets the ranks of every subnet holding an address. */
export class IpPrefixes {
  readonly #v4: PrefixTable[] = [];
  readonly #v6: PrefixTable[] = [];
  /** Subnets added. */
  size = 0;

  /** Adds every range under `rank` (ranks in increasing order); false (nothing added) when one is not a CIDR block. */
  addAll(ranges: readonly IpRange[], rank: number): boolean {
    const lengths = ranges.map(prefixLength);
    if (lengths.some((bits) => bits < 0)) return false;
    ranges.forEach((r, k) => this.#add(r, lengths[k]!, rank));
    return true;
  }

  #add(r: IpRange, bits: number, rank: number): void {
    this.size++;
    const tables = r.v6 ? this.#v6 : this.#v4;
    let t = tables.find((x) => x.bits === bits);
    if (!t) {
      tables.push((t = { bits, words: (bits + 31) >> 5, root: new Map(), any: [] }));
      tables.sort((a, b) => a.bits - b.bits);
    }
    if (!t.words) return pushRank(t.any, rank);
    let level = t.root;
    for (let w = 0; w < t.words - 1; w++) {
      let next = level.get(r.lo[w]!) as Level | undefined;
      if (!next) level.set(r.lo[w]!, (next = new Map()));
      level = next;
    }
    const last = level as Map<number, number[]>;
    const list = last.get(r.lo[t.words - 1]!);
    if (list) pushRank(list, rank);
    else last.set(r.lo[t.words - 1]!, [rank]);
  }

  /** Adds to `bits` the ranks of every subnet holding `ip` (of its family). */
  mark(ip: IpAddress, bits: Uint32Array): void {
    const tables = ip.v6 ? this.#v6 : this.#v4;
    for (let k = 0; k < tables.length; k++) {
      const t = tables[k]!;
      let at: Level | number[] | undefined = t.words ? t.root : t.any;
      for (let w = 0; w < t.words && at !== undefined; w++) at = (at as Level).get((ip.words[w]! & wordMask(t.bits - 32 * w)) >>> 0);
      if (at !== undefined) markRanks(bits, at as number[]);
    }
  }
}

/** The mask of one 32-bit word when `bits` of the prefix fall in it (≤ 0: none, ≥ 32: all). */
function wordMask(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

/** The prefix length of a range that is a CIDR block (network and broadcast words), else -1. */
export function prefixLength(r: IpRange): number {
  let bits = 0;
  for (let w = 0; w < r.lo.length; w++) {
    const lo = r.lo[w]!;
    const host = (lo ^ r.hi[w]!) >>> 0;
    if (host === 0 && bits === 32 * w) bits += 32;
    else if (((host & (host + 1)) | (lo & host)) !== 0 || (bits !== 32 * w && host !== 0xffffffff)) return -1;
    else if (bits === 32 * w) bits += Math.clz32(host);
  }
  return bits;
}
