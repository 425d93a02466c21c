import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyDocument, importDocument, type LoadBalancer } from '../config/index.ts';
import { compileCondition, RuleRequest, type RuleRequestInit } from '../rules/index.ts';
import { parseIpElement, type IpRange } from '../rules/ip.ts';
import { nextRank } from '../rules/ranks.ts';
import { RuleIndex } from '../rules/rule-index.ts';
import { RuleSet } from './rules.ts';

// Literal pools shared by the generated rules and requests, so that requests often hit them.
const HOSTS = ['a.example', 'b.example', 'A.example', 'c.example'];
const PATHS = ['/', '/api', '/api/', '/api/v1', '/apix', '/s/a.js', '/x', '/v1/api/x', '/v1/rpc/', '/v2/x', '/x?variant=1', '/?variant=12&k=1'];
const PREFIXES = ['/', '/api', '/api/', '/s', '', '/x', 'a', 'b.'];
const METHODS = ['GET', 'POST', 'PUT', 'get'];
const COUNTRIES = ['US', 'DE', 'FR', 'JP'];
const CONTINENTS = ['NA', 'EU', 'AS'];
const COLOS = ['FRA', 'SJC'];
const IPS = ['10.1.2.3', '192.0.2.5', '198.51.100.1', '2001:db8::1', '198.51.7.9', '2001:db8:7::5', '::ffff:10.1.2.3', '::ffff:198.51.7.1', '2001:db9::1'];
const UAS = ['Mozilla/5.0 Crawler-1', 'crawler-2/1.0', 'curl', 'Wget'];
const COOKIES = ['s=b1; t=2', 's=a', 't=2', 'beta-1=1; s=a', 'x=beta-2=1', 'beta-1=0'];

const q = (s: string) => `"${s}"`;
const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);
const STRING_FIELDS: [string, readonly string[]][] = [
  ['http.host', HOSTS],
  ['http.request.uri.path', PATHS],
  ['http.request.method', METHODS],
  ['ip.src.country', COUNTRIES],
  ['ip.geoip.country', COUNTRIES],
  ['ip.src.continent', CONTINENTS],
  ['cf.colo.name', COLOS],
  ['http.request.uri', ['/api?k=1', '/']],
  ['http.request.uri.query', ['k=1', '']],
];

