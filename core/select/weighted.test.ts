import { describe, expect, it } from 'vitest';
import { WeightedSelector } from './weighted.ts';

/** A deterministic random source that replays `values`. */
const seq = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

describe('WeightedSelector.pick', () => {
  const s = new WeightedSelector([1, 0.5, 0.5]); // cumulative 1, 1.5, 2

  it('maps r onto cumulative weight exactly', () => {
    expect([0, 0.49, 0.5, 0.74, 0.75, 0.999].map((r) => s.pick(r))).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it('never picks a zero weight and answers -1 when all are zero', () => {
    const z = new WeightedSelector([0, 1, 0]);
    for (const r of [0, 0.3, 0.99]) expect(z.pick(r)).toBe(1);
    expect(new WeightedSelector([0, 0]).pick(0.5)).toBe(-1);
    expect(new WeightedSelector([]).pick(0.5)).toBe(-1);
  });
});

describe('WeightedSelector.order', () => {
  it('yields every positive-weight index once, first pick first', () => {
    const s = new WeightedSelector([1, 1, 0, 1]);
    expect([...s.order(seq(0.99, 0, 0), () => true)]).toEqual([3, 0, 1]);
  });

  it('skips what accept rejects, drawing the rest by weight', () => {
    const s = new WeightedSelector([1, 1, 1]);
    // first draw lands on 0 (rejected); the rest are drawn among 1 and 2: 0.6*2 = 1.2 -> index 2.
    expect([...s.order(seq(0.1, 0.6, 0), (i) => i !== 0)]).toEqual([2, 1]);
  });

  it('yields nothing when nothing is accepted', () => {
    expect([...new WeightedSelector([1, 2]).order(Math.random, () => false)]).toEqual([]);
  });
});
