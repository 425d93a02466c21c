/**
 * DoH answers for given snapshots: exact response messages (decoded by the codec, a parser we did
 * not write), steering through core/route, health, ECS and the names we refuse.
 */
import { describe, expect, it } from 'vitest';
import { answerDoh, type DohAnswer, type DohContext } from './index.ts';
import { context, decode, query, snapshot } from './test-fixtures.ts';

async function ask(bytes: Uint8Array, ctx: DohContext = context()) {
  const a = (await answerDoh(bytes, ctx)) as DohAnswer;
  const m = decode(a.message);
  return {
    rcode: m.rcode,
    aa: m.flag_aa,
    rd: m.flag_rd,
    maxAge: a.maxAge,
    m,
    answers: (m.answers ?? []).map((r) => [r.type, r.name, (r as { ttl: number }).ttl, r.data]),
  };
}
const ecsOf = (m: ReturnType<typeof decode>) =>
  (
    (
      m.additionals?.find((a) => a.type === 'OPT') as unknown as {
        options: { code: number; family: number; sourcePrefixLength: number; scopePrefixLength: number; ip: string }[];
      }
    )?.options ?? []
  ).map(({ family, sourcePrefixLength, scopePrefixLength, ip }) => ({ family, sourcePrefixLength, scopePrefixLength, ip }));

describe('answers', () => {
  it('A for a DNS-only load balancer: the origin steering picks, TTL and max-age are the load balancer ttl, AA set, RD copied, ID kept', async () => {
    const r = await ask(query('dns.example.com', 'A', { id: 7 }));
    expect(r).toMatchObject({ rcode: 'NOERROR', aa: true, rd: true, maxAge: 60 });
    expect(r.m.id).toBe(7);
    expect(r.m.questions).toEqual([{ name: 'dns.example.com', type: 'A', class: 'IN' }]);
    expect(r.answers).toEqual([['A', 'dns.example.com', 60, '192.0.2.1']]);
    // The weighted random draw picks the second origin with a draw in its half.
    expect((await ask(query('dns.example.com'), context({ draws: [0.75] }))).answers).toEqual([['A', 'dns.example.com', 60, '192.0.2.2']]);
  });

  it('an unhealthy origin is never answered; with none usable anywhere, SERVFAIL (traffic would get 503)', async () => {
    const downU1 = context({ usable: (pool, i) => !(pool.id === 'us' && i === 0), draws: [0, 0.3, 0.6, 0.9] });
    const seen = new Set<unknown>();
    for (let i = 0; i < 8; i++) seen.add((await ask(query('dns.example.com'), downU1)).answers[0]![3]);
    expect([...seen]).toEqual(['192.0.2.2']);
    const usDown = await ask(query('dns.example.com'), context({ usable: (pool) => pool.id !== 'us' }));
    expect(usDown.answers).toEqual([['A', 'dns.example.com', 60, '192.0.2.100']]); // fallback pool
    expect((await ask(query('dns.example.com'), context({ usable: () => false }))).rcode).toBe('SERVFAIL');
  });

  it('geo steering by the request country; AAAA from the chosen pool, NODATA when it has no origin of that family', async () => {
    const de = context({ place: { country: 'DE' } });
    expect((await ask(query('dns.example.com', 'A'), de)).answers).toEqual([['A', 'dns.example.com', 60, '198.51.100.1']]);
    expect((await ask(query('dns.example.com', 'AAAA'), de)).answers).toEqual([['AAAA', 'dns.example.com', 60, '2001:db8::1']]);
    const us = await ask(query('dns.example.com', 'AAAA'), context({ place: { country: 'US' } }));
    expect(us).toMatchObject({ rcode: 'NOERROR', aa: true, answers: [], maxAge: 60 });
    expect(us.m.authorities).toEqual([]);
  });

  it('a hostname origin answers CNAME; a wildcard name answers the names under it, with the name as asked', async () => {
    expect((await ask(query('A.Wild.Example.com', 'A'))).answers).toEqual([['CNAME', 'A.Wild.Example.com', 30, 'origin.example.net']]);
    expect((await ask(query('x.y.wild.example.com', 'CNAME'))).answers).toEqual([['CNAME', 'x.y.wild.example.com', 30, 'origin.example.net']]);
    expect((await ask(query('wild.example.com'))).rcode).toBe('REFUSED'); // a wildcard needs a label in front
  });

  it('unsupported QTYPE for our name: NODATA (NOERROR, no answer, no authority)', async () => {
    for (const type of ['MX', 'TXT', 'SOA', 'ANY'] as const) {
      const r = await ask(query('dns.example.com', type));
      expect([r.rcode, r.aa, r.answers, r.m.authorities]).toEqual(['NOERROR', true, [], []]);
    }
    expect((await ask(query('dns.example.com', 'CNAME'))).answers).toEqual([]); // an IP origin has no CNAME
  });

  it('REFUSED, with the question repeated and no cache lifetime: names not ours, proxied and disabled load balancers, class CH', async () => {
    for (const name of ['example.org', 'proxied.example.com', 'off.example.com', 'com']) {
      const r = await ask(query(name));
      expect([r.rcode, r.aa, r.answers, r.maxAge, r.m.questions![0]!.name]).toEqual(['REFUSED', false, [], undefined, name]);
    }
    const chaos = query('dns.example.com');
    chaos[chaos.length - 1] = 3; // QCLASS CH
    expect((await ask(chaos)).rcode).toBe('REFUSED');
  });

  it('health that fails answers SERVFAIL (never throws)', async () => {
    const broken = context({ health: () => Promise.reject(new Error('LbState down')) });
    const errors: unknown[] = [];
    const a = (await answerDoh(query('dns.example.com'), broken, (e) => errors.push(e)))!;
    expect(decode(a.message).rcode).toBe('SERVFAIL');
    expect(errors).toHaveLength(1);
  });
});

