/**
 * The candidate index of an AclSet (core/acl/index.ts): built once per config version, it names
 * the entries that can match a request, so a request runs the full match of those alone (the
 * "candidate index" of packet classifiers and firewalls; HAProxy's map lookups in place of a
 * scan of ACLs).
 *
 * Each entry sits in ONE dimension, chosen from a necessary condition of its match:
 * - `host`, not inverted: a Map from lower-case hostname to entries;
 * - `http_header_match`, not inverted: per header name, a Map from exact value to entries;
 * - `path_begin`, not inverted: a radix (path-compressed character) trie of the prefixes, walked
 *   along the path: at most one node per character of the path, memory linear in the prefixes;
 * - otherwise, non-empty `ip_subnet` of CIDR blocks and not inverted: core/rules/ip-index.ts
 *   (per family and prefix length, shared with the rule index): one lookup chain per distinct
 *   prefix length;
 * - `path_end`, not inverted: per distinct suffix length, a Map from suffix to entries (one slice
 *   of the path and one lookup per distinct length);
 * - `regex`, not inverted, when every pattern starts with `^` and literal text (no top-level `|`):
 *   that text in the path trie, as a prefix;
 * - everything else (inverted entries, other regexes, neither filter nor subnet): always.
 *
 * Entries are named by rank (their place in evaluation order); candidates are marked in a bit set
 * of uint32 words (rank r: bit r & 31 of word r >> 5), which yields them in evaluation order
 * without sorting or duplicates and without allocating per request.
 */
import type { IpRange } from '../rules/ip.ts';
import { IpPrefixes } from '../rules/ip-index.ts';
import type { RuleRequest } from '../rules/request.ts';
import { markRanks, PrefixTrie, pushRank, rankSet } from '../rules/ranks.ts';
import { requiredLiteral } from '../rules/regex.ts';
import type { HttpFilter } from './schema.ts';

/** What the index reads of a compiled entry (core/acl/index.ts CompiledAcl). */
export interface IndexableEntry {
  readonly filter: HttpFilter;
  /** Lower-case hostnames, header values or path prefixes (per `filter`). */
  readonly values: readonly string[];
  /** http_header_match's header name, lower case. */
  readonly header: string;
  readonly ranges: readonly IpRange[];
  readonly invert: boolean;
}

/** The entries (by rank) whose match can hold for a request. */
export class CandidateIndex {
  readonly #always: Uint32Array;
  /** Reused by every call: evaluation is synchronous, so no two calls share it at once. */
  readonly #bits: Uint32Array;
  readonly #hosts = new Map<string, number[]>();
  readonly #headers: { readonly name: string; readonly values: Map<string, number[]> }[] = [];
  readonly #paths = new PrefixTrie();
  /** path_end suffixes by length: one slice and lookup per distinct length. */
  readonly #suffixes = new Map<number, Map<string, number[]>>();
  readonly #ips = new IpPrefixes();

  #suffixesOf(length: number): Map<string, number[]> {
    let ends = this.#suffixes.get(length);
    if (!ends) this.#suffixes.set(length, (ends = new Map()));
    return ends;
  }

  /** `entries` in evaluation order (rank = array index). */
  constructor(entries: readonly IndexableEntry[]) {
    this.#always = rankSet(entries.length);
    this.#bits = rankSet(entries.length);
    entries.forEach((e, rank) => {
      let literals: string[] | undefined;
      if (!e.invert && e.filter === 'host') for (const v of e.values) pushRank(listOf(this.#hosts, v), rank);
      else if (!e.invert && e.filter === 'http_header_match') {
        let h = this.#headers.find((x) => x.name === e.header);
        if (!h) this.#headers.push((h = { name: e.header, values: new Map() }));
        for (const v of e.values) pushRank(listOf(h.values, v), rank);
      } else if (!e.invert && e.filter === 'path_begin') for (const v of e.values) this.#paths.add(v, rank);
      else if (!e.invert && e.filter === 'path_end') for (const v of e.values) pushRank(listOf(this.#suffixesOf(v.length), v), rank);
      else if (!e.invert && e.filter === 'regex' && (literals = anchoredLiterals(e.values))) for (const v of literals) this.#paths.add(v, rank);
      else if (e.invert || !e.ranges.length || !this.#ips.addAll(e.ranges, rank)) markRanks(this.#always, [rank]);
    });
  }

  /**
   * The candidates for `request`: a bit set over ranks, valid until the next call. Costs one Map
   * lookup for the host, one per distinct header name, a trie walk bounded by the path's length
   * and one lookup chain per distinct subnet prefix length; reads a request field only when some
   * entry is indexed on it.
   */
  candidates(request: RuleRequest): Uint32Array {
    const bits = this.#bits;
    bits.set(this.#always);
    if (this.#hosts.size) {
      const ranks = this.#hosts.get(request.host.toLowerCase());
      if (ranks) markRanks(bits, ranks);
    }
    for (const h of this.#headers) {
      const v = request.header(h.name)?.[0];
      const ranks = v === undefined ? undefined : h.values.get(v);
      if (ranks) markRanks(bits, ranks);
    }
    if (this.#paths.size) this.#paths.mark(request.path, bits);
    if (this.#suffixes.size) {
      const path = request.path;
      for (const [length, ends] of this.#suffixes) {
        const ranks = length <= path.length ? ends.get(path.slice(path.length - length)) : undefined;
        if (ranks) markRanks(bits, ranks);
      }
    }
    if (this.#ips.size) {
      const ip = request.ip;
      if (ip) this.#ips.mark(ip, bits);
    }
    return bits;
  }
}

function listOf<K>(map: Map<K, number[]>, key: K): number[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}

/**
 * The literal prefix each of a regex entry's patterns requires (`^` then literal text, no
 * top-level `|`: core/rules/regex.ts requiredLiteral, the prefilter compileRegex itself relies
 * on); undefined when one pattern has none (the entry is then always a candidate).
 */
function anchoredLiterals(patterns: readonly string[]): string[] | undefined {
  const out: string[] = [];
  for (const p of patterns) {
    const literal = p.startsWith('^') ? requiredLiteral(p, 1) : '';
    if (!literal) return undefined;
    out.push(literal);
  }
  return out;
}
