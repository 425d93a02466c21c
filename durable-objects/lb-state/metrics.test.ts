import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { PoolSchema, type Pool } from '../../core/config/index.ts';
import { countAttempt, emptyCounts, type OriginTraffic } from '../../core/metrics/index.ts';
import type { Targets } from '../../core/rpc/index.ts';
import { T0, alarmAt, fakeClock, hook, query, stubOf } from '../../test/fixtures/lb-state.ts';
import type { LbState } from './index.ts';

const stored = { created_on: '', modified_on: '' };
/** An unmonitored pool (no probes, so only reports and the metrics job run). */
const pool = {
  ...PoolSchema.parse({ name: 'p1', origins: ['a', 'b'].map((name, i) => ({ name, address: '127.0.0.1', port: 9000 + i })) }),
  id: 'p1',
  ...stored,
} as Pool;
const targets = (lbId: string): Targets => ({ lbId, pools: [{ pool }] });

/** What one edge counted on `origin`: `ok` 200s of 7 ms and `bad` 503s of 30 ms. */
function traffic(origin: string, ok: number, bad = 0): OriginTraffic {
  const c = emptyCounts();
  for (let i = 0; i < ok; i++) countAttempt(c, 200, 7, 0, 100, false);
  for (let i = 0; i < bad; i++) countAttempt(c, 503, 30, 0, 0, true);
  return { poolId: 'p1', origin, ...c };
}
const outcome = (origin: string, count: number) => ({ poolId: 'p1', origin, outcome: 'success' as const, count });

async function setUp(name: string) {
  const clock = fakeClock();
  await hook(name, { clock });
  const lb = stubOf(name);
  await lb.sync(targets(name));
  return { clock, lb };
}

