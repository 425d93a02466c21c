import { afterEach, describe, expect, it, vi } from 'vitest';
import { compileCondition } from './index.ts';
import { view } from './test-helpers.ts';

describe('lower()/upper() memo', () => {
  afterEach(() => vi.restoreAllMocks());

  it('keeps one memo per field: two lowered fields alternating map each value once, and rules sharing a field share it', () => {
    const conditions = [
      'lower(http.host) eq "a.example"',
      'lower(http.user_agent) contains "crawler"',
      'lower(http.host) eq "b.example"',
      'lower(http.user_agent) contains "bot"',
    ].map((e) => compileCondition(e));
    const predicates = conditions.map((c) => (c.ok ? c.predicate : expect.fail(JSON.stringify(c))));
    const r = view({ url: 'https://A.Example/', headers: { 'user-agent': 'X-Crawler/1' } });
    r.header('user-agent'); // the request view's header read, before counting
    const lower = vi.spyOn(String.prototype, 'toLowerCase');
    const out = [0, 1, 2].flatMap(() => predicates.map((p) => p(r)));
    expect(out).toEqual([true, true, false, false, true, true, false, false, true, true, false, false]);
    expect(lower).toHaveBeenCalledTimes(2); // "a.example" and "X-Crawler/1", once each
  });

  it('maps ASCII letters only, through each memo', () => {
    const c = compileCondition('upper(http.user_agent) eq "ÉCOLE-é" and lower(http.user_agent) eq "École-é"');
    if (!c.ok) throw new Error(JSON.stringify(c.error));
    expect(c.predicate(view({ headers: { 'user-agent': 'École-é' } }))).toBe(true);
    expect(c.predicate(view({ headers: { 'user-agent': 'ÉCOLE-É' } }))).toBe(false);
  });
});
