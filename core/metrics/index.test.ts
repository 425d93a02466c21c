import { describe, expect, it } from 'vitest';
import { CONNECT_ERROR, LATENCY_BUCKETS, TIMEOUT, TrafficBatch, addInto, attempts, bucketOf, countAttempt, emptyCounts, failures, isCounts } from './index.ts';

const pool = (id: string, names: string[]) => ({ id, origins: names.map((name) => ({ name })) });

describe('traffic counts', () => {
  it('puts a latency in the first bucket whose le bound it does not exceed (bounds inclusive), else +Inf', () => {
    expect([0, 5, 5.01, 10, 99, 100, 10_000, 10_001].map(bucketOf)).toEqual([0, 0, 1, 1, 4, 4, 10, 11]);
    expect(LATENCY_BUCKETS).toBe(12);
  });

  it('counts an attempt by status class, failure, bytes and retry', () => {
    const c = emptyCounts();
    countAttempt(c, 200, 12, 100, 2048, false);
    countAttempt(c, 503, 3, 100, 0, true);
    countAttempt(c, 101, 1, 0, 0, false);
    countAttempt(c, CONNECT_ERROR, 0, 100, 0, true);
    countAttempt(c, TIMEOUT, 0, 0, 0, false);
    expect(c.codes).toEqual([1, 1, 0, 0, 1]);
    expect([c.connectErrors, c.timeouts, c.retries, c.bytesSent, c.bytesReceived, c.latencySumMs]).toEqual([1, 1, 2, 300, 2048, 16]);
    expect(c.latency.slice(0, 3)).toEqual([2, 0, 1]); // 3 ms and 1 ms ≤ 5; 12 ms ≤ 25; failures have no latency
    expect([attempts(c), failures(c)]).toEqual([5, 3]);
  });

  it('merges by adding, bucket by bucket', () => {
    const a = emptyCounts();
    const b = emptyCounts();
    countAttempt(a, 200, 7, 0, 10, false);
    countAttempt(b, 200, 7, 0, 5, false);
    countAttempt(b, 404, 20_000, 0, 0, true);
    expect(addInto(a, b)).toMatchObject({ codes: [0, 2, 0, 1, 0], bytesReceived: 15, retries: 1, latencySumMs: 20_014 });
    expect(a.latency[1]).toBe(2);
    expect(a.latency[11]).toBe(1);
  });

  it('a batch sums the pool objects of one pool id (a config change mid-batch) and starts empty after a drain', () => {
    const batch = new TrafficBatch<ReturnType<typeof pool>>();
    const before = pool('p', ['a', 'b']);
    const after = pool('p', ['a', 'b']);
    batch.count(before, 0, 200, 1, 0, 0, false);
    batch.count(after, 0, 500, 1, 0, 0, false);
    batch.count(after, 1, 200, 1, 0, 0, false);
    const drained = batch.drain();
    expect(drained.map((t) => [t.poolId, t.origin, t.codes])).toEqual([
      ['p', 'a', [0, 1, 0, 0, 1]],
      ['p', 'b', [0, 1, 0, 0, 0]],
    ]);
    expect(batch.empty).toBe(true);
    expect(batch.drain()).toEqual([]);
  });

  it('refuses malformed counts from the wire', () => {
    expect(isCounts(emptyCounts())).toBe(true);
    expect(isCounts({ ...emptyCounts(), codes: [1, 2] })).toBe(false);
    expect(isCounts({ ...emptyCounts(), retries: -1 })).toBe(false);
    expect(isCounts({ ...emptyCounts(), bytesSent: Infinity })).toBe(false);
    expect(isCounts({ ...emptyCounts(), latency: new Array(LATENCY_BUCKETS).fill('1') })).toBe(false);
    expect(isCounts(null)).toBe(false);
  });
});
