import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { parseAddress } from './ip.ts';
import { compiled, view } from './test-helpers.ts';

/** ipaddr.js as the oracle: the address as bytes, IPv4-mapped IPv6 as IPv4 (its `process()`). */
function oracle(text: string): { v6: boolean; bytes: number[] } {
  const a = ipaddr.process(text);
  return { v6: a.kind() === 'ipv6', bytes: a.toByteArray() };
}
function bytesOf(words: readonly number[]): number[] {
  return words.flatMap((w) => [w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255]);
}

describe('parseAddress (the request side)', () => {
  it('agrees with ipaddr.js on IPv4 and on IPv6 in compressed, full and mixed notation', () => {
    const v6 = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 });
    fc.assert(
      fc.property(fc.oneof(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), v6), (parts) => {
        const texts =
          parts.length === 4
            ? [parts.join('.')]
            : (() => {
                const a = new ipaddr.IPv6(parts);
                const mixed = `${parts
                  .slice(0, 6)
                  .map((p) => p.toString(16))
                  .join(':')}:${parts[6]! >> 8}.${parts[6]! & 255}.${parts[7]! >> 8}.${parts[7]! & 255}`;
                return [
                  a.toString(),
                  a.toNormalizedString(),
                  parts
                    .map((p) => p.toString(16).padStart(4, '0'))
                    .join(':')
                    .toUpperCase(),
                  mixed,
                ];
              })();
        for (const text of texts) {
          const mine = parseAddress(text);
          expect(mine, text).toBeDefined();
          expect({ v6: mine!.v6, bytes: bytesOf(mine!.words) }, text).toEqual(oracle(text));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it.each(['::', '::1', '1::', '::ffff:192.0.2.1', '2001:db8::', 'fe80::1:2', '0.0.0.0', '255.255.255.255', '::ffff:c000:201'])(
    '%s as ipaddr.js reads it',
    (text) => {
      const mine = parseAddress(text)!;
      expect({ v6: mine.v6, bytes: bytesOf(mine.words) }).toEqual(oracle(text));
    },
  );

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1..2.3',
    'a.b.c.d',
    ':',
    ':::',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    '12345::',
    '1:2:3:4:5:6:7',
    'example.com',
    '1.2.3.4/24',
  ])('%j is not an address (missing ip.src)', (text) => {
    expect(parseAddress(text)).toBeUndefined();
  });
});

describe('ip.src with IPv4 and IPv6 addresses, CIDR sets and ranges', () => {
  const set = 'ip.src in {192.0.2.0/24 10.0.0.0/8 198.51.100.3..198.51.100.7 203.0.113.9 2001:db8::/32 2001:db8:ffff::/48 fd00::1..fd00::ff ::1}';
  const cases: [string | undefined, boolean][] = [
    ['192.0.2.0', true],
    ['192.0.2.255', true],
    ['192.0.3.0', false],
    ['10.255.255.255', true],
    ['11.0.0.0', false],
    ['198.51.100.2', false],
    ['198.51.100.3', true],
    ['198.51.100.7', true],
    ['198.51.100.8', false],
    ['203.0.113.9', true],
    ['203.0.113.10', false],
    ['::ffff:192.0.2.1', true], // IPv4-mapped counts as IPv4
    ['2001:db8::1', true],
    ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['2001:db9::', false],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', true],
    ['fd00::80', true],
    ['fd00::100', false],
    ['::1', true],
    ['::2', false],
    ['::c000:201', false], // 192.0.2.1 as an IPv4-compatible (not mapped) address stays IPv6
    [undefined, false], // unknown client address: missing, so false
    ['not-an-ip', false],
  ];
  const p = compiled(set);
  const negated = compiled(`not ${set}`);
  it.each(cases)('%s', (clientIp, expected) => {
    const r = view({ clientIp });
    expect(p(r)).toBe(expected);
    expect(negated(r)).toBe(!expected);
  });

  it('prefix lengths at the edges: /0 holds every address of its family, /32 and /128 one', () => {
    const any4 = compiled('ip.src in {0.0.0.0/0}');
    const any6 = compiled('ip.src in {::/0}');
    expect([any4(view({ clientIp: '255.1.2.3' })), any4(view({ clientIp: '2001:db8::1' }))]).toEqual([true, false]);
    expect([any6(view({ clientIp: '255.1.2.3' })), any6(view({ clientIp: '2001:db8::1' }))]).toEqual([false, true]);
    const one = compiled('ip.src in {192.0.2.7/32 2001:db8::7/128}');
    expect(['192.0.2.7', '192.0.2.8', '2001:db8::7', '2001:db8::8'].map((ip) => one(view({ clientIp: ip })))).toEqual([true, false, true, false]);
    const odd = compiled('ip.src in {192.0.2.128/25 2001:db8:8000::/33}'); // prefixes that split a byte and a 32-bit word
    expect(['192.0.2.127', '192.0.2.128', '2001:db8:7fff::', '2001:db8:8000::'].map((ip) => odd(view({ clientIp: ip })))).toEqual([false, true, false, true]);
  });

  it('host bits in a CIDR are ignored (192.0.2.77/24 is 192.0.2.0/24)', () => {
    expect(compiled('ip.src in {192.0.2.77/24}')(view({ clientIp: '192.0.2.1' }))).toBe(true);
  });

  it('eq and ne compare one address; missing is false for both', () => {
    const eq = compiled('ip.src eq 2001:db8::1');
    const ne = compiled('ip.src ne 2001:db8::1');
    expect([eq, ne].map((f) => f(view({ clientIp: '2001:0db8:0:0::1' })))).toEqual([true, false]);
    expect([eq, ne].map((f) => f(view({ clientIp: '192.0.2.1' })))).toEqual([false, true]);
    expect([eq, ne].map((f) => f(view({})))).toEqual([false, false]);
  });
});
