import fc from 'fast-check';
import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { compileRegex, compileWildcard, exactLiterals, regexRequirement, requiredLiteral } from './regex.ts';

describe('the literal prefilter in front of RE2', () => {
  it.each([
    ['^/api/v[0-9]+/', 1, '/api/v'],
    ['/static/', 0, '/static/'],
    ['^/api/login\\.aspx$', 1, '/api/login.aspx'],
    ['^abc*', 1, 'ab'], // c may be absent
    ['^ab{0,2}c', 1, 'a'],
    ['^ab+c', 1, 'ab'],
    ['^ab?', 1, 'a'],
    ['^ab|cd', 1, ''], // top-level alternation: nothing is required
    ['^a(b|c)d', 1, 'a'],
    ['^a[|]b', 1, 'a'], // a | in a class is not an alternation
    ['^a[]|]b|c', 1, ''],
    ['^\\d+', 1, ''],
    ['(?i)^abc', 0, ''],
    ['^ab(?m)?', 1, 'a'], // a flag group is no atom: the ? applies to b
    ['ab(?i)(?m)*c', 0, 'a'],
    ['ab+(?i)?c', 0, 'a'], // the ? repeats b+ again: b may be absent
    ['^ab{2}', 1, 'a'], // a counted repetition drops the character too (weaker, never wrong)
  ])('%s requires %j', (pattern, from, literal) => {
    expect(requiredLiteral(pattern, from)).toBe(literal);
  });

  it("never changes RE2's answer", () => {
    const token = fc.constantFrom('a', 'b', '.', '\\.', '|', '(', ')', '*', '+', '?', '{2}', '[ab]', '[]a]', '[^a]', '^', '$', '\\d', '(?m)', '(?i)');
    fc.assert(
      fc.property(
        fc.array(token, { maxLength: 8 }),
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '.', '1', ']') }), { maxLength: 6 }),
        (parts, inputs) => {
          const pattern = parts.join('');
          const test = compileRegex(pattern);
          if (typeof test === 'string') return; // invalid pattern: RE2 refused it
          const re = RE2JS.compile(pattern);
          for (const input of inputs) expect(test(input), `${pattern} on ${input}`).toBe(re.test(input));
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('wildcard', () => {
  it.each([
    ['https://example.com/a/*', 'https://example.com/a/', true, true],
    ['https://example.com/a/*', 'https://example.com/a/sub/x?y=1', true, true],
    ['https://example.com/a/*', 'https://example.com/ab/', false, false],
    ['*.example.com/*/page.html', 'https://admin.example.com/team/sub/page.html', true, true],
    ['*.EXAMPLE.com/*', 'https://a.example.com/', true, false], // wildcard ignores case, strict wildcard does not
    ['a\\*b', 'a*b', true, true],
    ['a\\*b', 'axb', false, false],
    ['a\\\\b', 'a\\b', true, true],
    ['a.c', 'abc', false, false], // . is literal
    ['*', '', true, true],
  ])('%s against %s', (pattern, value, loose, strict) => {
    const [w, s] = [compileWildcard(pattern, true), compileWildcard(pattern, false)];
    if (typeof w === 'string' || typeof s === 'string') throw new Error('invalid');
    expect([w(value), s(value)]).toEqual([loose, strict]);
  });
});

describe('regex requirements (regexRequirement): what any match requires of the value', () => {
  it.each([
    ['^(1|true)$', ['1', 'true']],
    ['^(?:a\\.b|)$', ['a.b', '']],
    ['^abc$', ['abc']],
    ['^(a)(b)$', undefined],
    ['^a|b$', undefined],
    ['^(a|b$', undefined],
    ['^(?i:a)$', undefined],
    ['^a\\$', undefined], // an escaped $ is literal
    ['^a$$', undefined],
    ['^\\d$', undefined],
  ])('%s is exactly %j', (pattern, expected) => {
    expect(exactLiterals(pattern)).toEqual(expected);
  });

  // Soundness against the engine itself: whenever RE2 matches, the value meets the requirement
  // (in values, starting with a prefix, containing a needle). Inputs include newlines and case
  // variants, where `$` and case folding would differ under other semantics.
  it('is met by every value RE2 matches', () => {
    const token = fc.constantFrom('a', 'B', '1', '\\.', '.', '|', '(', '(?:', ')', '*', '+', '?', '[ab]', '^', '$', '\\n', '(?i)', '(?m)');
    fc.assert(
      fc.property(
        fc.array(token, { maxLength: 8 }),
        fc.array(fc.string({ unit: fc.constantFrom('a', 'A', 'b', 'B', '1', '.', '\n') }), { maxLength: 8 }),
        fc.boolean(),
        (parts, inputs, anchored) => {
          const pattern = (anchored ? '^' : '') + parts.join('');
          let re: RE2JS;
          try {
            re = RE2JS.compile(pattern);
          } catch {
            return;
          }
          const req = regexRequirement('f', pattern);
          if (!req) return;
          const alternatives = exactLiterals(pattern);
          for (const s of alternatives ?? []) expect(re.test(s), `${pattern} on ${JSON.stringify(s)}`).toBe(true);
          for (const input of [...inputs, ...(alternatives ?? []).flatMap((s) => [`${s}\n`, s.toUpperCase(), `\n${s}`])]) {
            if (!re.test(input)) continue;
            const met = req.values.includes(input) || req.prefixes.some((p) => input.startsWith(p)) || req.needles.some((n) => input.includes(n));
            expect(met, `${pattern} matches ${JSON.stringify(input)}: ${JSON.stringify(req)}`).toBe(true);
          }
        },
      ),
      { numRuns: 5000 },
    );
  });
});
