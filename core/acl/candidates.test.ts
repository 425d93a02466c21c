import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIpElement, type IpRange } from '../rules/ip.ts';
import { view, type Sample } from '../rules/test-helpers.ts';
import { aclIndex } from './candidates.ts';
import { prefixLength } from '../rules/ip-index.ts';
import { AclSet } from './index.ts';

// Small pools, so generated entries overlap each other and generated requests hit them.
const octet = fc.constantFrom(0, 1, 10, 128, 192, 255);
const group = fc.oneof(fc.constantFrom(0, 1, 0xdb8, 0x2001, 0x8000, 0xffff), fc.integer({ min: 0, max: 0xffff }));
const v4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const v6 = fc.array(group, { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));
const mapped = v4.map((a) => `::ffff:${a}`);
const subnet = fc.oneof(
  fc.tuple(v4, fc.constantFrom(0, 1, 7, 8, 9, 16, 24, 31, 32)).map(([a, n]) => `${a}/${n}`),
  v4,
  fc.tuple(v6, fc.constantFrom(0, 1, 16, 31, 32, 33, 48, 64, 96, 104, 120, 127, 128)).map(([a, n]) => `${a}/${n}`),
  v6,
  fc.tuple(mapped, fc.constantFrom(96, 104, 128)).map(([a, n]) => `${a}/${n}`),
  mapped,
);
const pathText = fc.array(fc.constantFrom('a', 'b', 'ab', '/', '.php', '%2F', 'é'), { maxLength: 5 }).map((p) => `/${p.join('')}`);
const HOSTS = ['a.example', 'A.Example', 'b.example', 'c.example', 'd.example', 'xn--bcher-kva.example'];
const HEADERS = ['x-env', 'X-Env', 'x-block'];
const VALUES = ['staging', 'test', 'Test', 'a, b', 'canary', '1'];

