/**
 * An index over a RuleSet's rules by their requirements (core/rules requirement.ts), so a request
 * pays a few lookups and the predicates of the rules that can match, not every predicate.
 *
 * Built once per RuleSet from the rules' requirements, by position in evaluation order. Per field:
 * a Map from exact value to positions, and a character trie of prefixes (each node keeps the
 * positions of the rules requiring that prefix). Rules without a requirement are candidates for
 * every request. `candidates` reads each indexed field once (with the getter the comparisons use),
 * gathers the matching position lists (each ascending) and merges them into ascending order,
 * dropping repeats (a rule can be reached twice: `path eq "/a" or starts_with(path, "/")`).
 * A candidate's predicate must still run: a requirement is necessary, not sufficient.
 *
 * The merge writes into `positions`, a buffer owned by the index: `candidates` is synchronous and
 * the next call overwrites it, so nothing is allocated per request.
 */
import { fieldReader, type Requirement, type RuleRequest } from '../rules/index.ts';

interface TrieNode {
  next: Map<number, TrieNode> | undefined;
  /** Positions of the rules requiring the prefix that ends here, ascending. */
  hits: number[] | undefined;
}

interface FieldIndex {
  readonly read: (r: RuleRequest) => string | undefined;
  readonly exact: Map<string, number[]>;
  /** Undefined when no rule requires a prefix of this field. */
  trie: TrieNode | undefined;
}

export class RuleIndex {
  /** Positions of the rules without a requirement, ascending. */
  readonly #always: number[] = [];
  readonly #fields: FieldIndex[] = [];
  /** Per request: the position lists gathered, their read heads, and the merged result. */
  readonly #lists: (readonly number[])[] = [];
  readonly #heads: number[] = [];
  /** The candidates of the last `candidates` call: its first `n` entries. */
  readonly positions: Int32Array;

  /** `requirements[p]`: the requirement of the rule at position `p` (undefined: none). */
  constructor(requirements: readonly (Requirement | undefined)[]) {
    this.positions = new Int32Array(requirements.length);
    const byField = new Map<string, FieldIndex>();
    requirements.forEach((req, position) => {
      if (!req) return void this.#always.push(position);
      let f = byField.get(req.field);
      if (!f) byField.set(req.field, (f = { read: fieldReader(req.field), exact: new Map(), trie: undefined }));
      for (const v of req.values) push(f.exact, v, position);
      for (const p of req.prefixes) {
        let node = (f.trie ??= { next: undefined, hits: undefined });
        for (let i = 0; i < p.length; i++) {
          const c = p.charCodeAt(i);
          let child = node.next?.get(c);
          if (!child) (node.next ??= new Map()).set(c, (child = { next: undefined, hits: undefined }));
          node = child;
        }
        (node.hits ??= []).push(position);
      }
    });
    this.#fields = [...byField.values()];
  }

  /** Whether any rule has a requirement (else every rule is a candidate for every request). */
  get useful(): boolean {
    return this.#fields.length > 0;
  }

  /**
   * Writes the positions of the rules that may match `request` to `positions` (ascending, without
   * repeats) and returns how many there are. The next call overwrites them: read them first.
   */
  candidates(request: RuleRequest): number {
    const lists = this.#lists;
    lists.length = 0;
    if (this.#always.length) lists.push(this.#always);
    for (const f of this.#fields) {
      const v = f.read(request);
      if (v === undefined) continue;
      const hit = f.exact.get(v);
      if (hit) lists.push(hit);
      let node = f.trie;
      for (let i = 0; node; i++) {
        if (node.hits) lists.push(node.hits);
        node = i < v.length ? node.next?.get(v.charCodeAt(i)) : undefined;
      }
    }
    return this.#merge();
  }

  /** Merges the gathered lists (each ascending) into `positions`, dropping repeats; returns the count. */
  #merge(): number {
    const [lists, heads, out] = [this.#lists, this.#heads, this.positions];
    const k = lists.length;
    if (k === 0) return 0;
    if (k === 1) {
      const only = lists[0]!;
      for (let i = 0; i < only.length; i++) out[i] = only[i]!;
      return only.length;
    }
    for (let j = 0; j < k; j++) heads[j] = 0;
    let n = 0;
    let last = -1;
    for (;;) {
      let min = -1;
      let from = -1;
      for (let j = 0; j < k; j++) {
        const list = lists[j]!;
        const h = heads[j]!;
        if (h < list.length && (min < 0 || list[h]! < min)) ((min = list[h]!), (from = j));
      }
      if (from < 0) return n;
      heads[from] = heads[from]! + 1;
      if (min !== last) out[n++] = last = min;
    }
  }
}

function push(map: Map<string, number[]>, key: string, position: number): void {
  const list = map.get(key);
  if (list) list.push(position);
  else map.set(key, [position]);
}
