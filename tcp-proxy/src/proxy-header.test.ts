/** PROXY protocol framing and building (proxy-protocol-js parses and builds), and the firewall's CIDR matching (ipaddr.js). */
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { compileFirewall } from './firewall.ts';
import { buildProxyHeader, frameProxyHeader } from './proxy-header.ts';

const src = { address: '203.0.113.7', port: 40000 };
const dst = { address: '192.0.2.1', port: 5432 };

describe('PROXY protocol', () => {
  it('round-trips v1 and v2 headers, IPv4 and IPv6, keeping what follows', () => {
    for (const version of ['v1', 'v2'] as const) {
      for (const [s, d] of [
        [src, dst],
        [
          { address: '2001:db8::7', port: 1 },
          { address: '2001:db8::1', port: 2 },
        ],
      ] as const) {
        const framed = frameProxyHeader(Buffer.concat([buildProxyHeader(version, s, d), Buffer.from('rest')]));
        expect(framed, version).toEqual({ header: { source: s, destination: d }, rest: Buffer.from('rest') });
      }
    }
    expect(buildProxyHeader('v1', src, dst).toString()).toBe('PROXY TCP4 203.0.113.7 192.0.2.1 40000 5432\r\n');
  });

  it('sends mixed families as IPv4-mapped IPv6', () => {
    expect(buildProxyHeader('v1', src, { address: '::1', port: 9 }).toString()).toBe('PROXY TCP6 ::ffff:cb00:7107 ::1 40000 9\r\n');
  });

  it('waits for more of a partial header, refuses a malformed or missing one', () => {
    const v2 = buildProxyHeader('v2', src, dst);
    expect(frameProxyHeader(v2.subarray(0, 10))).toBe('more');
    expect(frameProxyHeader(v2.subarray(0, 20))).toBe('more');
    expect(frameProxyHeader(Buffer.from('PROXY TCP4 1.2'))).toBe('more');
    expect(() => frameProxyHeader(Buffer.from('PROXY TCP4 nonsense\r\n'))).toThrow();
    expect(() => frameProxyHeader(Buffer.from(`PROXY ${'x'.repeat(120)}`))).toThrow(/longer than 107/);
    expect(() => frameProxyHeader(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(/does not start with a PROXY protocol header/);
  });
});

describe('ip_firewall', () => {
  it('allows listed blocks only, denies over allow, matches IPv4-mapped IPv6 as IPv4, refuses what does not parse', () => {
    const fw = compileFirewall({ allow: ['10.0.0.0/8', '2001:db8::/32'], deny: ['10.6.6.0/24', '2001:db8::bad'] });
    expect(['10.1.2.3', '::ffff:10.1.2.3', '2001:db8::1'].map(fw)).toEqual([true, true, true]);
    expect(['10.6.6.6', '2001:db8::bad', '192.0.2.1', '2001:db9::1', 'garbage'].map(fw)).toEqual([false, false, false, false, false]);
    expect(compileFirewall({ allow: [], deny: ['192.0.2.0/24'] })('198.51.100.1')).toBe(true);
  });
});
