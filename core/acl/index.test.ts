import { describe, expect, it } from 'vitest';
import { view } from '../rules/test-helpers.ts';
import { LoadBalancerSchema } from '../config/index.ts';
import { AclListSchema, AclSet, type Acl } from './index.ts';

type Input = Omit<Acl, 'name' | 'match'> & { name?: string; match?: Partial<Acl['match']> };
const set = (acls: Input[]) => new AclSet(AclListSchema.parse(acls));
const deny = (index: number, match: Partial<Acl['match']>, name = `deny${index}`): Input => ({ name, index, action: { type: 'deny' }, match });
const allow = (index: number, match: Partial<Acl['match']>, name = `allow${index}`): Input => ({ name, index, action: { type: 'allow' }, match });
/** The name of the entry that decides a request from `clientIp` to `url` with `headers`, or null. */
const decide = (s: AclSet, clientIp?: string, url?: string, headers?: HeadersInit) => s.evaluate(view({ clientIp, url, headers }))?.name ?? null;

describe('ACL matching', () => {
  it('matches IPv4 and IPv6 CIDRs and single addresses; an unknown address matches no subnet', () => {
    const s = set([deny(1, { ip_subnet: ['192.0.2.0/24', '2001:db8::/32', '198.51.100.7'] })]);
    expect(decide(s, '192.0.2.200')).toBe('deny1');
    expect(decide(s, '192.0.3.1')).toBe(null);
    expect(decide(s, '2001:db8:ffff::1')).toBe('deny1');
    expect(decide(s, '2001:db9::1')).toBe(null);
    expect(decide(s, '198.51.100.7')).toBe('deny1');
    expect(decide(s, '198.51.100.8')).toBe(null);
    expect(decide(s, '::ffff:192.0.2.9')).toBe('deny1'); // IPv4-mapped counts as IPv4
    expect(decide(s, undefined)).toBe(null);
    expect(decide(s, 'not-an-ip')).toBe(null);
  });

  it('an empty ip_subnet matches any client, known or not', () => {
    const s = set([deny(1, {})]);
    expect(decide(s, '203.0.113.1')).toBe('deny1');
    expect(decide(s, undefined)).toBe('deny1');
  });

  it('path_begin and path_end test the path without its query; any value is enough', () => {
    const s = set([
      deny(1, { http_filter: 'path_begin', http_filter_value: ['/admin', '/internal/'] }),
      deny(2, { http_filter: 'path_end', http_filter_value: ['.php', '.env'] }),
    ]);
    expect(decide(s, undefined, 'https://a.example/admin/users')).toBe('deny1');
    expect(decide(s, undefined, 'https://a.example/internal/x')).toBe('deny1');
    expect(decide(s, undefined, 'https://a.example/internals')).toBe(null);
    expect(decide(s, undefined, 'https://a.example/x/index.php?a=1')).toBe('deny2');
    expect(decide(s, undefined, 'https://a.example/x?f=.php')).toBe(null);
  });

  it('regex runs on the path, unanchored unless anchored, in linear time', () => {
    const s = set([deny(1, { http_filter: 'regex', http_filter_value: ['^/v[0-9]+/private', '(a+)+$'] })]);
    expect(decide(s, undefined, 'https://a.example/v2/private/x')).toBe('deny1');
    expect(decide(s, undefined, 'https://a.example/x/v2/private')).toBe(null);
    expect(decide(s, undefined, `https://a.example/${'a'.repeat(5000)}!`)).toBe(null); // catastrophic for a backtracking engine
  });

  it('http_header_match compares the named header exactly (name case-insensitive); host compares the hostname', () => {
    const s = set([
      deny(1, { http_filter: 'http_header_match', http_filter_option: 'X-Env', http_filter_value: ['staging', 'test'] }),
      deny(2, { http_filter: 'host', http_filter_value: ['Old.Example.com'] }),
    ]);
    expect(decide(s, undefined, 'https://a.example/', { 'x-env': 'test' })).toBe('deny1');
    expect(decide(s, undefined, 'https://a.example/', { 'x-env': 'testing' })).toBe(null);
    expect(decide(s, undefined, 'https://a.example/')).toBe(null);
    expect(decide(s, undefined, 'https://old.example.com/')).toBe('deny2');
  });

  it('needs the subnet and the HTTP filter together; invert negates the whole match', () => {
    const both = set([deny(1, { ip_subnet: ['10.0.0.0/8'], http_filter: 'path_begin', http_filter_value: ['/admin'] })]);
    expect(decide(both, '10.1.2.3', 'https://a.example/admin')).toBe('deny1');
    expect(decide(both, '10.1.2.3', 'https://a.example/shop')).toBe(null);
    expect(decide(both, '11.1.2.3', 'https://a.example/admin')).toBe(null);
    const unless = set([deny(1, { ip_subnet: ['10.0.0.0/8', 'fd00::/8'], http_filter: 'path_begin', http_filter_value: ['/admin'], invert: true })]);
    expect(decide(unless, '11.1.2.3', 'https://a.example/admin')).toBe('deny1');
    expect(decide(unless, 'fd12::1', 'https://a.example/admin')).toBe(null);
    expect(decide(unless, '10.1.2.3', 'https://a.example/shop')).toBe('deny1');
    expect(decide(unless, undefined, 'https://a.example/admin')).toBe('deny1');
  });

  it('runs by index, not array order: the first match decides (an allow before a broader deny lets through)', () => {
    const s = set([deny(20, { ip_subnet: ['10.0.0.0/8'] }), allow(10, { ip_subnet: ['10.9.0.0/16'] }), deny(5, { ip_subnet: ['10.9.9.9'] })]);
    expect(decide(s, '10.9.9.9')).toBe('deny5');
    expect(decide(s, '10.9.1.1')).toBe('allow10');
    expect(decide(s, '10.1.1.1')).toBe('deny20');
    expect(s.evaluate(view({ clientIp: '10.9.1.1' }))).toMatchObject({ position: 1, index: 10, action: { type: 'allow' } });
  });

  it('lastEvaluated counts the entries whose match ran (the candidates up to the decision), not every entry', () => {
    const s = set([
      deny(1, { http_filter: 'host', http_filter_value: ['a.example'] }),
      deny(2, { http_filter: 'path_begin', http_filter_value: ['/admin'] }),
      deny(3, { http_filter: 'path_begin', http_filter_value: ['/api'] }),
      deny(4, { http_filter: 'host', http_filter_value: ['b.example'], invert: true }),
    ]);
    expect(decide(s, '10.0.0.1', 'https://app.example.com/api/x')).toBe('deny3');
    expect(s.lastEvaluated).toBe(1);
    expect(decide(s, '10.0.0.1', 'https://b.example/web')).toBe(null);
    expect(s.lastEvaluated).toBe(1); // only the inverted entry was a candidate
    expect(s.evaluateLinear(view({ url: 'https://b.example/web' }))).toBeUndefined();
    expect(s.lastEvaluated).toBe(4);
  });

  it('a stored entry that no longer validates never matches; the others still do', () => {
    const s = new AclSet([
      { index: 1, action: { type: 'deny' }, match: { ip_subnet: ['999.0.0.0/8'] } },
      { index: 2, action: { type: 'deny' } },
    ]);
    expect(s.broken).toHaveLength(1);
    expect(s.evaluate(view({ clientIp: '1.2.3.4' }))?.index).toBe(2);
  });
});

