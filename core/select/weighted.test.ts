import { describe, expect, it } from 'vitest';
import { WeightedSelector } from './weighted.ts';

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
