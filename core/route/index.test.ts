import { describe, expect, it } from 'vitest';
import { emptyDocument, importDocument, type ConfigDocument } from '../config/index.ts';
import { candidatesOf, compileSnapshot, explainRoute, planRoute, poolOrder, type Usable } from './index.ts';

const ctx = { newId: () => 'x', now: () => '2026-01-01T00:00:00.000Z' };
const origins = (...names: string[]) => names.map((name, i) => ({ name, address: '127.0.0.1', port: 9000 + i }));

function doc(lbExtra: object = {}): ConfigDocument {
  const out = importDocument(
    emptyDocument(),
    {
      pools: [
        { id: 'a', name: 'a', origins: origins('a1', 'a2', 'a3'), minimum_origins: 2 },
        { id: 'b', name: 'b', origins: origins('b1', 'b2') },
        { id: 'off', name: 'off', enabled: false, origins: origins('x') },
        { id: 'fb', name: 'fb', origins: origins('f1') },
      ],
      load_balancers: [
        { id: 'lb1', name: 'app.example.com', default_pools: ['off', 'a', 'b'], fallback_pool: 'fb', ...lbExtra },
        { id: 'lb2', name: '*.example.com', default_pools: ['b'], fallback_pool: 'fb' },
        { id: 'lb3', name: '*.eu.example.com', default_pools: ['a'], fallback_pool: 'fb' },
      ],
    },
    ctx,
  );
  if (!out.ok) throw new Error(JSON.stringify(out.errors));
  return out.value;
}

const names = (plan: ReturnType<typeof planRoute>) => (plan ? [...candidatesOf(plan)] : []).map((c) => c.origin.name);
const seq = (...v: number[]) => {
  let i = 0;
  return () => v[i++ % v.length]!;
};

describe('lookup', () => {
  const snap = compileSnapshot(doc(), 1);
  it('prefers the exact name, then the longest wildcard; a wildcard needs a label in front', () => {
    expect(snap.lookup('app.example.com')?.id).toBe('lb1');
    expect(snap.lookup('x.example.com')?.id).toBe('lb2');
    expect(snap.lookup('a.b.example.com')?.id).toBe('lb2');
    expect(snap.lookup('x.eu.example.com')?.id).toBe('lb3');
    expect(snap.lookup('example.com')).toBeUndefined();
    expect(snap.lookup('other.org')).toBeUndefined();
  });
});

describe('planRoute', () => {
  it('follows default_pools then fallback_pool, skipping disabled pools', () => {
    const snap = compileSnapshot(doc(), 1);
    expect(poolOrder(snap.pools, snap.lookup('app.example.com')!).map((p) => p.pool.id)).toEqual(['a', 'b', 'fb']);
  });

  it("orders the chosen pool's origins by weighted draw and stays in that pool", () => {
    const snap = compileSnapshot(doc(), 1);
    const plan = planRoute(snap, snap.lookup('app.example.com')!, { random: seq(0.5, 0, 0) });
    expect(plan?.pool.id).toBe('a');
    expect(names(plan)).toEqual(['a2', 'a1', 'a3']);
  });

  it('fails over when a pool has fewer usable origins than minimum_origins', () => {
    const snap = compileSnapshot(doc(), 1);
    const lb = snap.lookup('app.example.com')!;
    const onlyA1: Usable = (pool, i) => pool.id !== 'a' || i === 0;
    expect(planRoute(snap, lb, { random: seq(0), usable: onlyA1 })?.pool.id).toBe('b');
    const nothingButFallback: Usable = (pool) => pool.id === 'fb';
    expect(names(planRoute(snap, lb, { random: seq(0), usable: nothingButFallback }))).toEqual(['f1']);
  });

  it('uses a pool below minimum_origins as a last resort, and returns undefined when nothing is usable', () => {
    const snap = compileSnapshot(doc(), 1);
    const lb = snap.lookup('app.example.com')!;
    expect(names(planRoute(snap, lb, { random: seq(0), usable: (pool, i) => pool.id === 'a' && i === 2 }))).toEqual(['a3']);
    expect(planRoute(snap, lb, { random: seq(0), usable: () => false })).toBeUndefined();
  });

  it('continues into the next pools with adaptive_routing.failover_across_pools', () => {
    const snap = compileSnapshot(doc({ adaptive_routing: { failover_across_pools: true } }), 1);
    expect(names(planRoute(snap, snap.lookup('app.example.com')!, { random: seq(0) }))).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'f1']);
  });

  it('never yields a disabled or zero-weight origin', () => {
    const d = doc();
    d.pools[1] = {
      ...d.pools[1]!,
      origins: [
        { ...d.pools[1]!.origins[0]!, enabled: false },
        { ...d.pools[1]!.origins[1]!, weight: 0 },
      ],
    };
    d.pools[0] = { ...d.pools[0]!, enabled: false };
    const snap = compileSnapshot(d, 2);
    expect(planRoute(snap, snap.lookup('app.example.com')!, { random: Math.random })?.pool.id).toBe('fb');
  });

  it('spreads traffic in proportion to weight', () => {
    const d = doc();
    d.pools[1] = {
      ...d.pools[1]!,
      origins: [
        { ...d.pools[1]!.origins[0]!, weight: 0.25 },
        { ...d.pools[1]!.origins[1]!, weight: 0.75 },
      ],
    };
    const snap = compileSnapshot(d, 2);
    const lb = snap.lookup('x.example.com')!;
    let s = 12345;
    const lcg = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const counts: Record<string, number> = {};
    for (let i = 0; i < 8000; i++) {
      const first = names(planRoute(snap, lb, { random: lcg }))[0]!;
      counts[first] = (counts[first] ?? 0) + 1;
    }
    expect(Math.abs(counts.b1! / 8000 - 0.25)).toBeLessThan(0.02);
  });
});

describe('drain and panic mode', () => {
  it('never sends new requests to a draining origin', () => {
    const d = doc();
    d.pools[1] = { ...d.pools[1]!, origins: [{ ...d.pools[1]!.origins[0]!, drain: true }, d.pools[1]!.origins[1]!] };
    const snap = compileSnapshot(d, 2);
    for (const r of [0, 0.3, 0.99]) expect(names(planRoute(snap, snap.lookup('x.example.com')!, { random: seq(r) }))).toEqual(['b2']);
  });

  it('with panic_mode, spreads over enabled origins when health leaves nothing usable', () => {
    const off = compileSnapshot(doc(), 1);
    expect(planRoute(off, off.lookup('app.example.com')!, { random: seq(0), usable: () => false })).toBeUndefined();
    const on = compileSnapshot(doc({ panic_mode: true }), 1);
    expect(names(planRoute(on, on.lookup('app.example.com')!, { random: seq(0), usable: () => false }))).toEqual(['a1', 'a2', 'a3']);
  });
});

describe('explainRoute', () => {
  it('reports the pool order it planned over, even when pool steering is random', () => {
    const snap = compileSnapshot(doc({ steering_policy: 'random', default_pools: ['a', 'b'] }), 1);
    const lb = snap.lookup('app.example.com')!;
    // Successive draws disagree: a second steering pass would order the pools differently.
    const e = explainRoute(snap, lb, { random: seq(0.1, 0.9, 0.9, 0.1, 0.5) });
    expect(e.result).toBe('routed');
    expect(e.pools[0]).toMatchObject({ id: e.pool, verdict: 'chosen' });
    expect(e.pools.slice(1).every((p) => p.verdict === 'not reached')).toBe(true);
  });
});
