import { describe, expect, it } from 'vitest';
import { LATENCY_TTL_MS, LatencyBook, latencyAt, placesOf } from './latency.ts';

describe('LatencyBook', () => {
  it('averages with weight 0.3 per sample, a batch of n weighing 1 - 0.7^n, and publishes moves over 10%', () => {
    const book = new LatencyBook();
    expect(book.note('probe', 'p', 100, 1, 0)).toBe(true); // new
    expect(book.note('probe', 'p', 105, 1, 0)).toBe(false); // 101.5: within 10%
    expect(book.table(0).probe!.p).toBe(101.5);
    expect(book.note('colo:AMS', 'p', 200, 2, 0)).toBe(true);
    expect(book.note('colo:AMS', 'p', 100, 2, 0)).toBe(true); // 200 + 0.51 × (100 − 200) = 149
    expect(book.table(0)['colo:AMS']!.p).toBe(149);
    expect(book.note('colo:AMS', 'p', Number.NaN, 1, 0)).toBe(false);
    expect(book.note('colo:AMS', 'p', 10, 0, 0)).toBe(false);
  });

  it('forgets a figure nothing refreshed for LATENCY_TTL_MS', () => {
    const book = new LatencyBook();
    book.note('region:WEU', 'p', 50, 1, 0);
    book.note('probe', 'p', 5, 1, 1000);
    expect(book.table(LATENCY_TTL_MS)).toEqual({ 'region:WEU': { p: 50 }, probe: { p: 5 } });
    expect(book.table(LATENCY_TTL_MS + 1)).toEqual({ probe: { p: 5 } });
  });
});

describe('latencyAt', () => {
  const table = { 'colo:AMS': { a: 90 }, 'region:WEU': { a: 70, b: 30 }, probe: { a: 5, b: 8, c: 1 } };
  it("reads the edge's colo, then its region, then the probes", () => {
    expect(latencyAt(table, 'a', { colo: 'ams', country: 'NL' })).toBe(90);
    expect(latencyAt(table, 'b', { colo: 'AMS', country: 'NL' })).toBe(30);
    expect(latencyAt(table, 'a', { colo: 'FRA', country: 'DE' })).toBe(70);
    expect(latencyAt(table, 'a', { colo: 'SIN', country: 'SG' })).toBe(5);
    expect(latencyAt(table, 'c', undefined)).toBe(1);
    expect(latencyAt(table, 'd', { colo: 'AMS' })).toBeUndefined();
  });
  it('files a measurement under colo and region', () => {
    expect(placesOf({ colo: 'ams', country: 'NL' })).toEqual(['colo:AMS', 'region:WEU']);
    expect(placesOf({ country: 'US', longitude: -122 })).toEqual(['region:WNAM']);
    expect(placesOf(undefined)).toEqual([]);
  });
});