describe('LbState traffic metrics', () => {
  it('adds the reports of every edge into totals, ignoring unknown origins and malformed counts', async () => {
    const { clock, lb } = await setUp('m-totals');
    clock.t = T0 + 3000;
    await lb.report([outcome('a', 3)], [], [traffic('a', 2, 1), traffic('ghost', 5)]);
    await lb.report([outcome('a', 4), outcome('b', 1)], [], [traffic('a', 4), traffic('b', 1), { ...traffic('b', 9), codes: [1] }]);
    const m = await lb.metrics();
    const a = m.origins.find((o) => o.origin === 'a')!;
    expect(a.traffic).toMatchObject({ codes: [0, 6, 0, 0, 1], retries: 1, bytesReceived: 600, latencySumMs: 6 * 7 + 30 });
    expect(a.traffic.latency.slice(0, 4)).toEqual([0, 6, 0, 1]); // 7 ms ≤ 10, 30 ms ≤ 50
    expect(m.origins.find((o) => o.origin === 'b')!.traffic.codes).toEqual([0, 1, 0, 0, 0]);
    expect(m.origins.map((o) => o.origin)).toEqual(['a', 'b']);
    expect(m).toMatchObject({ pools: [{ poolId: 'p1', healthy: true }], healthEvents: 0 });
    expect(a).toMatchObject({ healthy: true, ejected: false, probeRttMs: null });
    // The metrics job is due when the 10 s interval ends.
    expect(await alarmAt('m-totals')).toBe(T0 + 10_000);
  });

  it('writes each 10 s interval and each minute as one row, in bounded rings, with the right sums', async () => {
    const name = 'm-ring';
    const { clock } = await setUp(name);
    // 70 minutes of traffic: one report per 10 s interval, interval i carrying i % 7 + 1 requests to a.
    await runInDurableObject(stubOf(name), async (lb: LbState) => {
      for (let i = 0; i < 420; i++) {
        clock.t = T0 + i * 10_000 + 500;
        await lb.report([outcome('a', 1)], [], [traffic('a', (i % 7) + 1)]);
        clock.t = T0 + (i + 1) * 10_000;
        await lb.alarm();
      }
    });
    const rows = await query<{ res: number; n: number }>(name, 'SELECT res, COUNT(*) AS n FROM traffic_series GROUP BY res ORDER BY res');
    expect(rows).toEqual([
      { res: 10_000, n: 360 },
      { res: 60_000, n: 70 },
    ]);
    const lb = stubOf(name);
    const ten = await lb.series('10s');
    expect(ten).toMatchObject({ stepMs: 10_000, to: T0 + 4_200_000, from: T0 + 4_200_000 - 3_600_000 });
    expect(ten.points).toHaveLength(360);
    expect(ten.points.map((p) => p.requests)).toEqual(Array.from({ length: 360 }, (_, k) => ((60 + k) % 7) + 1));
    expect(ten.points.at(-1)!.origins).toEqual([{ poolId: 'p1', origin: 'a', requests: (419 % 7) + 1, errors: 0 }]);
    const minutes = await lb.series('1m', T0);
    expect(minutes.points).toHaveLength(70);
    // Minute m holds intervals 6m..6m+5.
    expect(minutes.points.map((p) => p.requests)).toEqual(
      Array.from({ length: 70 }, (_, m) => [0, 1, 2, 3, 4, 5].reduce((n, j) => n + ((6 * m + j) % 7) + 1, 0)),
    );
    expect(minutes.points[0]!.codes[1]).toBe(minutes.points[0]!.requests);
    const total = (await lb.metrics()).origins[0]!.traffic.codes[1];
    expect(total).toBe(Array.from({ length: 420 }, (_, i) => (i % 7) + 1).reduce((x, y) => x + y));
    // Nothing open: the job is done and no alarm is left for it.
    expect(await query(name, "SELECT * FROM schedule WHERE kind = 'metrics'")).toEqual([]);
  });

  it('answers an interval over but not yet written, and refuses an unknown resolution', async () => {
    const { clock, lb } = await setUp('m-open');
    clock.t = T0 + 1000;
    await lb.report([outcome('b', 2)], [], [traffic('b', 2)]);
    clock.t = T0 + 12_000; // the job has not run
    const s = await lb.series('10s', T0);
    expect(s.points.map((p) => [p.at, p.requests])).toEqual([[T0, 2]]);
    await runInDurableObject(lb, (o: LbState) => {
      expect(() => o.series('5s' as '10s')).toThrow(/resolution must be one of 10s, 1m/);
      expect(() => o.series('1m', NaN)).toThrow(/since must be epoch ms/);
    });
  });

  it('totals and series survive an eviction: a new instance reads them back', async () => {
    const name = 'm-evict';
    const { clock, lb } = await setUp(name);
    clock.t = T0 + 2000;
    await lb.report([outcome('a', 3)], [], [traffic('a', 2, 1)]);
    clock.t = T0 + 10_000;
    await runInDurableObject(lb, (o: LbState) => o.alarm());
    const before = await lb.metrics();
    await evictDurableObject(lb);
    const again = stubOf(name);
    await hook(name, { clock: fakeClock(T0 + 15_000) });
    const after = await again.metrics();
    expect(after.origins).toEqual(before.origins);
    expect(after.origins[0]!.traffic.codes).toEqual([0, 2, 0, 0, 1]);
    expect((await again.series('10s', T0)).points[0]).toMatchObject({ at: T0, requests: 3, origins: [{ origin: 'a', requests: 3, errors: 1 }] });
  });

  it('drops the totals of an origin removed from the config', async () => {
    const { clock, lb } = await setUp('m-forget');
    clock.t = T0 + 1000;
    await lb.report([outcome('b', 1)], [], [traffic('b', 1)]);
    clock.t = T0 + 10_000;
    await runInDurableObject(lb, (o: LbState) => o.alarm());
    expect(await query('m-forget', 'SELECT origin FROM traffic_totals')).toEqual([{ origin: 'b' }]);
    await lb.sync({ lbId: 'm-forget', pools: [{ pool: { ...pool, origins: pool.origins.slice(0, 1) } }] });
    expect(await query('m-forget', 'SELECT origin FROM traffic_totals')).toEqual([]);
    expect((await lb.metrics()).origins.map((o) => o.origin)).toEqual(['a']);
  });
});
