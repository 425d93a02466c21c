import { describe, expect, it } from 'vitest';
import { PoolSchema, emptyDocument, importDocument, type LoadShedding } from '../config/index.ts';
import { compileSnapshot, explainRoute, planRoute, type Snapshot } from './index.ts';
import { seeded } from '../steer/seeded.ts';
import { ipPoint, sheds } from './shedding.ts';
import { SESSION_SHED, judgePin } from '../affinity/index.ts';

const shedding = (s: Partial<LoadShedding>): LoadShedding => ({
  default_percent: 0,
  default_policy: 'random',
  session_percent: 0,
  session_policy: 'hash',
  ...s,
});
const ips = Array.from({ length: 4000 }, (_, i) => `198.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}`);
const never = () => {
  throw new Error('random must not be drawn');
};

describe('load shedding decision', () => {
  it('sheds nothing without shedding, at 0 %, and everything at 100 % (no draw)', () => {
    expect(sheds(null, 'p', 'default', '192.0.2.1', never)).toBe(false);
    expect(sheds(undefined, 'p', 'session', '192.0.2.1', never)).toBe(false);
    expect(sheds(shedding({}), 'p', 'default', '192.0.2.1', never)).toBe(false);
    expect(sheds(shedding({ default_percent: 100 }), 'p', 'default', '192.0.2.1', never)).toBe(true);
    expect(sheds(shedding({ session_percent: 100 }), 'p', 'session', undefined, never)).toBe(true);
  });

  it('random sheds about default_percent of requests, each drawn anew', () => {
    const random = seeded(7);
    const s = shedding({ default_percent: 30 });
    const shed = Array.from({ length: 20000 }, () => sheds(s, 'p', 'default', '192.0.2.1', random)).filter(Boolean).length;
    expect(shed / 20000).toBeGreaterThan(0.28);
    expect(shed / 20000).toBeLessThan(0.32);
  });

  it('hash sheds about default_percent of client IPs, always the same ones, growing with the percent', () => {
    const at = (percent: number) =>
      new Set(ips.filter((ip) => sheds(shedding({ default_percent: percent, default_policy: 'hash' }), 'p', 'default', ip, never)));
    const ten = at(10);
    const forty = at(40);
    expect(ten.size / ips.length).toBeGreaterThan(0.08);
    expect(ten.size / ips.length).toBeLessThan(0.12);
    expect(forty.size / ips.length).toBeGreaterThan(0.37);
    expect(forty.size / ips.length).toBeLessThan(0.43);
    expect([...ten].every((ip) => forty.has(ip))).toBe(true);
    expect(at(10)).toEqual(ten);
  });

  it('different pools shed different clients', () => {
    const shedBy = (pool: string) => ips.filter((ip) => ipPoint(pool, ip) < 0.2);
    const a = new Set(shedBy('pool-a'));
    const overlap = shedBy('pool-b').filter((ip) => a.has(ip)).length;
    expect(overlap / a.size).toBeLessThan(0.35); // independent: about 20 %
  });

  it('sessions are shed by session_percent over the IP hash only, whatever default_* say', () => {
    const s = shedding({ default_percent: 0, session_percent: 25 });
    const shed = ips.filter((ip) => sheds(s, 'p', 'session', ip, never));
    expect(shed.length / ips.length).toBeGreaterThan(0.22);
    expect(shed.length / ips.length).toBeLessThan(0.28);
    expect(ips.filter((ip) => sheds(s, 'p', 'default', ip, never))).toEqual([]);
    expect(sheds(shedding({ default_percent: 100 }), 'p', 'session', '192.0.2.1', never)).toBe(false);
  });

  it('a client without an address is drawn at random for default traffic and keeps its session', () => {
    const s = shedding({ default_percent: 50, default_policy: 'hash', session_percent: 50 });
    expect(sheds(s, 'p', 'default', undefined, () => 0.4)).toBe(true);
    expect(sheds(s, 'p', 'default', undefined, () => 0.6)).toBe(false);
    expect(sheds(s, 'p', 'session', undefined, never)).toBe(false);
  });
});

describe('load_shedding in the pool schema', () => {
  const pool = (load_shedding: unknown) => PoolSchema.safeParse({ name: 'p', origins: [{ name: 'o', address: '192.0.2.1' }], load_shedding });

  it("keeps null and absent as given, and fills Cloudflare's defaults", () => {
    expect(pool(null).data?.load_shedding).toBeNull();
    expect(PoolSchema.parse({ name: 'p', origins: [{ name: 'o', address: '192.0.2.1' }] })).not.toHaveProperty('load_shedding');
    expect(pool({ default_percent: 12.5 }).data?.load_shedding).toEqual({
      default_percent: 12.5,
      default_policy: 'random',
      session_percent: 0,
      session_policy: 'hash',
    });
  });

  it('names the field of each error', () => {
    const issues = (v: unknown) => pool(v).error?.issues.map((i) => `${i.path.join('.')}: ${i.code}`);
    expect(issues({ default_percent: 101 })).toEqual(['load_shedding.default_percent: too_big']);
    expect(issues({ session_policy: 'random' })).toEqual(['load_shedding.session_policy: invalid_value']);
    expect(issues({ shed: 1 })).toEqual(['load_shedding: unrecognized_keys']);
  });
});

