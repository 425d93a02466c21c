/**
 * An index over a RuleSet's rules by their requirements (core/rules requirement.ts), so a request
 * pays a few lookups and the predicates of the rules that can match, not every predicate.
 *
 * Built once per RuleSet from the rules' requirements, by position in evaluation order. Per field
 * key: a Map from exact value to positions, a trie of prefixes and a trie of needles
 * (core/rules/ranks.ts `PrefixTrie`: `mark` for the prefixes of the value, `markContained` for
 * the needles in it, needles sharing a beginning searched once for it); for `ip.src`, the subnets
 * by family and prefix length (core/rules/ip-index.ts, shared with the ACL index). Rules without
 * a requirement are candidates for every request. `candidates` reads each indexed value once
 * (with the getter the comparisons use: headers from the request view's one-pass header map,
 * lower()/upper() through their shared memo) and marks the positions found in a rank set, which
 * yields them ascending and once each (a rule can be reached twice: `path eq "/a" or
 * starts_with(path, "/")`). A candidate's predicate must still run: a requirement is necessary,
 * not sufficient.
 *
 * The rank set is owned by the index: `candidates` is synchronous and the next call overwrites
 * it, so nothing is allocated per request.
 */
import { fieldReader, type Requirement, type RuleRequest } from '../rules/index.ts';
import { IpPrefixes } from '../rules/ip-index.ts';
import { markRanks, PrefixTrie, pushRank, rankSet } from '../rules/ranks.ts';

interface FieldIndex {
  readonly read: (r: RuleRequest) => string | undefined;
  readonly exact: Map<string, number[]>;
  readonly prefixes: PrefixTrie;
  readonly needles: PrefixTrie;
}

export class RuleIndex {
  /** Positions of the rules without a requirement. */
  readonly #always: Uint32Array;
  readonly #fields: FieldIndex[] = [];
  readonly #ips = new IpPrefixes();
  /** The candidates of the last `candidates` call. */
  readonly #bits: Uint32Array;

  /** `requirements[p]`: the requirement of the rule at position `p` (undefined: none). */
  constructor(requirements: readonly (Requirement | undefined)[]) {
    this.#always = rankSet(requirements.length);
    this.#bits = rankSet(requirements.length);
    const byField = new Map<string, FieldIndex>();
    requirements.forEach((req, position) => {
      if (!req) return markRanks(this.#always, [position]);
      // CIDR blocks only (requirement.ts); were one not, the rule would run on every request
      if (req.ranges.length && !this.#ips.addAll(req.ranges, position)) return markRanks(this.#always, [position]);
      if (!req.values.length && !req.prefixes.length && !req.needles.length) return;
      let f = byField.get(req.field);
      if (!f) {
        const read = fieldReader(req.field) as FieldIndex['read'];
        byField.set(req.field, (f = { read, exact: new Map(), prefixes: new PrefixTrie(), needles: new PrefixTrie() }));
      }
      for (const v of req.values) {
        const list = f.exact.get(v);
        if (list) pushRank(list, position);
        else f.exact.set(v, [position]);
      }
      for (const p of req.prefixes) f.prefixes.add(p, position);
      for (const n of req.needles) f.needles.add(n, position);
    });
    this.#fields = [...byField.values()];
  }

  /** Whether any rule has a requirement (else every rule is a candidate for every request). */
  get useful(): boolean {
    return this.#fields.length > 0 || this.#ips.size > 0;
  }

  /**
   * The positions of the rules that may match `request`, as a rank set (core/rules/ranks.ts
   * `nextRank` walks it ascending). The next call overwrites it: read it first.
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
    }
    if (this.#ips.size) {
      const ip = request.ip;
      if (ip) this.#ips.mark(ip, bits);
    }
    return bits;
  }
}
