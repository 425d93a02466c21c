import { describe, expect, it } from 'vitest';
import { LoadTracker } from './load.ts';

describe('LoadTracker', () => {
  it('counts requests under way and averages latency (EWMA, alpha 0.3)', () => {
    const t = new LoadTracker();
    t.start('p', 2, 0);
    t.start('p', 2, 0);
    expect(t.stats('p', 2).outstanding(0)).toBe(2);
    t.end('p', 2, 0, 100);
    t.end('p', 2, 0, 200);
    expect(t.stats('p', 2).outstanding(0)).toBe(0);
    expect(t.stats('p', 2).latencyMs(0)).toBeCloseTo(130);
    expect(t.stats('p', 2).latencyMs(1)).toBeUndefined();
    t.end('p', 2, 1); // a failure never goes below zero nor touches the average
    expect(t.stats('p', 2).outstanding(1)).toBe(0);
  });

  it('starts afresh when the pool changes size', () => {
    const t = new LoadTracker();
    t.start('p', 2, 1);
    expect(t.stats('p', 3).outstanding(1)).toBe(0);
  });
});
