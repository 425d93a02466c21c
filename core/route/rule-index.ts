/**
 * An index over a RuleSet's rules by their requirements (core/rules requirement.ts), so a request
 * pays a few lookups and the predicates of the rules that can match, not every predicate.
 *
 * Built once per RuleSet from the rules' requirements, by position in evaluation order. Per field:
 * a Map from exact value to positions, and a prefix trie (core/rules/ranks.ts, shared with the
 * ACL index). Rules without a requirement are candidates for every request. `candidates` reads
 * each indexed field once (with the getter the comparisons use) and marks the positions found in
 * a rank set, which yields them ascending and once each (a rule can be reached twice:
 * `path eq "/a" or starts_with(path, "/")`). A candidate's predicate must still run: a
 * requirement is necessary, not sufficient.
 *
 * The rank set is owned by the index: `candidates` is synchronous and the next call overwrites
 * it, so nothing is allocated per request.
 */
import { fieldReader, type Requirement, type RuleRequest } from '../rules/index.ts';
import { markRanks, PrefixTrie, pushRank, rankSet } from '../rules/ranks.ts';

interface FieldIndex {
  readonly read: (r: RuleRequest) => string | undefined;
  readonly exact: Map<string, number[]>;
  readonly prefixes: PrefixTrie;
}

export class RuleIndex {
  /** Positions of the rules without a requirement. */
  readonly #always: Uint32Array;
  readonly #fields: FieldIndex[] = [];
  /** The candidates of the last `candidates` call. */
  readonly #bits: Uint32Array;

  /** `requirements[p]`: the requirement of the rule at position `p` (undefined: none). */
  constructor(requirements: readonly (Requirement | undefined)[]) {
    this.#always = rankSet(requirements.length);
    this.#bits = rankSet(requirements.length);
    const byField = new Map<string, FieldIndex>();
    requirements.forEach((req, position) => {
      if (!req) return markRanks(this.#always, [position]);
      let f = byField.get(req.field);
      if (!f) byField.set(req.field, (f = { read: fieldReader(req.field), exact: new Map(), prefixes: new PrefixTrie() }));
      for (const v of req.values) {
        const list = f.exact.get(v);
        if (list) pushRank(list, position);
        else f.exact.set(v, [position]);
      }
      for (const p of req.prefixes) f.prefixes.add(p, position);
    });
    this.#fields = [...byField.values()];
  }

  /** Whether any rule has a requirement (else every rule is a candidate for every request). */
  get useful(): boolean {
    return this.#fields.length > 0;
  }

  /**
   * The positions of the rules that may match `request`, as a rank set (core/rules/ranks.ts
   * `nextRank` walks it ascending). The next call overwrites it: read it first.
   */
  candidates(request: RuleRequest): Uint32Array {
    const bits = this.#bits;
    bits.set(this.#always);
    for (const f of this.#fields) {
      const v = f.read(request);
      if (v === undefined) continue;
      const hit = f.exact.get(v);
      if (hit) markRanks(bits, hit);
      if (f.prefixes.size) f.prefixes.mark(v, bits);
    }
    return bits;
  }
}
