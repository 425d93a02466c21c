import { describe, expect, it } from 'vitest';
import { compileCondition, type Requirement } from './index.ts';
import { parseIpElement, type IpRange } from './ip.ts';
import { fieldReader } from './requirement.ts';
import { view } from './test-helpers.ts';

function requirementOf(expression: string): Requirement | undefined {
  const c = compileCondition(expression);
  if (!c.ok) throw new Error(`${expression}: ${JSON.stringify(c.error)}`);
  return c.requirement;
}
const req = (field: string, parts: Partial<Omit<Requirement, 'field'>>): Requirement => ({
  field,
  values: [],
  prefixes: [],
  suffixes: [],
  needles: [],
  ranges: [],
  ...parts,
});
const values = (field: string, ...v: string[]): Requirement => req(field, { values: v });
const prefixes = (field: string, ...p: string[]): Requirement => req(field, { prefixes: p });
const needles = (field: string, ...n: string[]): Requirement => req(field, { needles: n });
const suffixes = (field: string, ...x: string[]): Requirement => req(field, { suffixes: x });
const cidrs = (...c: string[]): Requirement => req('ip.src', { ranges: c.map((x) => parseIpElement(x, true) as IpRange) });
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
    ['http.request.uri.path eq "/" or starts_with(http.request.uri.path, "/s/")', req(PATH, { values: ['/'], prefixes: ['/s/'] })],
    ['http.cookie contains "b=1" or http.cookie eq "a"', req('http.cookie', { values: ['a'], needles: ['b=1'] })],
    // regexes: exact alternations, anchored literal prefixes, literal text any match starts with
    ['http.request.headers["x-canary-4"][0] matches "^(1|true)$"', values('http.request.headers["x-canary-4"][0]', '1', 'true')],
    ['http.host matches "^(?:a\\.b|c)$"', values(HOST, 'a.b', 'c')],
    ['http.host matches "^a$"', values(HOST, 'a')],
    ['http.host matches "^$"', values(HOST, '')],
    ['http.request.uri.path matches "^/v8/(api|rpc)/"', prefixes(PATH, '/v8/')],
    ['http.request.uri.path matches "^/a(b|c)$"', prefixes(PATH, '/a')],
    ['http.request.uri.path matches "^/ab*"', prefixes(PATH, '/a')],
    ['http.request.uri.path matches "admin/"', needles(PATH, 'admin/')],
    // contains, ends_with, lower()/upper(), map elements, parentheses
    ['http.cookie contains "beta-6=1"', needles('http.cookie', 'beta-6=1')],
    ['http.request.uri.query contains ""', prefixes('http.request.uri.query', '')],
    ['lower(http.user_agent) contains "crawler-9"', needles('lower(http.user_agent)', 'crawler-9')],
    ['upper(lower(http.host)) eq "A"', values('upper(lower(http.host))', 'A')],
    ['ends_with(http.request.uri.path, ".js")', suffixes(PATH, '.js')],
    ['ends_with(http.request.uri.path, "")', prefixes(PATH, '')],
    ['ends_with(http.request.uri.path, ".js") or ends_with(http.request.uri.path, ".css")', suffixes(PATH, '.js', '.css')],
    ['starts_with(lower(http.request.uri.path), "/api")', prefixes('lower(http.request.uri.path)', '/api')],
    ['starts_with((http.request.uri.path), "/api")', prefixes(PATH, '/api')],
    ['http.request.headers["x-a"][0] eq "1"', values('http.request.headers["x-a"][0]', '1')],
    ['http.request.cookies["s"][1] in {"a" "b"}', values('http.request.cookies["s"][1]', 'a', 'b')],
    ['http.request.uri.args["k"][0] eq "v"', values('http.request.uri.args["k"][0]', 'v')],
    ['http.user_agent eq "curl"', values('http.user_agent', 'curl')],
    // client addresses: CIDR blocks and single addresses
    ['ip.src in {198.51.7.0/24 2001:db8:7::/48}', cidrs('198.51.7.0/24', '2001:db8:7::/48')],
    ['ip.src eq 10.0.0.1', cidrs('10.0.0.1')],
    ['ip.src in {10.0.0.0/8} or ip.src eq ::1', cidrs('10.0.0.0/8', '::1')],
    ['ip.src in {10.0.0.0/8} and http.cookie contains "x"', cidrs('10.0.0.0/8')],
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
    'http.host wildcard "a*"',
    'http.host lt "b"',
    'any(http.request.headers["x"][*] eq "a")',
    'http.request.full_uri eq "https://a/"',
    'ip.src in {10.0.0.1..10.0.0.5}', // not a CIDR block
    'ip.src ne 10.0.0.1',
    'http.request.headers.names[0] eq "a"',
    'http.host wildcard "a*"',
    'http.host matches "(?i)^a$"',
    'http.host matches "^(?i)a"',
    'http.host matches "^[ab]$"',
    'http.host matches "^(1|2)+$"',
    'http.host matches "^/a$|^/b$"', // top-level alternation
    'http.host matches "\\d+"',
    'lower(http.host) eq "a" or http.host eq "a"', // different keys
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
    expect(() => fieldReader('http.request.full_uri')).toThrow(/not an indexable field/);
    expect(() => fieldReader('http.request.headers.names["a"][0]')).toThrow(/not an indexable field/);
    const h = view({ headers: { 'x-a': 'V', 'user-agent': 'Bot/1' } });
    expect(
      ['http.request.headers["x-a"][0]', 'lower(http.request.headers["x-a"][0])', 'upper(http.user_agent)', 'http.request.headers["x-b"][0]'].map((f) =>
        fieldReader(f)(h),
      ),
    ).toEqual(['V', 'v', 'BOT/1', undefined]);
  });
});
