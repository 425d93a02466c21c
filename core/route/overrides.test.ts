/**
 * Cloudflare's declarative rule overrides (`pools`, `pool_weights`, `pool_default_weight`):
 * validated at write time (references, mutual exclusions), mapped onto the load balancer
 * (overrideFields), and routed by the real RuleSet and route() under every steering policy.
 */
import { describe, expect, it } from 'vitest';
import { deleteResource, emptyDocument, importDocument, RuleOverridesSchema, type ConfigDocument, type LoadBalancer } from '../config/index.ts';
import { view } from '../rules/test-helpers.ts';
import { compileSnapshot, route, RuleSet } from './index.ts';
import { overrideFields } from './overrides.ts';

const ctx = { newId: () => 'x', now: () => '2026-01-01T00:00:00.000Z' };
const POOLS = ['a', 'b', 'c', 'd', 'fb'];

/** Pools a, b, c, d (with coordinates), fb, and one geo load balancer whose maps and defaults name only a, b, fb; `lb` adds fields. */
function write(rules: unknown[], lb: object = {}) {
  return importDocument(
    emptyDocument(),
    {
      pools: POOLS.map((id, i) => ({ id, name: id, latitude: 10 * i, longitude: 10 * i, origins: [{ name: `${id}1`, address: '127.0.0.1', port: 9000 }] })),
      load_balancers: [
        {
          id: 'lb',
          name: 'app.example.com',
          steering_policy: 'geo',
          default_pools: ['a', 'b'],
          fallback_pool: 'fb',
          country_pools: { DE: ['b'] },
          region_pools: { WEU: ['a'] },
          pop_pools: { FRA: ['a', 'b'] },
          rules,
          ...lb,
        },
      ],
    },
    ctx,
  );
}
function doc(rules: unknown[], lb: object = {}): ConfigDocument {
  const out = write(rules, lb);
  if (!out.ok) throw new Error(JSON.stringify(out.errors));
  return out.value;
}
const errorsOf = (out: ReturnType<typeof write>) => (out.ok ? [] : out.errors.map((e) => e.message));
const always = (overrides: object, more: object = {}) => ({ condition: '', overrides, ...more });

describe('writing the declarative overrides', () => {
  it('accepts pools, pool_weights and pool_default_weight and reads them back as written', () => {
    const o = { pools: ['c', 'd'], pool_weights: { c: 0, d: 0.5 }, pool_default_weight: 0.25 };
    expect(doc([always(o)]).load_balancers[0]!.rules[0]!.overrides).toEqual(o);
  });

  it('refuses pool_weights or pool_default_weight beside random_steering, and pools beside fixed_response, naming the field', () => {
    const out = write([
      always({ pool_weights: { a: 1 }, pool_default_weight: 0, random_steering: { default_weight: 1 } }),
      always({ pools: ['a'] }, { fixed_response: { status_code: 503 } }),
    ]);
    expect(errorsOf(out)).toEqual([
      'load_balancers[0].rules[0].overrides.pool_weights: is mutually exclusive with random_steering (its declarative alternative): set one of them',
      'load_balancers[0].rules[0].overrides.pool_default_weight: is mutually exclusive with random_steering (its declarative alternative): set one of them',
      'load_balancers[0].rules[1].overrides.pools: is mutually exclusive with fixed_response (a rule either answers or routes)',
    ]);
  });

  it('bounds them like default_pools and random_steering', () => {
    const bad = RuleOverridesSchema.safeParse({ pools: [], pool_weights: { a: 2 }, pool_default_weight: -1 });
    expect(bad.success ? [] : bad.error.issues.map((i) => i.path.join('.'))).toEqual(['pools', 'pool_weights.a', 'pool_default_weight']);
    expect(RuleOverridesSchema.safeParse({ pools: Array.from({ length: 21 }, (_, i) => `p${i}`) }).success).toBe(false);
  });

  it('refuses unknown pool ids (400 with the path) and keeps a pool they name from being deleted (409)', () => {
    expect(errorsOf(write([always({ pools: ['a', 'zz'], pool_weights: { yy: 1 } })])).map((e) => e.split(':')[0])).toEqual([
      'load_balancers[0].rules[0].overrides.pools[1]',
      'load_balancers[0].rules[0].overrides.pool_weights.yy',
    ]);
    expect(deleteResource(doc([always({ pools: ['c'] })]), 'pools', 'c')).toMatchObject({ ok: false, status: 409 });
    expect(deleteResource(doc([always({ pool_weights: { d: 1 } })]), 'pools', 'd')).toMatchObject({ ok: false, status: 409 });
    expect(deleteResource(doc([]), 'pools', 'd')).toMatchObject({ ok: true });
  });
});