const stringComparison = fc.oneof(
  ...STRING_FIELDS.map(([field, lits]) =>
    fc.oneof(
      fc.tuple(pick(['eq', '==', 'ne', 'contains', 'lt']), pick(lits)).map(([op, v]) => `${field} ${op} ${q(v)}`),
      fc.uniqueArray(pick(lits), { minLength: 1, maxLength: 3 }).map((vs) => `${field} in {${vs.map(q).join(' ')}}`),
      pick(lits).map((v) => `${field} matches ${q(`^${v.replace(/[.?]/g, '\\$&')}`)}`),
    ),
  ),
);
const atom = fc.oneof(
  { arbitrary: stringComparison, weight: 6 },
  { arbitrary: fc.tuple(pick(['http.request.uri.path', 'http.host']), pick(PREFIXES)).map(([f, p]) => `starts_with(${f}, ${q(p)})`), weight: 3 },
  pick([
    'ends_with(http.request.uri.path, ".js")',
    'lower(http.host) eq "a.example"',
    'http.request.headers["x-a"][0] eq "1"',
    'any(http.request.headers["x-a"][*] eq "2")',
    'http.request.cookies["s"][0] contains "b"',
    'http.cookie contains "t=2"',
    'ip.src in {10.0.0.0/8 2001:db8::/32}',
    'ip.src eq 192.0.2.5',
    'ssl',
  ]),
  // the forms of bench/rule-sets.ts and their neighbours: headers, subnets, needles, regexes, lower()/upper()
  {
    arbitrary: fc.oneof(
      pick([1, 2]).map((n) => `http.request.headers["x-canary-${n}"][0] matches "^(1|true)$"`),
      pick([1, 2]).map((n) => `http.request.headers["x-canary-${n}"][0] eq "yes"`),
      pick(['198.51.7.0/24 2001:db8:7::/48', '10.0.0.0/8 ::ffff:10.0.0.0/104', '0.0.0.0/0', '198.51.7.1 ::/0', '2001:db8::/32 10.1.2.3/32']).map(
        (set) => `ip.src in {${set}}`,
      ),
      pick(['198.51.100.1', '::ffff:198.51.7.1', '2001:db8:7::5']).map((a) => `ip.src eq ${a}`),
      pick(['beta-1=1', 'beta-2=1', 'beta-', '']).map((n) => `http.cookie contains ${q(n)}`),
      pick(['variant=1', 'variant=12', 'k']).map((n) => `http.request.uri.query contains ${q(n)}`),
      pick(['^/v1/(api|rpc)/', '^/v2/', 'api/', '^(/|/x)$', '^/v1/(api|rpc)$', 'v[12]/']).map((re) => `http.request.uri.path matches ${q(re)}`),
      pick(['crawler-1', 'crawler-2', 'Crawler-1', 'craw']).map((n) => `lower(http.user_agent) contains ${q(n)}`),
      pick(['^(curl|Wget)$', 'Crawler']).map((re) => `http.user_agent matches ${q(re)}`),
      pick(['A.EXAMPLE', 'a.example']).map((h) => `upper(http.host) eq ${q(h)}`),
      pick(['a', 'b1']).map((v) => `http.request.cookies["s"][0] eq ${q(v)}`),
      pick(['.js', 'x']).map((v) => `ends_with(lower(http.request.uri.path), ${q(v)})`),
    ),
    weight: 4,
  },
);
const { expr } = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { arbitrary: atom, weight: 4 },
    { arbitrary: tie('expr').map((e) => `not ${e}`), weight: 1 },
    { arbitrary: tie('expr').map((e) => `!(${e})`), weight: 1 },
    {
      arbitrary: fc
        .tuple(tie('expr'), pick(['and', 'and', '&&', 'or', '||', 'xor', '^^']), tie('expr'), fc.boolean())
        .map(([a, op, b, paren]) => (paren ? `(${a} ${op} ${b})` : `${a} ${op} ${b}`)),
      weight: 4,
    },
  ),
}));
const oneIn = (n: number) => fc.integer({ min: 1, max: n }).map((k) => k === 1);
const rule = fc
  .record({
    condition: fc.oneof({ arbitrary: expr, weight: 9 }, { arbitrary: fc.constant(''), weight: 1 }),
    priority: fc.option(fc.integer({ min: 0, max: 5 })), // ties, and rules placed by index
    disabled: oneIn(8),
    terminates: oneIn(10),
    fixed: oneIn(15),
    pool: pick(['a', 'b', 'c']),
  })
  .map(({ condition, priority, disabled, terminates, fixed, pool }) => ({
    name: 'r',
    condition,
    ...(priority === null ? {} : { priority }),
    disabled,
    terminates,
    ...(fixed ? { fixed_response: { status_code: 503, message_body: 'down' } } : {}),
    overrides: { default_pools: [pool] },
  }));
const request = fc.record({
  host: pick([...HOSTS, 'other.example']),
  path: pick([...PATHS, '/api?k=1', '/nothing']),
  method: pick(METHODS),
  country: fc.option(pick(COUNTRIES)),
  continent: fc.option(pick(CONTINENTS)),
  colo: fc.option(pick(COLOS)),
  ip: fc.option(pick(IPS)),
  xa: fc.option(pick(['1', '2'])),
  cookie: fc.option(pick(COOKIES)),
  ua: fc.option(pick(UAS)),
  canary: fc.option(fc.tuple(pick(['x-canary-1', 'x-canary-2']), pick(['1', 'true', 'TRUE', 'yes', ' 1']))),
  https: fc.boolean(),
});
// fast-check keeps arrays short by default: one set in four has 50 to 100 rules
const ruleSets = fc.oneof(
  { arbitrary: fc.array(rule, { minLength: 1, maxLength: 100 }), weight: 3 },
  { arbitrary: fc.array(rule, { minLength: 50, maxLength: 100 }), weight: 1 },
);
type Req = typeof request extends fc.Arbitrary<infer T> ? T : never;

