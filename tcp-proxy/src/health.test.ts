/** AppHealth with a fake clock and a scripted probe: core's probe and outlier rules, and the admin view's age limit. */
import { describe, expect, it } from 'vitest';
import { EMPTY_DOCUMENT, importDocument, type Pool } from '../../core/config/index.ts';
import { ADMIN_HEALTH_MAX_AGE_MS, AppHealth, DEFAULT_MONITOR } from './health.ts';

const pool = (() => {
  const doc = importDocument(
    EMPTY_DOCUMENT,
    {
      pools: [
        {
          id: 'p',
          name: 'p',
          origins: [
            { name: 'a', address: '127.0.0.1', port: 1 },
            { name: 'b', address: '127.0.0.1', port: 2 },
          ],
          outlier_detection: { max_ejection_percent: 50 },
        },
      ],
    },
    { newId: () => 'x', now: () => '' },
  );
  if (!doc.ok) throw new Error(JSON.stringify(doc.errors));
  return doc.value.pools[0]! as Pool;
})();

describe('AppHealth', () => {
  it('probes with the default monitor when the pool has none: down after consecutive_down failures, up after a pass', async () => {
    let now = 0;
    const h = new AppHealth(
      (o) => o.port,
      () => now,
    );
    h.setPools([{ pool }]);
    const down = new Set([2]);
    const probe = async (_: string, port: number) => (down.has(port) ? Promise.reject(new Error('refused')) : 1);
    for (let i = 0; i < DEFAULT_MONITOR.consecutive_down; i++) {
      expect(h.usable(pool, 1)).toBe(true);
      await h.probeDue(probe);
      await h.probeDue(probe); // not due again until the interval passes
      now += DEFAULT_MONITOR.interval * 1000;
    }
    expect([h.usable(pool, 0), h.usable(pool, 1)]).toEqual([true, false]);
    down.clear();
    expect(await h.probeDue(probe)).toEqual([{ poolId: 'p', origin: 'b', from: 'unhealthy', to: 'healthy', reason: '1 probes passed' }]);
  });

  it('ejects after consecutive_gateway_failure connect errors (outlier detection); a success resets the count', () => {
    const now = 1_000_000;
    const h = new AppHealth(
      (o) => o.port,
      () => now,
    );
    h.setPools([{ pool }]);
    for (let i = 0; i < 4; i++) h.report('p', 0, 'connect_error');
    h.report('p', 0, 'success');
    for (let i = 0; i < 4; i++) h.report('p', 0, 'timeout');
    expect(h.usable(pool, 0)).toBe(true);
    h.report('p', 0, 'connect_error');
    expect(h.usable(pool, 0)).toBe(false);
  });

  it("follows the admin API's view while it is fresh, then only its own", () => {
    let now = 0;
    const h = new AppHealth(
      (o) => o.port,
      () => now,
    );
    h.setPools([{ pool }]);
    h.setAdminHealth('p', new Map([['a', false]]));
    expect(h.usable(pool, 0)).toBe(false);
    now += ADMIN_HEALTH_MAX_AGE_MS + 1;
    expect(h.usable(pool, 0)).toBe(true);
  });
});