describe('overrideFields', () => {
  it('copies the fields of the same name, leaving absent ones out', () => {
    expect(overrideFields({ steering_policy: 'random', ttl: 5 })).toEqual({ steering_policy: 'random', ttl: 5 });
    expect(overrideFields({})).toEqual({});
  });

  it('pools: default_pools, no geo maps, the last pool as fallback unless the rule names one; wins over default_pools', () => {
    const topology = { country_pools: {}, region_pools: {}, pop_pools: {} };
    expect(overrideFields({ pools: ['c', 'd'], default_pools: ['a'] })).toEqual({ default_pools: ['c', 'd'], fallback_pool: 'd', ...topology });
    expect(overrideFields({ pools: ['c'], fallback_pool: 'fb' })).toEqual({ default_pools: ['c'], fallback_pool: 'fb', ...topology });
  });

  it('pool_weights and pool_default_weight: random_steering whole, its defaults for the one not given', () => {
    expect(overrideFields({ pool_weights: { a: 0 } })).toEqual({ random_steering: { pool_weights: { a: 0 }, default_weight: 1 } });
    expect(overrideFields({ pool_default_weight: 0.5 })).toEqual({ random_steering: { pool_weights: {}, default_weight: 0.5 } });
  });
});

describe('routing with the declarative overrides', () => {
  const places = [{}, { colo: 'FRA', country: 'DE', continent: 'EU', latitude: 0, longitude: 0 }, { country: 'DE' }, { country: 'FR', continent: 'EU' }];
  const policies = ['off', 'geo', '', 'random', 'dynamic_latency', 'proximity', 'least_outstanding_requests', 'least_connections'];

  it('pools replaces the topology under every steering policy: only those pools, wherever the request comes from', () => {
    for (const steering_policy of policies) {
      const d = doc([always({ pools: ['c', 'd'] })], { steering_policy });
      const set = new RuleSet(d.load_balancers[0]!);
      const snap = compileSnapshot(d, 1);
      const lb = set.apply(view()).lb;
      for (const place of places) {
        for (const r of [0, 0.5, 0.99]) {
          const routed = route(snap, lb, { random: () => r, place, poolLatency: (id) => (id === 'd' ? 1 : 100), poolOutstanding: () => 0 });
          expect(routed.order.map((p) => p.pool.id).sort(), `${steering_policy} ${JSON.stringify(place)}`).toEqual(['c', 'd']);
        }
      }
    }
  });

  it('without the rule, the same geo load balancer routes by its maps (the test above can fail)', () => {
    const d = doc([]);
    const lb = d.load_balancers[0]!;
    expect(route(compileSnapshot(d, 1), lb, { random: () => 0, place: { country: 'DE' } }).order.map((p) => p.pool.id)).toEqual(['b', 'fb']);
  });

  it('pool_weights: a pool of weight 0 is never drawn first while another has weight; pool_default_weight weighs the rest', () => {
    const d = doc([always({ pool_weights: { a: 0 }, pool_default_weight: 1 })], { steering_policy: 'random', default_pools: ['a', 'b', 'c'] });
    const lb = new RuleSet(d.load_balancers[0]!).apply(view()).lb;
    const snap = compileSnapshot(d, 1);
    const firsts = new Set(Array.from({ length: 100 }, (_, i) => route(snap, lb, { random: () => i / 100 }).plan!.pool.id));
    expect(firsts).toEqual(new Set(['b', 'c']));
    const zeroRest = doc([always({ pool_weights: { c: 1 }, pool_default_weight: 0 })], { steering_policy: 'random', default_pools: ['a', 'b', 'c'] });
    const lb2: LoadBalancer = new RuleSet(zeroRest.load_balancers[0]!).apply(view()).lb;
    const snap2 = compileSnapshot(zeroRest, 1);
    expect(new Set(Array.from({ length: 100 }, (_, i) => route(snap2, lb2, { random: () => i / 100 }).plan!.pool.id))).toEqual(new Set(['c']));
  });

  it('the explainer names the fields as written', () => {
    const set = new RuleSet(doc([always({ pools: ['c'], pool_weights: { c: 1 } })]).load_balancers[0]!);
    expect(set.explain(set.apply(view()))[0]!.overrides).toEqual(['pools', 'pool_weights']);
  });
});