describe('EDNS Client Subnet', () => {
  it('prefer_ecs always: the subnet is the client of ip hashing; echoed with SCOPE = SOURCE PREFIX-LENGTH', async () => {
    const a = await ask(query('always.example.com', 'A', { ecs: '198.51.100.0/24' }));
    const b = await ask(query('always.example.com', 'A', { ecs: '198.51.100.0/24' }), context({ clientIp: '10.9.9.9' }));
    expect(a.answers).toEqual(b.answers); // the resolver's own address does not matter
    expect(ecsOf(a.m)).toEqual([{ family: 1, sourcePrefixLength: 24, scopePrefixLength: 24, ip: '198.51.100.0' }]);
    const picks = new Set<unknown>();
    for (let i = 0; i < 16; i++) picks.add((await ask(query('always.example.com', 'A', { ecs: `10.${i}.0.0/16` }))).answers[0]![3]);
    expect(picks.size).toBeGreaterThan(1); // different subnets hash to different origins
  });

  it('prefer_ecs never: the DoH client address hashes; the option is echoed with SCOPE 0', async () => {
    const a = await ask(query('never.example.com', 'A', { ecs: '198.51.100.0/24' }), context({ clientIp: '192.0.2.53' }));
    const plain = await ask(query('never.example.com', 'A'), context({ clientIp: '192.0.2.53' }));
    expect(a.answers).toEqual(plain.answers);
    expect(ecsOf(a.m)).toEqual([{ family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: '198.51.100.0' }]);
  });

  it('SOURCE PREFIX-LENGTH 0 (the client opted out) is never used; IPv6 subnets are echoed as sent', async () => {
    const a = await ask(query('always.example.com', 'A', { ecs: '0.0.0.0/0' }), context({ clientIp: '192.0.2.53' }));
    expect(ecsOf(a.m)).toEqual([{ family: 1, sourcePrefixLength: 0, scopePrefixLength: 0, ip: '0.0.0.0' }]);
    const v6 = await ask(query('always.example.com', 'A', { ecs: '2001:db8:abcd::/48' }));
    expect(ecsOf(v6.m)).toEqual([{ family: 2, sourcePrefixLength: 48, scopePrefixLength: 48, ip: '2001:db8:abcd::' }]);
  });

  it('prefer_ecs proximity (the default) with proximity steering: the subnet located by geolocate steers; unlocatable falls back to request.cf', async () => {
    const geolocate = (s: { address: string }) => (s.address.startsWith('198.51.100.') ? { latitude: 48.9, longitude: 2.35 } : undefined);
    const fromUs = { latitude: 40.7, longitude: -74 };
    const paris = await ask(query('near.example.com', 'A', { ecs: '198.51.100.0/24' }), context({ place: fromUs, geolocate }));
    expect(paris.answers[0]![3]).toBe('198.51.100.1');
    expect(ecsOf(paris.m)[0]!.scopePrefixLength).toBe(24);
    const unknown = await ask(query('near.example.com', 'A', { ecs: '192.0.2.0/24' }), context({ place: fromUs, geolocate }));
    expect(unknown.answers[0]![3]).toBe('192.0.2.1');
    expect(ecsOf(unknown.m)[0]!.scopePrefixLength).toBe(0);
    // dns.example.com steers by geo, so prefer_ecs proximity does not apply to it.
    const geo = await ask(
      query('dns.example.com', 'A', { ecs: '198.51.100.0/24' }),
      context({ place: { country: 'US' }, geolocate: () => ({ country: 'DE' }) }),
    );
    expect(geo.answers[0]![3]).toBe('192.0.2.1');
  });

  it('an OPT record without ECS is answered with an OPT record (RFC 6891 §7), and none without', async () => {
    const r = await ask(query('dns.example.com', 'A', { edns: true }));
    expect(r.m.additionals).toMatchObject([{ type: 'OPT', name: '.', udpPayloadSize: 1232, ednsVersion: 0, options: [] }]);
    expect((await ask(query('dns.example.com'))).m.additionals).toEqual([]);
  });

  it('a config change is seen in the next answer (the snapshot decides)', async () => {
    const s = snapshot({
      pools: [{ id: 'p', name: 'p', origins: [{ name: 'n', address: '192.0.2.77' }] }],
      load_balancers: [{ id: 'l', name: 'dns.example.com', proxied: false, ttl: 5, default_pools: ['p'], fallback_pool: 'p' }],
    });
    expect((await ask(query('dns.example.com'), context({ snapshot: s }))).answers).toEqual([['A', 'dns.example.com', 5, '192.0.2.77']]);
  });
});
