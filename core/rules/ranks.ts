/**
 * What the candidate index of load balancing rules and ACLs (rule-index.ts) is built from: a set
 * of ranks (an entry's or rule's place in evaluation order) as a bit set, and a trie of prefixes
 * that marks the ranks of every prefix of a string (or of every string a string contains).
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
  /** The characters from the root to this node. */
  readonly path: string;
  readonly children: Map<number, Node>;
  /** `children`'s values, for a walk without an iterator. */
  readonly list: Node[];
  /** Ranks whose prefix ends here. */
  readonly ranks: number[];
}

const node = (edge: string, path: string): Node => ({ edge, path, children: new Map(), list: [], ranks: [] });

/**
 * Strings in a radix (path-compressed) trie: `mark` adds the ranks of every added string that is a
 * prefix of a given one, visiting at most one node per character of it; `markContained` those of
 * every added string it contains. Memory is linear in the strings added. The empty string (at
 * the root) is a prefix of, and contained in, every string.
 */
export class PrefixTrie {
  readonly #root: Node = node('', '');
  /** Prefixes added. */
  size = 0;

  /** Files `rank` under `prefix`; ranks must be added in increasing order. */
  add(prefix: string, rank: number): void {
    this.size++;
    let at = this.#root;
    let i = 0;
    while (i < prefix.length) {
      const c = prefix.charCodeAt(i);
      const child = at.children.get(c);
      if (!child) {
        const leaf = node(prefix.slice(i), prefix);
        at.children.set(c, leaf);
        at.list.push(leaf);
        at = leaf;
        break;
      }
      let k = 1;
      while (k < child.edge.length && i + k < prefix.length && child.edge.charCodeAt(k) === prefix.charCodeAt(i + k)) k++;
      if (k < child.edge.length) {
        // Split the edge: a node for the common part, the old child below it.
        const mid = node(child.edge.slice(0, k), prefix.slice(0, i + k));
        child.edge = child.edge.slice(k);
        mid.children.set(child.edge.charCodeAt(0), child);
        mid.list.push(child);
        at.children.set(c, mid);
        at.list[at.list.indexOf(child)] = mid;
        at = mid;
      } else at = child;
      i += k;
    }
    pushRank(at.ranks, rank);
  }

  /**
   * Adds to `bits` the ranks of every added string that `s` contains. A string contains each
   * prefix of what it contains, so a subtree is entered only when its node's path is in `s`: one
   * `includes` per node reached (needles that share a beginning, `beta-1=1`, `beta-2=1`…, cost one
   * search when that beginning is absent).
   */
  markContained(s: string, bits: Uint32Array): void {
    contained(this.#root, s, bits);
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

function contained(at: Node, s: string, bits: Uint32Array): void {
  markRanks(bits, at.ranks);
  const list = at.list;
  for (let i = 0; i < list.length; i++) if (s.includes(list[i]!.path)) contained(list[i]!, s, bits);
}
