import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LoadBalancerSchema, PoolSchema, type LoadBalancer, type Pool, type PoolInput } from '../../core/config/index.ts';
import { memoryProvider } from '../memory/index.ts';
import type { DnsRecord, NameState, Owner } from '../provider.ts';
import { applied, desiredRecords, isEmpty, plan, rfc5952 } from './index.ts';

const stored = { created_on: '', modified_on: '' };
const poolOf = (id: string, origins: PoolInput['origins'], more: Partial<PoolInput> = {}) =>
  ({ ...PoolSchema.parse({ name: id, origins, ...more }), id, ...stored }) as Pool;
const lbOf = (more: object = {}) =>
  ({
    ...LoadBalancerSchema.parse({
      name: 'app.example.com',
      proxied: false,
      ttl: 60,
      default_pools: ['a', 'b'],
      fallback_pool: 'c',
      dns: { zone: 'z' },
      ...more,
    }),
    id: 'lb1',
    ...stored,
  }) as LoadBalancer;
const o = (name: string, address: string, more: object = {}) => ({ name, address, ...more });
const owner: Owner = { ownerId: 'edge-lb', lbId: 'lb1' };
const NONE: NameState = { records: [], foreign: 0 };
/** Usable unless named in `down` ("pool/origin"). */
const usableBut =
  (...down: string[]) =>
  (pool: Pool, i: number) =>
    !down.includes(`${pool.id}/${pool.origins[i]!.name}`);
const contents = (records: DnsRecord[]) => records.map((r) => `${r.type} ${r.content} ${r.ttl}`);

const pools = () => [
  poolOf('a', [o('a1', '192.0.2.1'), o('a2', '2001:DB8:0:0:0:0:0:1'), o('a3', '192.0.2.3', { drain: true }), o('a4', '192.0.2.4', { enabled: false })]),
  poolOf('b', [o('b1', '198.51.100.1'), o('b2', '198.51.100.2')], { minimum_origins: 2 }),
  poolOf('c', [o('c1', '203.0.113.1'), o('c2', '203.0.113.2', { enabled: false })]),
];

