import { describe, expect, it } from 'vitest';
import { NEW_ORIGIN, applyOutcomes, applyProbe, expectedCode, healthUsable, judgeHttp, type OriginHealth, type ProbeResult } from './index.ts';

const pass: ProbeResult = { ok: true, rtt: 3, status: 200, reason: '' };
const fail: ProbeResult = { ok: false, rtt: 5000, status: 0, reason: 'timeout after 5000 ms' };
const monitor = { consecutive_up: 2, consecutive_down: 3 };

function run(h: OriginHealth, results: ProbeResult[]) {
  const changes: string[] = [];
  results.forEach((r, i) => {
    const out = applyProbe(h, r, monitor, 1000 * (i + 1));
    h = out.health;
    if (out.change) changes.push(`${i + 1}:${out.change.from}->${out.change.to}`);
  });
  return { h, changes };
}

describe('probes (consecutive_up / consecutive_down)', () => {
  it('flips only after the configured run of results, and resets the opposite counter', () => {
    const { h, changes } = run(NEW_ORIGIN, [pass, pass, fail, fail, pass, fail, fail, fail, pass, pass]);
    expect(changes).toEqual(['2:unknown->healthy', '8:healthy->unhealthy', '10:unhealthy->healthy']);
    expect(h).toMatchObject({ verdict: 'healthy', passes: 2, failures: 0, changedAt: 10_000, rtt: 3, responseCode: 200, failureReason: '' });
  });

  it('keeps the failure reason of the last probe', () => {
    const { h } = run(NEW_ORIGIN, [fail, fail, fail]);
    expect(h).toMatchObject({ verdict: 'unhealthy', failureReason: 'timeout after 5000 ms', responseCode: 0 });
  });
});

describe('judging HTTP answers', () => {
  it('matches expected codes, classes and lists', () => {
    expect(expectedCode('200', 200)).toBe(true);
    expect(expectedCode('200', 204)).toBe(false);
    expect(expectedCode('2xx', 204)).toBe(true);
    expect(expectedCode('2xx,301', 301)).toBe(true);
    expect(expectedCode('2xx,301', 302)).toBe(false);
  });

  it('looks for expected_body case-insensitively in the first 10 KB', () => {
    const m = { expected_codes: '2xx', expected_body: 'ALIVE' };
    expect(judgeHttp(m, 200, 'status: alive', 1).ok).toBe(true);
    expect(judgeHttp(m, 200, `${'x'.repeat(10240)}alive`, 1)).toMatchObject({ ok: false, reason: 'response body does not contain expected_body' });
    expect(judgeHttp(m, 503, 'alive', 1)).toMatchObject({ ok: false, reason: 'HTTP 503, expected 2xx' });
  });
});

describe('outlier detection (Envoy)', () => {
  const od = { consecutive_5xx: 3, consecutive_gateway_failure: 2, base_ejection_time: 30, max_ejection_time: 300, max_ejection_percent: 50 };
  const pool = () => [NEW_ORIGIN, NEW_ORIGIN, NEW_ORIGIN, NEW_ORIGIN];

  it('ejects after consecutive 5xx for base_ejection_time x times ejected', () => {
    const five = (origin: number, n: number) => Array.from({ length: n }, () => ({ origin, outcome: '5xx' as const }));
    let r = applyOutcomes(pool(), five(0, 3), od, 0);
    expect(r.ejected).toEqual([0]);
    expect(r.healths[0]!.ejectedUntil).toBe(30_000);
    expect(healthUsable(r.healths[0], 29_999)).toBe(false);
    expect(healthUsable(r.healths[0], 30_000)).toBe(true);
    r = applyOutcomes(r.healths, five(0, 3), od, 40_000);
    expect(r.healths[0]).toMatchObject({ timesEjected: 2, ejectedUntil: 100_000 });
  });

  it('caps an ejection at max_ejection_time however often the origin was ejected, and decays the multiplier while it stays in rotation', () => {
    const five = Array.from({ length: 3 }, () => ({ origin: 0, outcome: '5xx' as const }));
    let r = applyOutcomes(pool(), five, od, 0);
    for (let i = 1; i < 120; i++) r = applyOutcomes(r.healths, five, od, r.healths[0]!.ejectedUntil);
    expect(r.healths[0]!.timesEjected).toBe(120);
    const start = r.healths[0]!.ejectedUntil;
    r = applyOutcomes(r.healths, five, od, start);
    expect(r.healths[0]!.ejectedUntil - start).toBe(300_000); // not 121 x 30 s
    // 10 base intervals in rotation after it ended: the multiplier is 10 steps lower.
    const later = r.healths[0]!.ejectedUntil + 10 * 30_000;
    r = applyOutcomes(r.healths, five, od, later);
    expect(r.healths[0]!.timesEjected).toBe(121 - 10 + 1);
    const fresh = applyOutcomes(pool(), five, od, 0);
    const healed = applyOutcomes(fresh.healths, five, od, 30_000 + 3 * 30_000);
    expect(healed.healths[0]).toMatchObject({ timesEjected: 1, ejectedUntil: 120_000 + 30_000 });
  });

  it('counts gateway failures on their own threshold, and a success resets both', () => {
    const r = applyOutcomes(
      pool(),
      [
        { origin: 1, outcome: 'gateway_failure' },
        { origin: 1, outcome: 'success' },
        { origin: 1, outcome: 'gateway_failure' },
        { origin: 2, outcome: 'gateway_failure' },
        { origin: 2, outcome: 'gateway_failure' },
      ],
      od,
      0,
    );
    expect(r.ejected).toEqual([2]);
  });

  it('never ejects more than max_ejection_percent of the pool, but always allows one', () => {
    const all = [0, 1, 2, 3].flatMap((origin) => Array.from({ length: 3 }, () => ({ origin, outcome: '5xx' as const })));
    expect(applyOutcomes(pool(), all, od, 0).ejected).toEqual([0, 1]);
    expect(applyOutcomes(pool(), all, { ...od, max_ejection_percent: 0 }, 0).ejected).toEqual([0]);
  });
});
