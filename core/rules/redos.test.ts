/**
 * `matches` and `wildcard` run on RE2 (re2js): linear in the input whatever the pattern. Each case
 * below is a known catastrophic-backtracking pattern with an input that a backtracking engine
 * (JavaScript's RegExp, PCRE) would not finish in minutes or years; here each finishes within the
 * test timeout. No timing assertion: a regression shows as a test that never ends.
 */
import { describe, expect, it } from 'vitest';
import { compiled, view } from './test-helpers.ts';

const N = 50_000;
const request = (userAgent: string) => view({ headers: { 'user-agent': userAgent } });

describe('no catastrophic backtracking', () => {
  it.each([
    ['(a+)+$', `${'a'.repeat(N)}!`, false], // exponential for backtracking engines
    ['(a|aa)*c', 'a'.repeat(N), false], // Fibonacci-many ways to split the a's
    ['(.*a){20}', `${'a'.repeat(19)}${'b'.repeat(N)}`, false], // O(n^20): one a short
    ['(.*a){20}', 'a'.repeat(N), true],
    ['^(\\w+\\s?)*$', `${'word '.repeat(N / 5)}!`, false],
    ['(x+x+)+y', 'x'.repeat(N), false],
    ['^(([a-z])+.)+[A-Z]([a-z])+$', `${'aaaa'.repeat(N / 4)}!`, false],
  ])('%s over %#', (pattern, input, expected) => {
    expect(compiled(`http.user_agent matches r"${pattern}"`)(request(input))).toBe(expected);
  });

  it('wildcard patterns too (many stars over a long value without the final byte)', () => {
    const p = compiled(`http.user_agent wildcard "${'*a'.repeat(12)}*b"`);
    expect(p(request('a'.repeat(N)))).toBe(false);
    expect(p(request(`${'a'.repeat(N)}b`))).toBe(true);
  });

  it('a compiled pattern is reused across requests (one compile per config version)', () => {
    const p = compiled('http.user_agent matches "^(a+)+$"');
    for (let i = 0; i < 50; i++) expect(p(request(`${'a'.repeat(1000 + i)}!`))).toBe(false);
    expect(p(request('aaa'))).toBe(true);
  });
});
