import { describe, expect, it } from 'vitest';
import { LoadBalancerSchema, type LoadBalancer } from '../config/index.ts';
import { effectivePolicy, haversineKm, steerPools } from './pools.ts';
import { regionOf } from './regions.ts';
import { seeded } from './seeded.ts';

const lb = (extra: object): LoadBalancer =>
  ({
    ...LoadBalancerSchema.parse({ name: 'a.example.com', default_pools: ['us', 'eu', 'asia'], fallback_pool: 'us', ...extra }),
    id: 'lb',
    created_on: '',
    modified_on: '',
  }) as LoadBalancer;
const at = { us: { latitude: 39.0, longitude: -77.5 }, eu: { latitude: 50.1, longitude: 8.7 }, asia: { latitude: 1.35, longitude: 103.8 } } as Record<
  string,
  { latitude: number; longitude: number }
>;
const random = seeded(1);

describe('pool steering', () => {
  it('"" means geo when a pool map is set, else off', () => {
    expect(effectivePolicy(lb({}))).toBe('off');
    expect(effectivePolicy(lb({ country_pools: { DE: ['eu'] } }))).toBe('geo');
    expect(effectivePolicy(lb({ steering_policy: 'random', country_pools: { DE: ['eu'] } }))).toBe('random');
  });

  it('geo: PoP, then country, then region, then default_pools', () => {
    const l = lb({ steering_policy: 'geo', pop_pools: { FRA: ['asia'] }, country_pools: { DE: ['eu'] }, region_pools: { SEAS: ['asia', 'eu'], WNAM: ['us'] } });
    expect(steerPools(l, { random, place: { colo: 'FRA', country: 'DE' } })).toEqual(['asia']);
    expect(steerPools(l, { random, place: { colo: 'AMS', country: 'DE' } })).toEqual(['eu']);
    expect(steerPools(l, { random, place: { country: 'SG' } })).toEqual(['asia', 'eu']);
    expect(steerPools(l, { random, place: { country: 'US', longitude: -122.4 } })).toEqual(['us']);
    expect(steerPools(l, { random, place: { country: 'BR' } })).toEqual(['us', 'eu', 'asia']);
    expect(steerPools(l, { random })).toEqual(['us', 'eu', 'asia']);
  });

  it('proximity: nearest pool first by great-circle distance; no coordinates, failover order', () => {
    const l = lb({ steering_policy: 'proximity' });
    const coordinates = (id: string) => at[id];
    expect(steerPools(l, { random, coordinates, place: { latitude: 48.86, longitude: 2.35 } })).toEqual(['eu', 'us', 'asia']); // Paris
    expect(steerPools(l, { random, coordinates, place: { latitude: 35.68, longitude: 139.69 } })).toEqual(['asia', 'eu', 'us']); // Tokyo: Frankfurt 9,350 km, Virginia 10,900 km
    expect(steerPools(l, { random, coordinates, place: {} })).toEqual(['us', 'eu', 'asia']);
    expect(Math.round(haversineKm(51.5074, -0.1278, 40.7128, -74.006))).toBe(5570); // London - New York
  });

  it('random: weighted by random_steering, zero weight last', () => {
    const l = lb({ steering_policy: 'random', random_steering: { default_weight: 0.5, pool_weights: { us: 0, eu: 1 } } });
    const r = seeded(3);
    const firsts: Record<string, number> = {};
    for (let k = 0; k < 3000; k++) {
      const order = steerPools(l, { random: r });
      expect(order.at(-1)).toBe('us');
      firsts[order[0]!] = (firsts[order[0]!] ?? 0) + 1;
    }
    expect(Math.abs(firsts.eu! / 3000 - 2 / 3)).toBeLessThan(0.03);
  });

  it('dynamic_latency: lowest latency first; without data, failover order', () => {
    const l = lb({ steering_policy: 'dynamic_latency' });
    expect(steerPools(l, { random })).toEqual(['us', 'eu', 'asia']);
    expect(steerPools(l, { random, latency: (id) => ({ us: 80, eu: 20 })[id] })).toEqual(['eu', 'us', 'asia']);
  });

  it('least_outstanding_requests: fewest requests under way per weight first', () => {
    const l = lb({ steering_policy: 'least_outstanding_requests' });
    expect(steerPools(l, { random, outstanding: (id) => ({ us: 5, eu: 1, asia: 3 })[id]! })).toEqual(['eu', 'asia', 'us']);
  });

  it('maps countries to Cloudflare regions', () => {
    expect(['DE', 'PL', 'US', 'CA', 'JP', 'IN', 'BR', 'AR', 'ZA', 'EG', 'AU', 'SA'].map((c) => regionOf(c, undefined, c === 'CA' ? -123 : -80))).toEqual([
      'WEU',
      'EEU',
      'ENAM',
      'WNAM',
      'NEAS',
      'SAS',
      'NSAM',
      'SSAM',
      'SAF',
      'NAF',
      'OC',
      'ME',
    ]);
    expect(regionOf('ZZ', 'EU')).toBe('WEU');
    expect(regionOf()).toBeUndefined();
  });
});