describe('desiredRecords', () => {
  it('publishes the usable origins of the first healthy pool: A and AAAA (RFC 5952), TTL from the load balancer, no disabled or draining origin', () => {
    const d = desiredRecords(lbOf(), pools(), usableBut());
    expect(d).toMatchObject({ name: 'app.example.com', pool: 'a', basis: 'healthy', notes: [] });
    expect(contents(d.records)).toEqual(['A 192.0.2.1 60', 'AAAA 2001:db8::1 60']);
    expect(d.records.every((r) => r.name === 'app.example.com' && r.id === undefined)).toBe(true);
  });

  it('follows the failover order: default_pools in order, a pool counts with minimum_origins usable, then the fallback pool', () => {
    const down = ['a/a1', 'a/a2'];
    expect(desiredRecords(lbOf(), pools(), usableBut(...down))).toMatchObject({ pool: 'b', basis: 'healthy' });
    // b needs 2 usable origins: with one down it does not count, c (the fallback) does.
    const d = desiredRecords(lbOf(), pools(), usableBut(...down, 'b/b2'));
    expect(d).toMatchObject({ pool: 'c', basis: 'healthy' });
    expect(contents(d.records)).toEqual(['A 203.0.113.1 60']);
    // The order is the load balancer's, not the list's.
    expect(desiredRecords(lbOf({ default_pools: ['b', 'a'] }), pools(), usableBut())).toMatchObject({ pool: 'b' });
    // A disabled pool is skipped.
    const [a, b, c] = pools();
    expect(desiredRecords(lbOf(), [{ ...a!, enabled: false }, b!, c!], usableBut())).toMatchObject({ pool: 'b' });
  });

  it("with no pool at minimum_origins, publishes routing's last resort: the first pool with any usable origin", () => {
    const d = desiredRecords(lbOf(), pools(), usableBut('a/a1', 'a/a2', 'b/b2', 'c/c1'));
    expect(d).toMatchObject({ pool: 'b', basis: 'last_resort' });
    expect(contents(d.records)).toEqual(['A 198.51.100.1 60']);
  });

  it("never answers empty: with nothing usable, the fallback pool's enabled origins", () => {
    const d = desiredRecords(lbOf(), pools(), () => false);
    expect(d).toMatchObject({ pool: 'c', basis: 'fallback' });
    expect(contents(d.records)).toEqual(['A 203.0.113.1 60']); // c2 is disabled
  });

  it('publishes a CNAME only when one hostname origin is the whole answer, and notes a hostname among addresses', () => {
    const alone = [poolOf('a', [o('h', 'Origin.Example.NET')]), poolOf('c', [o('c1', '203.0.113.1')])];
    expect(contents(desiredRecords(lbOf(), alone, usableBut()).records)).toEqual(['CNAME origin.example.net 60']);
    const mixed = [poolOf('a', [o('h', 'origin.example.net'), o('v4', '192.0.2.1')]), poolOf('c', [o('c1', '203.0.113.1')])];
    const d = desiredRecords(lbOf(), mixed, usableBut());
    expect(contents(d.records)).toEqual(['A 192.0.2.1 60']);
    expect(d.notes).toEqual([expect.stringMatching(/^origin h \(origin\.example\.net\) left out: a hostname cannot be published beside addresses/)]);
    // Two hostnames: one CNAME, the heavier one; the other noted.
    const two = [poolOf('a', [o('h1', 'one.example.net', { weight: 0.5 }), o('h2', 'two.example.net')]), poolOf('c', [o('c1', '203.0.113.1')])];
    const t = desiredRecords(lbOf(), two, usableBut());
    expect(contents(t.records)).toEqual(['CNAME two.example.net 60']);
    expect(t.notes).toEqual([expect.stringMatching(/^origin h1 .* left out: a CNAME stands alone/)]);
  });

  it('publishes at most max_records (default 8): the heaviest origins, then by name; one record per address', () => {
    const many = Array.from({ length: 12 }, (_, i) => o(`o${String(i).padStart(2, '0')}`, `192.0.2.${i + 1}`, { weight: i === 11 ? 1 : 0.5 }));
    const ps = [poolOf('a', many), poolOf('c', [o('c1', '203.0.113.1')])];
    const d = desiredRecords(lbOf(), ps, usableBut());
    expect(d.records).toHaveLength(8);
    expect(d.records.map((r) => r.content).sort()).toEqual([
      '192.0.2.1',
      '192.0.2.12',
      '192.0.2.2',
      '192.0.2.3',
      '192.0.2.4',
      '192.0.2.5',
      '192.0.2.6',
      '192.0.2.7',
    ]);
    expect(d.notes.filter((n) => n.includes('max_records is 8'))).toHaveLength(4);
    expect(desiredRecords(lbOf({ dns: { zone: 'z', max_records: 2 } }), ps, usableBut()).records.map((r) => r.content)).toEqual(['192.0.2.1', '192.0.2.12']);
    const dup = desiredRecords(
      lbOf(),
      [poolOf('a', [o('x', '192.0.2.1', { port: 80 }), o('y', '192.0.2.1', { port: 8080 })]), poolOf('c', [o('c1', '203.0.113.1')])],
      usableBut(),
    );
    expect(contents(dup.records)).toEqual(['A 192.0.2.1 60']);
    expect(dup.notes).toEqual(['origin y left out: 192.0.2.1 is published already']);
  });

  it('writes IPv6 in RFC 5952 text', () => {
    expect(rfc5952('2001:0DB8:0000:0000:0001:0000:0000:0001')).toBe('2001:db8::1:0:0:1');
    expect(rfc5952('::1')).toBe('::1');
  });
});

