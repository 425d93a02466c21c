import { afterEach, describe, expect, it, vi } from 'vitest';
import { affinityKey, readPin } from '../../core/affinity/index.ts';
import { LoadBalancerSchema, PoolSchema, type LoadBalancer, type Pool } from '../../core/config/index.ts';
import type { Candidate } from '../../core/route/index.ts';
import { CookieAffinity, CookieMemo, EXPIRY_BUCKET_S } from './index.ts';

const lb: LoadBalancer = {
  ...LoadBalancerSchema.parse({ name: 'app.example.com', default_pools: ['p'], fallback_pool: 'p', session_affinity: 'cookie', session_affinity_ttl: 1800 }),
  id: 'lb1',
  created_on: '',
  modified_on: '',
};
const pool: Pool = {
  ...PoolSchema.parse({ name: 'p', origins: ['a', 'b'].map((n) => ({ name: n, address: '192.0.2.1' })) }),
  id: 'p',
  created_on: '',
  modified_on: '',
};
const at = (i: number): Candidate => ({ pool, poolRank: 0, origin: pool.origins[i]!, originIndex: i });
const request = (value?: string) => ({ header: () => null, cookie: () => value });

async function issued(affinity: CookieAffinity, i: number): Promise<string> {
  const res = await affinity.write(lb, request(), at(i), new Response('ok'), true);
  return /^__cflb=([^;]+)/.exec(res.headers.get('set-cookie')!)![1]!;
}

afterEach(() => vi.restoreAllMocks());

describe('cookie affinity with the isolate memo', () => {
  it('seals one value per origin and expiry bucket, which reads back to its pin', async () => {
    let now = 1_000_000_000_000; // ms
    const keys = Promise.all([affinityKey('k1')]);
    const affinity = new CookieAffinity(keys, () => now, new CookieMemo());
    const [a1, a2, b1] = [await issued(affinity, 0), await issued(affinity, 0), await issued(affinity, 1)];
    expect(a2).toBe(a1);
    expect(b1).not.toBe(a1);
    const pin = await readPin(await keys, lb.id, a1, now / 1000);
    expect(pin).toEqual({ poolId: 'p', origin: 'a', expiresAt: Math.ceil((now / 1000 + 1800) / EXPIRY_BUCKET_S) * EXPIRY_BUCKET_S });
    expect(pin!.expiresAt - (now / 1000 + 1800)).toBeLessThan(EXPIRY_BUCKET_S);
    now += EXPIRY_BUCKET_S * 1000;
    expect(await issued(affinity, 0)).not.toBe(a1);
  });

  it('decrypts a value once, honours it from memory until it expires, and never remembers a forgery', async () => {
    let now = 1_000_000_000_000;
    const keys = Promise.all([affinityKey('k1')]);
    const memo = new CookieMemo();
    const value = await issued(new CookieAffinity(keys, () => now, new CookieMemo()), 1);
    const decrypt = vi.spyOn(crypto.subtle, 'decrypt');
    const affinity = new CookieAffinity(keys, () => now, memo);
    expect(await affinity.read(lb, request(value))).toMatchObject({ poolId: 'p', origin: 'b' });
    expect(await affinity.read(lb, request(value))).toMatchObject({ poolId: 'p', origin: 'b' });
    expect(decrypt).toHaveBeenCalledTimes(1);
    expect(await affinity.read({ ...lb, id: 'lb2' }, request(value))).toBeUndefined(); // bound to its load balancer
    const forged = `${value.slice(0, -2)}${value.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(await affinity.read(lb, request(forged))).toBeUndefined();
    expect(memo.size).toBe(1);
    now += 1900 * 1000;
    expect(await affinity.read(lb, request(value))).toBeUndefined();
  });

  it('forgets everything when the keys change, and stays within its cap', async () => {
    const now = 1_000_000_000_000;
    const old = Promise.all([affinityKey('old')]);
    const memo = new CookieMemo(2);
    const value = await issued(new CookieAffinity(old, () => now, memo), 0);
    expect(memo.size).toBe(2); // sealed and verified
    const fresh = Promise.all([affinityKey('new')]);
    const rotated = new CookieAffinity(fresh, () => now, memo);
    expect(memo.size).toBe(0);
    expect(await rotated.read(lb, request(value))).toBeUndefined();
    const values = new Set<string>();
    for (let i = 0; i < 5; i++) values.add(await issued(new CookieAffinity(fresh, () => now + i * EXPIRY_BUCKET_S * 1000, memo), 0));
    expect(values.size).toBe(5);
    expect(memo.size).toBe(4); // two of each kind
  });
});
