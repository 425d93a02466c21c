/**
 * Weighted random pick over a fixed list of weights: a binary search over cumulative weights,
 * O(log n). Built once per pool version (the pingora way: rebuild the selector only when the
 * backend set changes). Retry order is core/steer's `weightedRest`.
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
}
