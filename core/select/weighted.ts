/**
 * Weighted random selection without replacement over a fixed list of weights.
 *
 * Built once per pool version (the pingora way: rebuild the selector only when the backend set
 * changes). The first pick is a binary search over cumulative weights, O(log n); later picks
 * (only needed on retries) skip what was already yielded or is not accepted.
 */
export class WeightedSelector {
  readonly #cumulative: Float64Array;
  readonly #weights: readonly number[];
  readonly #total: number;

  /** `weights[i]` ≥ 0; a zero weight is never selected. */
  constructor(weights: readonly number[]) {
    this.#weights = weights;
    this.#cumulative = new Float64Array(weights.length);
    let sum = 0;
    weights.forEach((w, i) => {
      sum += w > 0 ? w : 0;
      this.#cumulative[i] = sum;
    });
    this.#total = sum;
  }

  get size(): number {
    return this.#weights.length;
  }

  /** The index that a uniform `r` in [0, 1) falls on, proportionally to weight; -1 when all weights are 0. */
  pick(r: number): number {
    if (this.#total <= 0) return -1;
    const target = r * this.#total;
    let lo = 0;
    let hi = this.#cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#cumulative[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /**
   * Yields distinct indices with weight > 0 in weighted random order (each next index drawn in
   * proportion to weight among those not yet yielded), skipping those `accept` rejects.
   * `random` returns uniform numbers in [0, 1). `first`, when given, is taken as the first draw
   * (a caller that already picked it, for the hot path without a generator).
   */
  *order(random: () => number, accept: (index: number) => boolean, first = this.pick(random())): Generator<number, void, undefined> {
    if (first < 0) return;
    if (accept(first)) yield first;
    // Later draws happen only on retry: a linear weighted draw over what remains is plenty.
    const left: number[] = [];
    for (let i = 0; i < this.#weights.length; i++) if (i !== first && this.#weights[i]! > 0 && accept(i)) left.push(i);
    let total = left.reduce((s, i) => s + this.#weights[i]!, 0);
    while (left.length) {
      let target = random() * total;
      let k = 0;
      while (k < left.length - 1 && target >= this.#weights[left[k]!]!) target -= this.#weights[left[k++]!]!;
      const [index] = left.splice(k, 1) as [number];
      total -= this.#weights[index]!;
      yield index;
    }
  }
}
