import { describe, expect, it } from 'vitest';
import { LoadBalancerSchema, OriginSchema, type LoadBalancer } from '../config/index.ts';
import { affinityKey, cookieValue, inDrainWindow, readPin, setCookieHeader, signPin, withoutCookie } from './index.ts';

const lb = (extra: object = {}) =>
  ({
    ...LoadBalancerSchema.parse({ name: 'a.example.com', default_pools: ['p'], fallback_pool: 'p', session_affinity: 'cookie', ...extra }),
    id: 'lb1',
    created_on: '',
    modified_on: '',
  }) as LoadBalancer;

describe('affinity cookie', () => {
  it('round-trips a sealed pin and rejects tampering, another load balancer, expiry and another key', async () => {
    const key = await affinityKey('secret');
    const value = await signPin(key, 'lb1', { poolId: 'p', origin: 'a', expiresAt: 2000 });
    expect(await readPin(key, 'lb1', value, 1000)).toEqual({ poolId: 'p', origin: 'a', expiresAt: 2000 });
    expect(await readPin(key, 'lb2', value, 1000)).toBeUndefined();
    expect(await readPin(key, 'lb1', value, 2000)).toBeUndefined();
    const other = await affinityKey('other');
    expect(await readPin(other, 'lb1', value, 1000)).toBeUndefined();
    expect(await readPin([other, key], 'lb1', value, 1000)).toMatchObject({ origin: 'a' }); // a rotated-out key still reads
    const flipped = value.slice(0, 20) + (value[20] === 'A' ? 'B' : 'A') + value.slice(21);
    expect(await readPin(key, 'lb1', flipped, 1000)).toBeUndefined();
    for (const junk of ['', 'x', '.', 'a.b', '%%%.***', 'A'.repeat(2000)]) expect(await readPin(key, 'lb1', junk, 1000)).toBeUndefined();
  });

  it('reveals no internal name: load balancer, pool and origin are not readable from the cookie', async () => {
    const value = await signPin(await affinityKey('secret'), 'lb-payments', { poolId: 'pool-eu', origin: 'db-primary', expiresAt: 2000 });
    const text = atob(value.replace(/-/g, '+').replace(/_/g, '/'));
    for (const name of ['lb-payments', 'pool-eu', 'db-primary', '2000']) expect(text).not.toContain(name);
  });

  it('reads and removes our cookie, leaving the others', () => {
    const header = 'a=1; __cflb=xyz; b=2';
    expect(cookieValue(header, '__cflb')).toBe('xyz');
    expect(withoutCookie(header, '__cflb')).toBe('a=1; b=2');
    expect(withoutCookie('__cflb=xyz', '__cflb')).toBeNull();
    // Two Cookie fields, as the Headers API combines them (", "): ours is found and stripped.
    const crumbs = new Headers([
      ['cookie', 'a=1'],
      ['cookie', '__cflb=xyz; b=2'],
    ]).get('cookie');
    expect(cookieValue(crumbs, '__cflb')).toBe('xyz');
    expect(withoutCookie(crumbs, '__cflb')).toBe('a=1; b=2');
  });

  it('sets attributes as configured', () => {
    expect(setCookieHeader(lb(), 'v', false)).toBe('__cflb=v; Max-Age=82800; Path=/; HttpOnly; SameSite=Lax');
    expect(setCookieHeader(lb(), 'v', true)).toBe('__cflb=v; Max-Age=82800; Path=/; HttpOnly; SameSite=Lax; Secure');
    expect(setCookieHeader(lb({ session_affinity_ttl: 3600, session_affinity_attributes: { samesite: 'None', secure: 'Never' } }), 'v', false)).toBe(
      '__cflb=v; Max-Age=3600; Path=/; HttpOnly; SameSite=None; Secure',
    );
  });
});

describe('endpoint drain (drain_duration)', () => {
  const at = Date.parse('2026-01-01T00:00:00Z');
  const origin = (extra: object) => OriginSchema.parse({ name: 'a', address: '127.0.0.1', disabled_at: '2026-01-01T00:00:00Z', ...extra });
  it('keeps a disabled or draining origin for drain_duration seconds after disabled_at, and no longer', () => {
    expect(inDrainWindow(origin({ enabled: false }), 60, at + 59_999)).toBe(true);
    expect(inDrainWindow(origin({ drain: true }), 60, at + 1)).toBe(true);
    expect(inDrainWindow(origin({ enabled: false }), 60, at + 60_000)).toBe(false);
    expect(inDrainWindow(origin({ enabled: false }), 0, at + 1)).toBe(false);
  });
  it('does not apply to an enabled origin or one without disabled_at', () => {
    expect(inDrainWindow(origin({}), 60, at + 1)).toBe(false);
    expect(inDrainWindow(origin({ enabled: false, disabled_at: undefined }), 60, at + 1)).toBe(false);
  });
});