describe('plan', () => {
  const rec = (content: string, ttl = 60, id?: string): DnsRecord => ({ name: 'app.example.com', type: 'A', content, ttl, ...(id && { id }) });
  const desired = (...records: DnsRecord[]) => ({ name: 'app.example.com', records });

  it('keeps records equal by type, content and TTL; removes the rest with their ids; adds what is missing', () => {
    const state: NameState = { records: [rec('192.0.2.1', 60, 'r1'), rec('192.0.2.2', 60, 'r2'), rec('192.0.2.3', 30, 'r3')], foreign: 0, revision: '7' };
    const c = plan(desired(rec('192.0.2.1'), rec('192.0.2.3'), rec('192.0.2.4')), state, owner);
    expect(c.before).toBe(state);
    expect(c.owner).toEqual(owner);
    expect(c.remove.map((r) => r.id)).toEqual(['r2', 'r3']); // r3: the TTL changed
    expect(contents(c.add)).toEqual(['A 192.0.2.3 60', 'A 192.0.2.4 60']);
    expect(isEmpty(plan(desired(rec('192.0.2.1')), { records: [rec('192.0.2.1', 60, 'r1')], foreign: 0 }, owner))).toBe(true);
  });

  it('empty desired records remove everything we own (unpublishing)', () => {
    const c = plan(desired(), { records: [rec('192.0.2.1', 60, 'r1')], foreign: 2 }, owner);
    expect(c.remove.map((r) => r.id)).toEqual(['r1']);
    expect(c.add).toEqual([]);
  });

  // Any desired set, any starting set we own: applying the plan leaves nothing to do.
  const record = fc.record({
    type: fc.constantFrom<'A' | 'AAAA'>('A', 'AAAA'),
    content: fc.integer({ min: 1, max: 6 }).map(String),
    ttl: fc.constantFrom(30, 60),
  });
  const set = fc.uniqueArray(record, { selector: (r) => `${r.type} ${r.content} ${r.ttl}`, maxLength: 6 });
  const toRecords = (rs: { type: 'A' | 'AAAA'; content: string; ttl: number }[]) =>
    rs.map((r) => ({ name: 'app.example.com', ...r, content: r.type === 'A' ? `192.0.2.${r.content}` : `2001:db8::${r.content}` }));

  it('is idempotent: plan(desired, apply(plan(desired, state))) is empty (pure apply)', () => {
    fc.assert(
      fc.property(set, set, (want, have) => {
        const first = plan(desired(...toRecords(want)), { records: toRecords(have), foreign: 0 }, owner);
        expect(isEmpty(plan(desired(...toRecords(want)), { records: applied(first), foreign: 0 }, owner))).toBe(true);
      }),
      { seed: 9, numRuns: 500 },
    );
  });

  it('is idempotent through the in-memory provider: the second run sends no change', async () => {
    await fc.assert(
      fc.asyncProperty(
        set.filter((s) => new Set(s.map((r) => `${r.type}${r.content}`)).size === s.length),
        set,
        async (want, have) => {
          const provider = memoryProvider('example.com');
          for (const r of toRecords(have)) {
            const stateNow = await provider.read('app.example.com', owner);
            if (!stateNow.records.some((s) => s.type === r.type && s.content === r.content))
              await provider.apply(plan(desired(...stateNow.records, r), stateNow, owner));
          }
          const d = desired(...toRecords(want));
          await provider.apply(plan(d, await provider.read('app.example.com', owner), owner));
          const again = plan(d, await provider.read('app.example.com', owner), owner);
          expect(again.remove).toEqual([]);
          expect(again.add).toEqual([]);
        },
      ),
      { seed: 9, numRuns: 200 },
    );
  });

  it('plans from what desiredRecords answered against nothing, and is empty once applied', () => {
    const d = desiredRecords(lbOf(), pools(), usableBut());
    const first = plan(d, NONE, owner);
    expect(contents(first.add)).toEqual(['A 192.0.2.1 60', 'AAAA 2001:db8::1 60']);
    expect(isEmpty(plan(d, { records: applied(first), foreign: 0 }, owner))).toBe(true);
  });
});
