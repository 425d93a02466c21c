import { describe, expect, it } from 'vitest';
import { deleteResource, emptyDocument, importDocument, poolReferences, type ConfigDocument } from '../config/index.ts';
import { view } from '../rules/test-helpers.ts';
import { compileSnapshot, route, RuleSet } from './index.ts';
import { MAX_EFFECTIVE } from './rules.ts';

const ctx = { newId: () => 'x', now: () => '2026-01-01T00:00:00.000Z' };
const origins = (name: string) => [{ name, address: '127.0.0.1', port: 9000 }];

/** A document with pools a, b, c, fb and one load balancer carrying `rules`; throws on errors. */
function doc(rules: unknown[]): ConfigDocument {
  const out = write(rules);
  if (!out.ok) throw new Error(JSON.stringify(out.errors));
  return out.value;
}
function write(rules: unknown[], extra: object = {}) {
  return importDocument(
    emptyDocument(),
    {
      pools: ['a', 'b', 'c', 'fb'].map((id) => ({ id, name: id, origins: origins(`${id}1`) })),
      load_balancers: [{ id: 'lb', name: 'app.example.com', default_pools: ['a'], fallback_pool: 'fb', rules, ...extra }],
    },
    ctx,
  );
}
const rulesOf = (rules: unknown[]) => new RuleSet(doc(rules).load_balancers[0]!);
const pools = (...ids: string[]) => ({ default_pools: ids });
const always = (overrides: object, more: object = {}) => ({ condition: '', overrides, ...more });

describe('rule order (Cloudflare: priority, disabled, overrides, terminates, fixed_response)', () => {
  it('runs lower priority first, so the higher priority number has the last word', () => {
    const set = rulesOf([always(pools('b'), { priority: 2 }), always(pools('c'), { priority: 1 })]);
    const out = set.apply(view());
    expect(out.matched).toEqual([1, 0]);
    expect(out.lb.default_pools).toEqual(['b']);
  });

  it('without priorities keeps array order (later rule wins); equal priorities keep array order too', () => {
    expect(rulesOf([always(pools('b')), always(pools('c'))]).apply(view()).lb.default_pools).toEqual(['c']);
    const tied = rulesOf([always(pools('c'), { priority: 5 }), always(pools('b'), { priority: 5 })]);
    expect(tied.apply(view())).toMatchObject({ matched: [0, 1], lb: { default_pools: ['b'] } });
  });

  it('skips disabled rules and rules whose condition does not match', () => {
    const set = rulesOf([
      always(pools('b')),
      always(pools('c'), { disabled: true }),
      { condition: 'http.request.uri.path eq "/other"', overrides: pools('fb') },
    ]);
    expect(set.rules.map((r) => r.index)).toEqual([0, 2]);
    expect(set.apply(view())).toMatchObject({ matched: [0], lb: { default_pools: ['b'] } });
  });

  it('merges overrides field by field: a later rule replaces only the fields it sets', () => {
    const set = rulesOf([
      always({ steering_policy: 'random', default_pools: ['b'], session_affinity_attributes: { samesite: 'Lax' } }),
      always({ default_pools: ['c'], session_affinity_attributes: { secure: 'Always' } }),
    ]);
    const out = set.apply(view());
    expect(out.lb).toMatchObject({ steering_policy: 'random', default_pools: ['c'], fallback_pool: 'fb' });
    // an object field is replaced whole: samesite back to its default, not merged
    expect(out.lb.session_affinity_attributes).toMatchObject({ samesite: 'Auto', secure: 'Always' });
    expect(set.explain(out)).toEqual([
      {
        index: 0,
        name: '',
        priority: 0,
        overrides: ['steering_policy', 'default_pools', 'session_affinity_attributes'],
        overridden_by: { default_pools: 1, session_affinity_attributes: 1 },
        terminates: false,
      },
      { index: 1, name: '', priority: 1, overrides: ['default_pools', 'session_affinity_attributes'], terminates: false },
    ]);
  });

  it('stops after a matching rule that terminates; a terminating rule that does not match stops nothing', () => {
    const set = rulesOf([
      { condition: 'http.host eq "nope.example.com"', terminates: true, overrides: pools('fb') },
      always(pools('b'), { terminates: true }),
      always(pools('c')),
    ]);
    expect(set.apply(view())).toMatchObject({ matched: [1], lb: { default_pools: ['b'] } });
  });

  it('answers a fixed_response at once: later rules are not evaluated, earlier overrides change nothing', () => {
    const set = rulesOf([
      always(pools('b')),
      { condition: 'http.request.uri.path matches "^/api/"', fixed_response: { status_code: 503, message_body: 'down' } },
      always(pools('c')),
    ]);
    const out = set.apply(view());
    expect(out).toEqual({ lb: set.lb, matched: [0, 1], fixed: { status_code: 503, message_body: 'down' }, evaluated: 2 });
    expect(set.lb.rules[1]!.terminates).toBe(true); // Cloudflare marks a fixed_response rule as terminating
    expect(set.apply(view({ url: 'https://app.example.com/web' }))).toMatchObject({ matched: [0, 2], lb: { default_pools: ['c'] } });
    // evaluated counts the predicates run: the regex rule is no candidate for /web (its prefix is /api/)
    expect(set.apply(view({ url: 'https://app.example.com/web' })).evaluated).toBe(2);
    expect(set.applyLinear(view({ url: 'https://app.example.com/web' })).evaluated).toBe(3);
  });

  it('matches on headers, and leaves the load balancer itself (same object) when nothing matches', () => {
    const set = rulesOf([{ condition: 'http.request.headers["x-canary"][0] eq "1"', overrides: pools('c') }]);
    expect(set.apply(view({ headers: { 'x-canary': '1' } })).lb.default_pools).toEqual(['c']);
    expect(set.apply(view()).lb).toBe(set.lb);
  });

  it('builds each combination of matched rules once (same object), and keeps at most MAX_EFFECTIVE of them', () => {
    const set = rulesOf([always(pools('b')), always({ steering_policy: 'random' })]);
    expect(set.apply(view()).lb).toBe(set.apply(view()).lb);
    expect(set.effective([1])).toBe(set.effective([1]));
    expect([set.effective([0]).default_pools, set.effective([1]).steering_policy, set.effective([1]).default_pools]).toEqual([
      ['b'],
      'random',
      set.lb.default_pools,
    ]);
    for (let i = 0; i < MAX_EFFECTIVE + 10; i++) set.effective([i % 2, 1 - (i % 2), ...Array<number>(i).fill(1)]);
    expect(set.effective([0, 1, ...Array<number>(MAX_EFFECTIVE + 5).fill(1)])).not.toBe(set.effective([0, 1, ...Array<number>(MAX_EFFECTIVE + 5).fill(1)]));
  });
});