describe('load shedding in routing (planRoute, explainRoute)', () => {
  const half = () => 0.5; // origin steering draws too
  const ctx = { newId: () => 'x', now: () => '2026-01-01T00:00:00.000Z' };
  const snapshot = (a: unknown, b: unknown = null) => {
    const out = importDocument(
      emptyDocument(),
      {
        pools: [
          { id: 'a', name: 'a', origins: [{ name: 'a1', address: '192.0.2.1' }], load_shedding: a },
          { id: 'b', name: 'b', origins: [{ name: 'b1', address: '192.0.2.2' }], load_shedding: b },
        ],
        load_balancers: [{ id: 'lb', name: 'app.example.com', default_pools: ['a', 'b'], fallback_pool: 'b' }],
      },
      ctx,
    );
    if (!out.ok) throw new Error(JSON.stringify(out.errors));
    return compileSnapshot(out.value, 1);
  };
  const poolFor = (snap: Snapshot, random: () => number, clientIp?: string) =>
    planRoute(snap, snap.loadBalancers.get('lb')!, { random, facts: { clientIp } })?.pool.id;

  it('a shed request goes to the next pool; the rest stay', () => {
    const snap = snapshot({ default_percent: 30 });
    expect(poolFor(snap, () => 0.1)).toBe('b');
    expect(poolFor(snap, () => 0.5)).toBe('a');
    expect(poolFor(snapshot(null), half)).toBe('a');
  });

  it('hash sheds by the client IP: the same clients every time', () => {
    const snap = snapshot({ default_percent: 50, default_policy: 'hash' });
    const moved = ips.slice(0, 400).filter((ip) => poolFor(snap, half, ip) === 'b');
    expect(moved.length).toBeGreaterThan(160);
    expect(moved.length).toBeLessThan(240);
    expect(ips.slice(0, 400).filter((ip) => poolFor(snap, half, ip) === 'b')).toEqual(moved);
  });

  it('with nowhere to shed to (every pool sheds), the first pool keeps the request', () => {
    expect(poolFor(snapshot({ default_percent: 100 }, { default_percent: 100 }), half)).toBe('a');
  });

  it('the explainer names the shed pool', () => {
    const snap = snapshot({ default_percent: 100 });
    const e = explainRoute(snap, snap.loadBalancers.get('lb')!, { random: half });
    expect(e.pools.map((p) => p.verdict)).toEqual(['skipped: load shedding', 'chosen']);
  });
});

describe('a shed session moves (judgePin, RouteInputs.shedPool)', () => {
  const ctx = { newId: () => 'x', now: () => '2026-01-01T00:00:00.000Z' };
  // Exactly the reviewed case: pool a sheds no new traffic but every session; pool b after it.
  const out = importDocument(
    emptyDocument(),
    {
      pools: [
        { id: 'a', name: 'a', origins: [{ name: 'a1', address: '192.0.2.1' }], load_shedding: { default_percent: 0, session_percent: 100 } },
        { id: 'b', name: 'b', origins: [{ name: 'b1', address: '192.0.2.2' }] },
      ],
      load_balancers: [{ id: 'lb', name: 'app.example.com', default_pools: ['a', 'b'], fallback_pool: 'b', session_affinity: 'cookie' }],
    },
    ctx,
  );
  if (!out.ok) throw new Error(JSON.stringify(out.errors));
  const snap = compileSnapshot(out.value, 1);
  const lb = snap.loadBalancers.get('lb')!;
  const usable = () => true;

  it('judgePin sheds a pin to a by session_percent, and honours one to b', () => {
    expect(judgePin(snap, lb, { poolId: 'a', origin: 'a1' }, usable, 0, '192.0.2.9')).toEqual({ why: SESSION_SHED });
    expect(judgePin(snap, lb, { poolId: 'a', origin: 'a1' }, usable, 0, undefined)).toEqual({ why: SESSION_SHED }); // 100 %: no hash needed
    expect(judgePin(snap, lb, { poolId: 'b', origin: 'b1' }, usable, 0, '192.0.2.9')).toMatchObject({ why: 'honoured', candidate: { origin: { name: 'b1' } } });
  });

  it('new sessions stay on a (default_percent 0); the shed session plans with a shed and goes to b', () => {
    const plan = (shedPool?: string) => planRoute(snap, lb, { random: () => 0.5, shedPool })?.pool.id;
    expect(plan()).toBe('a');
    expect(plan('a')).toBe('b');
    const e = explainRoute(snap, lb, { random: () => 0.5, shedPool: 'a' });
    expect(e.pools.map((p) => p.verdict)).toEqual(['skipped: load shedding', 'chosen']);
  });

  it('with no other pool usable, the shed pool keeps the session', () => {
    const onlyA = (pool: { id: string }) => pool.id === 'a';
    expect(planRoute(snap, lb, { random: () => 0.5, usable: onlyA, shedPool: 'a' })?.pool.id).toBe('a');
  });
});
