/**
 * A candidate index over requirements (requirement.ts), shared by load balancing rules
 * (core/route/rules.ts) and ACL entries (core/acl/candidates.ts): a request pays a few lookups and
 * the full match of the entries that can match, not every entry's (the "candidate index" of
 * packet classifiers and firewalls; HAProxy's map lookups in place of a scan of ACLs).
 *
 * Built once per config version from the entries' requirements, by rank (place in evaluation
 * order). Per field key: a Map from exact value to ranks; a trie of prefixes and a trie of
 * needles (ranks.ts `PrefixTrie`: `mark` for the prefixes of the value, `markContained` for the
 * needles in it, needles sharing a beginning searched once for it); suffixes by length, a Map from
 * suffix to ranks per distinct length (one slice and lookup per length). For `ip.src`, the
 * subnets by family and prefix length (ip-index.ts). Entries without a requirement are
 * candidates for every request. `candidates` reads each indexed value once (with the getter the
 * comparisons use: headers from the request view's header map, lower()/upper() through their
 * per-key memo) and marks the ranks found in a rank set, which yields them ascending and once
 * each (an entry can be reached twice: `path eq "/a" or starts_with(path, "/")`). A candidate's
 * match must still run: a requirement is necessary, not sufficient.
 *
 * The rank set is owned by the index: `candidates` is synchronous and the next call overwrites
 * it, so nothing is allocated per request.
 */
import { IpPrefixes } from './ip-index.ts';
import { markRanks, PrefixTrie, pushRank, rankSet } from './ranks.ts';
import type { RuleRequest } from './request.ts';
import { fieldReader, type Requirement } from './requirement.ts';

interface FieldIndex {
  readonly read: (r: RuleRequest) => string | undefined;
  readonly exact: Map<string, number[]>;
  readonly prefixes: PrefixTrie;
  readonly needles: PrefixTrie;
  /** Per distinct suffix length: suffix → ranks (an array: walked without an iterator). */
  readonly suffixes: { readonly length: number; readonly ends: Map<string, number[]> }[];
}

export class RuleIndex {
  /** Ranks of the entries without a requirement. */
  readonly #always: Uint32Array;
  readonly #fields: FieldIndex[] = [];
  readonly #ips = new IpPrefixes();
  /** The candidates of the last `candidates` call. */
  readonly #bits: Uint32Array;

  /**
   * `requirements[r]`: the requirement of the entry of rank `r` (undefined: none). Throws when a
   * requirement's `ranges` hold a range that is not a CIDR block (requirement.ts `rangesOf`
   * callers refuse those) or its field is not indexable (`fieldReader`).
   */
  constructor(requirements: readonly (Requirement | undefined)[]) {
    this.#always = rankSet(requirements.length);
    this.#bits = rankSet(requirements.length);
    const byField = new Map<string, FieldIndex>();
    requirements.forEach((req, rank) => {
      if (!req) return markRanks(this.#always, [rank]);
      if (req.ranges.length && !this.#ips.addAll(req.ranges, rank)) throw new Error(`the requirement of entry ${rank} has a range that is not a CIDR block`);
      if (!req.values.length && !req.prefixes.length && !req.suffixes.length && !req.needles.length) return;
      let f = byField.get(req.field);
      if (!f) {
        const read = fieldReader(req.field) as FieldIndex['read'];
        byField.set(req.field, (f = { read, exact: new Map(), prefixes: new PrefixTrie(), needles: new PrefixTrie(), suffixes: [] }));
      }
      for (const v of req.values) pushRank(listOf(f.exact, v), rank);
      for (const p of req.prefixes) f.prefixes.add(p, rank);
      for (const n of req.needles) f.needles.add(n, rank);
      for (const s of req.suffixes) {
        let at = f.suffixes.find((x) => x.length === s.length);
        if (!at) f.suffixes.push((at = { length: s.length, ends: new Map() }));
        pushRank(listOf(at.ends, s), rank);
      }
    });
    this.#fields = [...byField.values()];
  }

  /** Whether any entry has a requirement (else every entry is a candidate for every request). */
  get useful(): boolean {
    return this.#fields.length > 0 || this.#ips.size > 0;
  }

  /**
   * The ranks of the entries that may match `request`, as a rank set (ranks.ts `nextRank` walks
   * it ascending). The next call overwrites it: read it first.
   */
  candidates(request: RuleRequest): Uint32Array {
    const bits = this.#bits;
    bits.set(this.#always);
    const fields = this.#fields;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      const v = f.read(request);
      if (v === undefined) continue;
      if (f.exact.size) {
        const hit = f.exact.get(v);
        if (hit) markRanks(bits, hit);
      }
      if (f.prefixes.size) f.prefixes.mark(v, bits);
      if (f.needles.size) f.needles.markContained(v, bits);
      const suffixes = f.suffixes;
      for (let k = 0; k < suffixes.length; k++) {
        const { length, ends } = suffixes[k]!;
        const hit = length <= v.length ? ends.get(v.slice(v.length - length)) : undefined;
        if (hit) markRanks(bits, hit);
      }
    }
    if (this.#ips.size) {
      const ip = request.ip;
      if (ip) this.#ips.mark(ip, bits);
    }
    return bits;
  }
}

function listOf(map: Map<string, number[]>, key: string): number[] {
  let list = map.get(key);
  if (list === undefined) map.set(key, (list = []));
  return list;
}