describe('ACL schema', () => {
  const lb = (acls: unknown) => LoadBalancerSchema.safeParse({ name: 'a.example', default_pools: ['p'], fallback_pool: 'p', acls });
  const errors = (acls: unknown) => {
    const r = lb(acls);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('defaults to none, and a redirect defaults to 302', () => {
    expect(lb(undefined).data?.acls).toEqual([]);
    const r = lb([{ index: 0, action: { type: 'redirect', redirect: { location: 'https://b.example/' } } }]);
    expect(r.data?.acls[0]).toMatchObject({ name: '', action: { redirect: { code: 302 } }, match: { http_filter: 'acl_http_filter_none', invert: false } });
  });

  it('names the field of each error', () => {
    expect(errors([{ index: 1, action: { type: 'deny' }, match: { ip_subnet: ['10.0.0.0/33', '10.0.0.1..10.0.0.9'] } }])).toEqual([
      'acls.0.match.ip_subnet.0: invalid prefix length /33',
      'acls.0.match.ip_subnet.1: must be an address or a CIDR such as 192.0.2.0/24 or 2001:db8::/32',
    ]);
    expect(errors([{ index: 1, action: { type: 'deny' }, match: { http_filter: 'regex', http_filter_value: ['a(b'] } }])[0]).toMatch(
      /^acls\.0\.match\.http_filter_value\.0: .*missing/,
    );
    expect(errors([{ index: 1, action: { type: 'deny' }, match: { http_filter: 'http_header_match', http_filter_value: ['x'] } }])).toEqual([
      'acls.0.match.http_filter_option: is required for http_header_match (the header name), and only for it',
    ]);
    expect(errors([{ index: 1, action: { type: 'deny' }, match: { http_filter: 'path_end' } }])).toEqual([
      'acls.0.match.http_filter_value: needs at least one value for http_filter path_end',
    ]);
    expect(errors([{ index: 1, action: { type: 'redirect', redirect: { code: 300, location: 'x' } } }])[0]).toMatch(/^acls\.0\.action\.redirect\.code: /);
    expect(errors([{ index: 1, action: { type: 'redirect', redirect: { location: 'https://x/\r\nSet-Cookie: a=b' } } }])).toEqual([
      'acls.0.action.redirect.location: must be a header value: no control characters (CR, LF, NUL)',
    ]);
    expect(errors([{ index: 1, action: { type: 'deny', redirect: { location: '/' } } }])).toEqual([
      'acls.0.action.redirect: is required for type redirect ({ code, location }), and only for it',
    ]);
    expect(errors([deny(3, {}), deny(3, {})])).toEqual(['acls.1.index: duplicate index 3 (also acls[0])']);
  });

  it('caps the list at 100 entries', () => {
    expect(errors(Array.from({ length: 101 }, (_, i) => deny(i, {})))).toEqual(['acls: Too big: expected array to have <=100 items']);
    expect(errors(Array.from({ length: 100 }, (_, i) => deny(i, {})))).toEqual([]);
  });
});