describe('routing with overrides', () => {
  it('routes an overridden load balancer over its own pools, not the cached order of the configured one', () => {
    const snap = compileSnapshot(doc([always(pools('c'))]), 1);
    const lb = snap.loadBalancers.get('lb')!;
    const out = snap.rules!.get('lb')!.apply(view());
    expect(route(snap, lb, { random: () => 0 }).plan?.pool.id).toBe('a');
    expect(route(snap, out.lb, { random: () => 0 }).plan?.pool.id).toBe('c');
  });
});

describe('rules stored before they were validated', () => {
  it('never match and never break the snapshot or pool references when their shape or condition is invalid', () => {
    const d = doc([]);
    const lb = {
      ...d.load_balancers[0]!,
      rules: [null, { condition: 5 }, { overrides: { default_pools: 'c' } }, { condition: 'a AND b' }, always(pools('b'))],
    };
    const snap = compileSnapshot({ ...d, load_balancers: [lb as never] }, 1);
    const set = snap.rules!.get('lb')!;
    expect(set.broken.map((b) => b.index)).toEqual([0, 1, 2, 3]);
    expect(set.apply(view())).toMatchObject({ matched: [4], lb: { default_pools: ['b'] } });
    expect(poolReferences(lb as never).map(([path]) => path.join('.'))).toEqual(['default_pools.0', 'fallback_pool', 'rules.4.overrides.default_pools.0']);
  });
});

describe('rules at write time', () => {
  it('refuses an invalid condition with 400 naming rules[i].condition, the offset and the token', () => {
    const out = write([always({}), { condition: 'http.host eq "a" AND ssl' }]);
    expect(out).toMatchObject({ ok: false, status: 400 });
    const [error] = (out as { errors: { path: string; message: string }[] }).errors;
    expect(error!.path).toBe('load_balancers[0].rules[1].condition');
    expect(error!.message).toContain('operators are written in lower case: and (offset 17, at "AND")');
  });

  it('refuses overrides naming unknown pools (400 with the path), and a pool a rule uses cannot be deleted (409)', () => {
    const out = write([always({ fallback_pool: 'zz', country_pools: { DE: ['b', 'yy'] } })]);
    expect(out.ok).toBe(false);
    expect((out as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual([
      'load_balancers[0].rules[0].overrides.fallback_pool',
      'load_balancers[0].rules[0].overrides.country_pools.DE[1]',
    ]);
    const deleted = deleteResource(doc([always(pools('c'))]), 'pools', 'c');
    expect(deleted).toMatchObject({ ok: false, status: 409 });
  });

  it('refuses unknown override fields and bad fixed responses, naming the field', () => {
    const out = write([always({ colour: 'red' }), { fixed_response: { status_code: 42, location: 'a\nb' } }]);
    expect((out as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual([
      'load_balancers[0].rules[0].overrides.colour',
      'load_balancers[0].rules[1].fixed_response.status_code',
      'load_balancers[0].rules[1].fixed_response.location',
    ]);
  });
});
