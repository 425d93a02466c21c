import { describe, expect, it } from 'vitest';
import { countAttempt, emptyCounts } from './index.ts';
import { SERIES_MAX_ORIGINS, densePoints, emptyPoint, intervalOf, makePoint, mergePoints } from './series.ts';

const share = (origin: string, requests: number, errors = 0) => ({ poolId: 'p', origin, requests, errors });

describe('series points', () => {
  it('names the busiest origins and sums the rest in other', () => {
    const shares = Array.from({ length: SERIES_MAX_ORIGINS + 5 }, (_, i) => share(`o${String(i).padStart(2, '0')}`, i + 1, i % 2));
    const p = makePoint(10_000, emptyCounts(), 0, shares);
    expect(p.origins).toHaveLength(SERIES_MAX_ORIGINS);
    expect(p.origins[0]!.origin).toBe('o24');
    expect(p.other).toEqual({ requests: 1 + 2 + 3 + 4 + 5, errors: 2 }); // o00..o04: errors at odd i
  });

  it('orders ties by pool id then name, so a point is the same whatever the order of reports', () => {
    expect(makePoint(0, emptyCounts(), 0, [share('b', 1), share('a', 1)]).origins.map((o) => o.origin)).toEqual(['a', 'b']);
  });

  it('a minute is the sum of its intervals', () => {
    const c = emptyCounts();
    countAttempt(c, 200, 30, 0, 0, false);
    const p1 = makePoint(60_000, c, 1, [share('a', 1)]);
    const p2 = makePoint(70_000, c, 1, [share('a', 1), share('b', 1, 1)], { requests: 4, errors: 1 });
    const m = mergePoints(60_000, [p1, p2]);
    expect(m).toMatchObject({ at: 60_000, requests: 2, codes: [0, 2, 0, 0, 0], latencySumMs: 60, other: { requests: 4, errors: 1 } });
    expect(m.origins).toEqual([share('a', 2), share('b', 1, 1)]);
  });

  it('fills the intervals with nothing in them', () => {
    expect(intervalOf(129_999, 10_000)).toBe(120_000);
    const stored = makePoint(20_000, emptyCounts(), 3, []);
    expect(densePoints([stored], 0, 40_000, 10_000)).toEqual([emptyPoint(0), emptyPoint(10_000), stored, emptyPoint(30_000)]);
  });
});
