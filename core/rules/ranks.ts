/**
 * What the candidate indexes of ACLs (core/acl/candidates.ts) and load balancing rules
 * (core/route/rule-index.ts) share: a set of ranks (an entry's or rule's place in evaluation
 * order) as a bit set, and a trie of prefixes that marks the ranks of every prefix of a string.
 *
 * A rank set is a Uint32Array (rank r: bit r & 31 of word r >> 5). Reading it word by word yields
 * the ranks in ascending order, without duplicates, sorting or allocation per request.
 */

/** A rank set able to hold ranks 0 .. size - 1, empty. */
export const rankSet = (size: number): Uint32Array => new Uint32Array((size + 31) >> 5);

/** Adds `ranks` to `bits`. */
export function markRanks(bits: Uint32Array, ranks: readonly number[]): void {
  for (let i = 0; i < ranks.length; i++) {
    const r = ranks[i]!;
    bits[r >> 5]! |= 1 << (r & 31);
  }
}

/**
 * The smallest rank in `bits` that is `from` or more, or -1: iterate with
 * `for (let r = nextRank(bits, 0); r >= 0; r = nextRank(bits, r + 1))`.
 */
export function nextRank(bits: Uint32Array, from: number): number {
  let w = from >> 5;
  if (w >= bits.length) return -1;
  let b = bits[w]! & (-1 << (from & 31));
  while (b === 0) {
    if (++w === bits.length) return -1;
    b = bits[w]!;
  }
  return (w << 5) | (31 - Math.clz32(b & -b));
}

/** Appends `rank` unless it is already last (ranks are added in increasing order). */
export function pushRank(ranks: number[], rank: number): void {
  if (ranks[ranks.length - 1] !== rank) ranks.push(rank);
}

interface Node {
  /** The characters from the parent to this node (never empty below the root). */
  edge: string;
  readonly children: Map<number, Node>;
  /** Ranks whose prefix ends here. */
  readonly ranks: number[];
}

/**
 * Prefixes in a radix (path-compressed) trie: `mark` adds the ranks of every prefix of a string,
 * visiting at most one node per character of it; memory is linear in the prefixes added. The
 * empty prefix (at the root) is a prefix of every string.
 */
export class PrefixTrie {
  readonly #root: Node = { edge: '', children: new Map(), ranks: [] };
  /** Prefixes added. */
  size = 0;

  /** Files `rank` under `prefix`; ranks must be added in increasing order. */
  add(prefix: string, rank: number): void {
    this.size++;
    let node = this.#root;
    let i = 0;
    while (i < prefix.length) {
      const c = prefix.charCodeAt(i);
      const child = node.children.get(c);
      if (!child) {
        node.children.set(c, (node = { edge: prefix.slice(i), children: new Map(), ranks: [] }));
        break;
      }
      let k = 1;
      while (k < child.edge.length && i + k < prefix.length && child.edge.charCodeAt(k) === prefix.charCodeAt(i + k)) k++;
      if (k < child.edge.length) {
        // Split the edge: a node for the common part, the old child below it.
        const mid: Node = { edge: child.edge.slice(0, k), children: new Map(), ranks: [] };
        child.edge = child.edge.slice(k);
        mid.children.set(child.edge.charCodeAt(0), child);
        node.children.set(c, mid);
        node = mid;
      } else node = child;
      i += k;
    }
    pushRank(node.ranks, rank);
  }

  /** Adds to `bits` the ranks of every prefix of `s` that was added. */
  mark(s: string, bits: Uint32Array): void {
    let node = this.#root;
    let i = 0;
    for (;;) {
      markRanks(bits, node.ranks);
      const next = i < s.length ? node.children.get(s.charCodeAt(i)) : undefined;
      if (next === undefined || !s.startsWith(next.edge, i)) return;
      i += next.edge.length;
      node = next;
    }
  }
}