function viewOf(r: Req): RuleRequest {
  const headers = new Headers();
  if (r.xa) headers.set('x-a', r.xa);
  if (r.cookie) headers.set('cookie', r.cookie);
  if (r.ua) headers.set('user-agent', r.ua);
  if (r.canary) headers.set(...r.canary);
  const init: RuleRequestInit = {
    url: { protocol: r.https ? 'https:' : 'http:', host: r.host, hostname: r.host, path: r.path },
    method: r.method,
    headers,
    clientIp: r.ip ?? undefined,
    place: { country: r.country ?? undefined, continent: r.continent ?? undefined, colo: r.colo ?? undefined },
    loadBalancer: 'app.example.com',
  };
  return new RuleRequest(init);
}

function baseLb(): LoadBalancer {
  const out = importDocument(
    emptyDocument(),
    {
      pools: ['a', 'b', 'c'].map((id) => ({ id, name: id, origins: [{ name: `${id}1`, address: '127.0.0.1', port: 9000 }] })),
      load_balancers: [{ id: 'lb', name: 'app.example.com', default_pools: ['a'], fallback_pool: 'a' }],
    },
    { newId: () => 'x', now: () => '2026-01-01T00:00:00.000Z' },
  );
  if (!out.ok) throw new Error(JSON.stringify(out.errors));
  return out.value.load_balancers[0]!;
}

describe('indexed rules (RuleSet.apply) against every predicate in order (applyLinear)', () => {
  it('gives the same outcome (matched, fixed response, load balancer, explanation) on generated rule sets and requests', () => {
    const base = baseLb();
    const seen = { rules: 0, indexed: 0, matched: 0, fixed: 0, ip: 0, needles: 0, suffixes: 0, headers: 0, skipped: 0 };
    fc.assert(
      fc.property(ruleSets, fc.array(request, { minLength: 1, maxLength: 12 }), (rules, requests) => {
        for (const r of rules) expect(compileCondition(r.condition)).toMatchObject({ ok: true });
        const set = new RuleSet({ ...base, rules: rules as never });
        expect(set.broken).toEqual([]);
        seen.rules += set.rules.length;
        seen.indexed += set.rules.filter((r) => r.requirement).length;
        seen.ip += set.rules.filter((r) => r.requirement?.ranges.length).length;
        seen.needles += set.rules.filter((r) => r.requirement?.needles.length).length;
        seen.suffixes += set.rules.filter((r) => r.requirement?.suffixes.length).length;
        seen.headers += set.rules.filter((r) => r.requirement?.field.startsWith('http.request.headers[')).length;
        for (const r of requests) {
          const linear = set.applyLinear(viewOf(r));
          const indexed = set.apply(viewOf(r));
          // `evaluated` counts the predicates run: the index runs no more than the linear loop
          const { evaluated, ...rest } = indexed;
          const { evaluated: all, ...reference } = linear;
          expect(rest).toEqual(reference);
          expect(evaluated).toBeLessThanOrEqual(all);
          if (evaluated < all) seen.skipped++;
          expect(set.explain(indexed)).toEqual(set.explain(linear));
          if (linear.matched.length) seen.matched++;
          if (linear.fixed) seen.fixed++;
        }
      }),
      { numRuns: 3000 },
    );
    // the property was not vacuous: many rules were indexed, and requests matched some of them
    expect(seen.indexed).toBeGreaterThan(3000);
    expect(seen.matched).toBeGreaterThan(1000);
    expect(seen.fixed).toBeGreaterThan(100);
    expect(Math.min(seen.ip, seen.needles, seen.headers)).toBeGreaterThan(1000);
    expect(seen.suffixes).toBeGreaterThan(300);
    expect(seen.skipped).toBeGreaterThan(10000);
  });
});

