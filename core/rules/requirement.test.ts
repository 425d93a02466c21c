import { describe, expect, it } from 'vitest';
import { compileCondition, type Requirement } from './index.ts';
import { fieldReader } from './requirement.ts';
import { view } from './test-helpers.ts';

function requirementOf(expression: string): Requirement | undefined {
  const c = compileCondition(expression);
  if (!c.ok) throw new Error(`${expression}: ${JSON.stringify(c.error)}`);
  return c.requirement;
}
const values = (field: string, ...v: string[]): Requirement => ({ field, values: v, prefixes: [] });
const prefixes = (field: string, ...p: string[]): Requirement => ({ field, values: [], prefixes: p });
const [HOST, PATH, METHOD, COUNTRY] = ['http.host', 'http.request.uri.path', 'http.request.method', 'ip.src.country'];

describe('requirements found while compiling', () => {
  it.each<[string, Requirement]>([
    ['http.host eq "a.example"', values(HOST, 'a.example')],
    ['http.host == "A.Example"', values(HOST, 'A.Example')], // as written: the comparison is case sensitive
    ['http.host in {"a" "b" "a"}', values(HOST, 'a', 'b')],
    ['http.request.method eq "POST"', values(METHOD, 'POST')],
    ['ip.src.country in {"DE" "FR"}', values(COUNTRY, 'DE', 'FR')],
    ['ip.geoip.country eq "DE"', values(COUNTRY, 'DE')],
    ['ip.geoip.continent eq "EU"', values('ip.src.continent', 'EU')],
    ['cf.colo.name eq "FRA"', values('cf.colo.name', 'FRA')],
    ['http.request.uri eq "/a?b"', values('http.request.uri', '/a?b')],
    ['starts_with(http.request.uri.path, "/api/")', prefixes(PATH, '/api/')],
    ['starts_with(http.host, "www.")', prefixes(HOST, 'www.')],
    ['(http.host eq "a")', values(HOST, 'a')],
    ['http.host eq "a" or http.host in {"b" "a"}', values(HOST, 'a', 'b')],
    ['http.request.uri.path eq "/" or starts_with(http.request.uri.path, "/s/")', { field: PATH, values: ['/'], prefixes: ['/s/'] }],
    ['http.host eq "a" and http.request.uri.path matches "^/x"', values(HOST, 'a')],
    ['http.request.uri.path contains "x" && http.host eq "a"', values(HOST, 'a')],
    // and: exact values over a prefix, a prefix over an exact method, fewer entries first
    ['starts_with(http.request.uri.path, "/u") and http.host eq "a"', values(HOST, 'a')],
    ['http.request.method eq "POST" and starts_with(http.request.uri.path, "/u")', prefixes(PATH, '/u')],
    ['http.host in {"a" "b"} and ip.src.country eq "DE"', values(COUNTRY, 'DE')],
    ['http.host eq "a" and (http.host eq "b" or ip.src.country eq "DE")', values(HOST, 'a')],
    ['http.host eq "a" or http.host eq "b" and ip.src.country eq "DE"', values(HOST, 'a', 'b')], // and binds tighter
    ['(http.host eq "a" or http.host eq "b") and not ip.src.country eq "DE"', values(HOST, 'a', 'b')],
  ])('%s', (expression, expected) => {
    expect(requirementOf(expression)).toEqual(expected);
  });

  it.each([
    '',
    'http.host ne "a"',
    'not http.host eq "a"',
    '!(http.host eq "a")',
    'http.host eq "a" xor http.host eq "b"',
    'http.host eq "a" ^^ ip.src.country eq "DE"',
    'http.host eq "a" or ip.src.country eq "DE"',
    'http.host eq "a" or http.request.uri.path contains "x"',
    'lower(http.host) eq "a"',
    'upper(http.request.method) in {"GET"}',
    'http.host contains "a"',
    'http.host matches "^a$"',
    'http.host wildcard "a*"',
    'http.host lt "b"',
    'ends_with(http.request.uri.path, ".js")',
    'starts_with(lower(http.request.uri.path), "/api")',
    'starts_with((http.request.uri.path), "/api")', // parenthesised source: conservatively none
    'http.request.headers["host"][0] eq "a"',
    'any(http.request.headers["x"][*] eq "a")',
    'http.request.cookies["s"][0] eq "a"',
    'http.user_agent eq "curl"', // not indexed
    'http.request.full_uri eq "https://a/"',
    'ip.src in {10.0.0.0/8}',
    'ip.src eq 10.0.0.1',
    'len(http.host) eq 3',
    'ssl',
  ])('none for %s', (expression) => {
    expect(requirementOf(expression)).toBeUndefined();
  });

  it('reads fields with the getters comparisons use (aliases by their canonical name) and refuses others', () => {
    const r = view({ url: 'https://App.Example.com/x?y', method: 'PATCH', place: { country: 'JP', continent: 'AS', colo: 'NRT' } });
    expect([HOST, PATH, METHOD, COUNTRY, 'ip.src.continent', 'cf.colo.name', 'http.request.uri.query'].map((f) => fieldReader(f)(r))).toEqual([
      'app.example.com',
      '/x',
      'PATCH',
      'JP',
      'AS',
      'NRT',
      'y',
    ]);
    expect(() => fieldReader('ip.geoip.country')).toThrow(/not an indexable field/);
    expect(() => fieldReader('http.user_agent')).toThrow(/not an indexable field/);
  });
});
