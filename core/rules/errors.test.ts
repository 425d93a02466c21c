import { describe, expect, it } from 'vitest';
import { compileCondition, MAX_EXPRESSION_LENGTH, MAX_NESTING } from './index.ts';

// [expression, offset, token, part of the message]
const ERRORS: [string, number, string, string][] = [
  ['http.host eq "x" or', 19, '', 'expected a field'],
  ['http.host eq', 12, '', 'expected a string'],
  ['http.host eq "x', 13, '"x', 'unterminated string'],
  ['http.host eq "a\\qb"', 15, '\\q', 'invalid escape'],
  ['http.host eq "\\777"', 14, '\\7', 'invalid escape'],
  ['http.host eq r#"abc"', 13, 'r#"abc"', 'unterminated raw string: missing the closing "#'],
  ['http.host eq r"abc', 13, 'r"abc', 'unterminated raw string'],
  ['foo.bar eq "x"', 0, 'foo.bar', 'unknown field "foo.bar"'],
  ['HTTP.HOST eq "a"', 0, 'HTTP.HOST', 'unknown field'],
  ['lookup_json_string(http.host, "a") eq "b"', 0, 'lookup_json_string', 'unsupported function'],
  ['ip.src eq 10.0.0.0/8', 10, '10.0.0.0/8', 'a CIDR is allowed only inside a set'],
  ['ip.src eq 10.0.0.1..10.0.0.2', 10, '10.0.0.1..10.0.0.2', 'allowed only inside a set'],
  ['ip.src in {10.0.0.0/33}', 11, '10.0.0.0/33', 'invalid prefix length /33'],
  ['ip.src in {2001:db8::/129}', 11, '2001:db8::/129', 'invalid prefix length'],
  ['ip.src in {1.2.3.4, 5.6.7.8}', 18, ',', 'separated by spaces, not commas'],
  ['ip.src in {999.1.1.1}', 11, '999.1.1.1', 'is not an IP address'],
  ['ip.src in {127.1}', 11, '127.1', 'is not an IP address'],
  ['ip.src in {10.0.0.1..10.0.0.0}', 11, '10.0.0.1..10.0.0.0', 'must not end before it starts'],
  ['ip.src in {10.0.0.1..2001:db8::1}', 11, '10.0.0.1..2001:db8::1', 'same family'],
  ['ip.src in $office', 10, '$office', 'named lists'],
  ['ip.src contains "1"', 7, 'contains', 'operator contains does not apply to IP address'],
  ['http.host matches "(a"', 18, '"(a"', 'invalid regular expression: error parsing regexp: missing closing )'],
  ['http.host matches "(?=a)"', 18, '"(?=a)"', 'invalid regular expression'],
  ['http.host matches "a{1001}"', 18, '"a{1001}"', 'invalid repeat count'],
  ['http.host wildcard "a**b"', 19, '"a**b"', 'must not contain **'],
  ['http.host strict "x"', 17, '"x"', 'expected "wildcard" after "strict"'],
  ['http.host contains 1', 19, '1', 'expected a string'],
  ['http.host in {"a" "b"', 21, '', 'unterminated set'],
  ['http.host', 0, 'http.host', 'a condition must be a Boolean, not String'],
  ['http.host EQ "a"', 10, 'EQ', 'operators are written in lower case: eq'],
  ['http.host eq "a")', 16, ')', 'expected "and", "or", "xor" or the end'],
  ['http.host eq "a" http.host eq "b"', 17, 'http.host', 'expected "and", "or", "xor" or the end'],
  ['(http.host eq "a"', 17, '', 'expected ")"'],
  ['not', 3, '', 'expected a field'],
  ['http.host eq "a" and 1', 21, '1', 'expected a field'],
  ['ssl and http.host', 8, 'http.host', '"and" takes Booleans, not String'],
  ['ssl eq "x"', 4, 'eq', 'operator eq does not apply to Boolean'],
  ['"x" eq http.host', 0, '"x"', 'not a literal'],
  ['http.request.headers eq "x"', 0, 'http.request.headers', 'is a Map: read it with a key'],
  ['http.request.headers["a"] eq "x"', 26, 'eq', 'an Array<String> cannot be compared'],
  ['http.request.headers["a"][-1] eq "x"', 26, '-1', 'expected an index'],
  ['http.request.headers.names[*] eq "x"', 26, '[*]', '[*] is allowed only in the first argument of a function'],
  ['any(http.request.headers["a"][*] eq "x") and http.request.headers["a"][*] eq "x"', 70, '[*]', '[*] is allowed only'],
  ['ssl or http.request.headers.names', 7, 'http.request.headers.nam', '"or" takes Booleans, not Array<String>'],
  ['any(http.host eq "x")', 4, 'http.host', 'any() takes an Array<Boolean>'],
  ['http.host[0] eq "a"', 9, '[', 'a String cannot be indexed'],
  ['upper("x") eq "X"', 6, '"x"', 'the first argument of upper() must be a field'],
  ['starts_with(http.host, http.host)', 23, 'http.host', 'the second argument of starts_with() must be a string literal'],
  ['lower(http.host, "x") eq "a"', 0, 'lower', 'lower() takes 1 argument, not 2'],
  ['len(ip.src) eq 1', 4, 'ip.src', 'len() takes a String or an Array, not IP address'],
  ['http.request.uri.args.names[0] in {1 2}', 35, '1', 'expected a string'],
  ['len(http.host) in {3..1}', 19, '3..1', 'invalid integer range'],
  ['len(http.host) eq 99999999999999999999', 18, '99999999999999999999', 'integer out of range'],
];

describe('invalid expressions are returned with the offset, the token there and the reason', () => {
  it.each(ERRORS)('%s → offset %i, token %j', (expression, offset, token, message) => {
    const c = compileCondition(expression);
    expect(c.ok).toBe(false);
    if (c.ok) return;
    expect(c.error.message).toContain(message);
    expect({ offset: c.error.offset, token: c.error.token }).toEqual({ offset, token });
  });

  it(`caps the length at ${MAX_EXPRESSION_LENGTH} characters, Cloudflare's maximum`, () => {
    const fits = `${'ssl or '.repeat(584)}ssl`.padEnd(MAX_EXPRESSION_LENGTH, ' ');
    expect(compileCondition(fits).ok).toBe(true);
    const c = compileCondition(`${fits} `);
    expect(c).toMatchObject({ ok: false, error: { offset: MAX_EXPRESSION_LENGTH, message: 'the expression is longer than 4096 characters' } });
  });

  it(`caps nesting at ${MAX_NESTING} levels of parentheses, not and function calls`, () => {
    const nest = (n: number) => `${'('.repeat(n)}ssl${')'.repeat(n)}`;
    expect(compileCondition(nest(MAX_NESTING)).ok).toBe(true);
    expect(compileCondition(nest(MAX_NESTING + 1))).toMatchObject({
      ok: false,
      error: { offset: MAX_NESTING, token: '(', message: `nested more than ${MAX_NESTING} levels deep` },
    });
    expect(compileCondition(`${'not '.repeat(MAX_NESTING)}ssl`).ok).toBe(true);
    expect(compileCondition(`${'not '.repeat(MAX_NESTING + 1)}ssl`)).toMatchObject({ ok: false, error: { offset: 4 * MAX_NESTING } });
    // 4,000 levels come back as an error, not a stack overflow
    expect(compileCondition(`${'!'.repeat(4000)}ssl`)).toMatchObject({ ok: false, error: { offset: MAX_NESTING } });
  });
});