describe('RuleIndex', () => {
  const req = (field: string, values: string[], prefixes: string[] = [], needles: string[] = [], ranges: IpRange[] = [], suffixes: string[] = []) => ({
    field,
    values,
    prefixes,
    suffixes,
    needles,
    ranges,
  });
  const candidates = (index: RuleIndex, r: Partial<Req>) => {
    const bits = index.candidates(
      viewOf({
        host: 'a.example',
        path: '/',
        method: 'GET',
        country: null,
        continent: null,
        colo: null,
        ip: null,
        xa: null,
        cookie: null,
        ua: null,
        canary: null,
        https: true,
        ...r,
      }),
    );
    const out: number[] = [];
    for (let p = nextRank(bits, 0); p >= 0; p = nextRank(bits, p + 1)) out.push(p);
    return out;
  };

  it('lists rules without a requirement, exact hits and every prefix on the path, ascending and once each', () => {
    const index = new RuleIndex([
      undefined,
      req('http.host', ['a.example', 'b.example']),
      req('http.request.uri.path', ['/api'], ['/', '/ap']),
      req('http.request.uri.path', [], ['/api/v1']),
      req('http.host', ['c.example']),
      undefined,
      req('ip.src.country', ['DE']),
      req('http.request.uri.path', [], ['']),
    ]);
    expect(candidates(index, {})).toEqual([0, 1, 2, 5, 7]);
    expect(candidates(index, { host: 'c.example', path: '/api/v1/x', country: 'DE' })).toEqual([0, 2, 3, 4, 5, 6, 7]);
    expect(candidates(index, { host: 'x', path: 'x' })).toEqual([0, 5, 7]);
    expect(index.useful).toBe(true);
    expect(new RuleIndex([undefined, undefined]).useful).toBe(false);
  });

  it('skips a field the request does not have (a comparison on a missing value is false)', () => {
    const index = new RuleIndex([req('ip.src.country', ['DE']), req('cf.colo.name', [], [''])]);
    expect(candidates(index, {})).toEqual([]);
    expect(candidates(index, { country: 'DE', colo: 'FRA' })).toEqual([0, 1]);
  });

  it('marks subnets, needles (through lower()) and header values', () => {
    const cidr = (c: string) => parseIpElement(c, true) as IpRange;
    const index = new RuleIndex([
      req('ip.src', [], [], [], [cidr('198.51.7.0/24'), cidr('2001:db8:7::/48')]),
      req('http.cookie', [], [], ['beta-1=1', 'beta-12=1']),
      req('lower(http.user_agent)', [], [], ['crawler-1']),
      req('http.request.headers["x-canary-1"][0]', ['1', 'true']),
      req('http.cookie', [], [], ['beta-12=1']),
    ]);
    expect(candidates(index, {})).toEqual([]);
    expect(candidates(index, { ip: '::ffff:198.51.7.1', cookie: 'a=1; beta-12=1', ua: 'X Crawler-1', canary: ['x-canary-1', 'true'] })).toEqual([
      0, 1, 2, 3, 4,
    ]);
    expect(candidates(index, { ip: '2001:db8:7:1::1', cookie: 'beta-1=1', canary: ['x-canary-1', 'TRUE'] })).toEqual([0, 1]);
    expect(candidates(index, { ip: '198.51.8.1', cookie: 'beta-=1', ua: 'crawler', canary: ['x-canary-2', '1'] })).toEqual([]);
  });

  it('marks suffixes of every length, and only of the value read (the path without query)', () => {
    const sfx = (...s: string[]) => req('http.request.uri.path', [], [], [], [], s);
    const index = new RuleIndex([sfx('.js', '.css'), sfx('a.js'), sfx('/'), sfx('.js'), sfx('x/a.js')]);
    expect(candidates(index, { path: '/s/a.js' })).toEqual([0, 1, 3]);
    expect(candidates(index, { path: '/s/b.css' })).toEqual([0]);
    expect(candidates(index, { path: '/v1/rpc/' })).toEqual([2]);
    expect(candidates(index, { path: '/x/a.js' })).toEqual([0, 1, 3, 4]);
    expect(candidates(index, { path: '/a.js?x/' })).toEqual([0, 1, 3]);
    expect(candidates(index, { path: '/' })).toEqual([2]);
  });

  it('refuses a requirement whose ranges are not CIDR blocks (compare.ts never makes one)', () => {
    const range = parseIpElement('10.0.0.1..10.0.0.2', true) as IpRange;
    expect(() => new RuleIndex([req('ip.src', [], [], [], [range])])).toThrow(/entry 0 .* not a CIDR block/);
  });
});