const filter = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ http_filter: 'acl_http_filter_none' }) },
  {
    weight: 3,
    arbitrary: fc.record({ http_filter: fc.constant('host'), http_filter_value: fc.array(fc.constantFrom(...HOSTS), { minLength: 1, maxLength: 2 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      http_filter: fc.constant('http_header_match'),
      http_filter_option: fc.constantFrom(...HEADERS),
      http_filter_value: fc.array(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 2 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ http_filter: fc.constant('path_begin'), http_filter_value: fc.array(pathText, { minLength: 1, maxLength: 3 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      http_filter: fc.constant('path_end'),
      http_filter_value: fc.array(fc.oneof(pathText, fc.constantFrom('.php', 'b', 'ab', 'a/', '%2F', 'é', '/')), { minLength: 1, maxLength: 2 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      http_filter: fc.constant('regex'),
      // Anchored literal prefixes (indexed as path prefixes) and patterns that must stay always-candidates.
      http_filter_value: fc.array(
        fc.constantFrom('^/a', 'b$', 'php', '^/$', 'é', '^/ab?', '^/ab*', '^/a|^/b', '^/a(b|/)', '^(/a)', '^/a\\.php$', '^/é', '^/%2F', '^/b+a'),
        { minLength: 1, maxLength: 2 },
      ),
    }),
  },
);
const entry = fc
  .record({
    index: fc.integer({ min: 0, max: 40 }), // duplicates too: then array order decides
    allow: fc.boolean(),
    subnets: fc.oneof({ weight: 1, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: fc.array(subnet, { minLength: 1, maxLength: 4 }) }),
    filter,
    invert: fc.integer({ min: 0, max: 11 }).map((n) => n === 0),
    broken: fc.integer({ min: 0, max: 49 }).map((n) => n === 0),
  })
  .map(({ index, allow, subnets, filter, invert, broken }): unknown => ({
    name: `e${index}`,
    index,
    action: { type: allow ? 'allow' : 'deny' },
    match: { ...filter, ip_subnet: broken ? ['999.0.0.0/8'] : subnets, invert },
  }));
const request = fc.record({
  clientIp: fc.option(fc.oneof(v4, v6, mapped, fc.constant('not-an-ip')), { nil: undefined }),
  url: fc.tuple(fc.constantFrom(...HOSTS, 'e.example'), pathText, fc.constantFrom('', '?x=/a', '?.php')).map(([h, p, q]) => `https://${h}${p}${q}`),
  headers: fc.array(fc.tuple(fc.constantFrom('x-env', 'x-block', 'x-other'), fc.constantFrom(...VALUES)), { maxLength: 3 }),
}) as fc.Arbitrary<Sample>;

describe('the ACL candidate index', () => {
  it('decides as the linear scan does, over generated ACL sets and requests', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 100, size: 'medium' }), fc.array(request, { minLength: 1, maxLength: 8 }), (acls, requests) => {
        const set = new AclSet(acls);
        for (const r of requests) expect(set.evaluate(view(r))).toEqual(set.evaluateLinear(view(r)));
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves out the entries whose indexed condition fails: a request of none of their keys has only the always-candidates', () => {
    const acls = [
      { index: 0, action: { type: 'deny' }, match: { http_filter: 'host', http_filter_value: ['a.example'] } },
      { index: 1, action: { type: 'deny' }, match: { http_filter: 'http_header_match', http_filter_option: 'x-env', http_filter_value: ['test'] } },
      { index: 2, action: { type: 'deny' }, match: { http_filter: 'path_begin', http_filter_value: ['/admin/', '/api'] } },
      { index: 3, action: { type: 'deny' }, match: { ip_subnet: ['10.0.0.0/8', '2001:db8::/32'] } },
      { index: 4, action: { type: 'deny' }, match: { http_filter: 'path_end', http_filter_value: ['.php'], ip_subnet: ['10.0.0.0/8'] } },
      { index: 5, action: { type: 'deny' }, match: { http_filter: 'host', http_filter_value: ['a.example'], invert: true } },
      { index: 6, action: { type: 'deny' }, match: { http_filter: 'regex', http_filter_value: ['[xy]'] } },
      { index: 7, action: { type: 'deny' }, match: { http_filter: 'regex', http_filter_value: ['^/wp-(admin|login)', '^/xmlrpc\\.php$'] } },
      { index: 8, action: { type: 'deny' }, match: { http_filter: 'regex', http_filter_value: ['rpc\\.'] } },
    ];
    const index = aclIndex(new AclSet(acls).entries);
    const ranks = (s: Sample) => {
      const bits = index.candidates(view(s))[0]!;
      return acls.map((_, r) => r).filter((r) => bits & (1 << r));
    };
    // Entry 4 is indexed by its path suffix, 7 by its patterns' literal prefix and exact value, 8 (unanchored) by its
    // literal as a needle; 6 (no literal) is always a candidate.
    expect(ranks({ url: 'https://b.example/shop', clientIp: '11.0.0.1' })).toEqual([5, 6]);
    expect(ranks({ url: 'https://a.example/api/x', clientIp: '10.9.9.9', headers: { 'x-env': 'test' } })).toEqual([0, 1, 2, 3, 5, 6]);
    expect(ranks({ url: 'https://b.example/ap', clientIp: '2001:db8::1' })).toEqual([3, 5, 6]);
    expect(ranks({ url: 'https://b.example/admin', clientIp: '::ffff:10.0.0.1' })).toEqual([3, 5, 6]); // IPv4-mapped is IPv4
    expect(ranks({ url: 'https://b.example/wp-x.php', clientIp: '10.0.0.1' })).toEqual([3, 4, 5, 6, 7]);
    expect(ranks({ url: 'https://b.example/xmlrpc.php?a=1', clientIp: '11.0.0.1' })).toEqual([4, 5, 6, 7, 8]); // the path, without query
    expect(ranks({ url: 'https://b.example/a?rpc.', clientIp: '11.0.0.1' })).toEqual([5, 6]);
  });
});

describe('prefixLength', () => {
  const range = (s: string) => parseIpElement(s, true) as IpRange;
  it('reads the prefix length of CIDR blocks and single addresses, and refuses other ranges', () => {
    expect(
      ['0.0.0.0/0', '10.0.0.0/8', '10.1.2.3/31', '10.1.2.3', '::/0', '2001:db8::/33', '2001:db8::/64', '::1/127', '::1'].map((s) => prefixLength(range(s))),
    ).toEqual([0, 8, 31, 32, 0, 33, 64, 127, 128]);
    expect(prefixLength(range('10.0.0.1..10.0.0.2'))).toBe(-1);
    expect(prefixLength(range('10.0.0.0..10.0.0.2'))).toBe(-1);
    expect(prefixLength(range('2001:db8::..2001:db8:0:1::ffff'))).toBe(-1);
    expect(prefixLength(range('2001:db8::..2001:db8:1::ffff'))).toBe(-1);
  });
});
