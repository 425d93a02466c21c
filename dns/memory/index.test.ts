import { describe, expect, test } from 'vitest';
import { a, aaaa, cname, converge, memoryTarget, OWNER, plan, providerContract, rejection } from '../provider.case.test.ts';
import { memoryProvider } from './index.ts';

providerContract('memory', async () => memoryTarget());

describe('memory provider', () => {
  const name = 'www.example.test';

  test('counts calls and bumps the revision once per change set', async () => {
    const p = memoryProvider('example.test');
    expect((await p.read(name, OWNER)).revision).toBe('0');
    const after = await converge(p, name, OWNER, [a(name, '192.0.2.1'), aaaa(name, '2001:db8::1')]);
    expect(after.revision).toBe('1');
    await p.apply(plan(name, OWNER, after, [a(name, '192.0.2.1'), aaaa(name, '2001:db8::1')]));
    expect(p.zone.revisionOf(name)).toBe(1);
    expect(p.calls).toEqual({ read: 3, apply: 2 });
  });

  test('refuses what a DNS server refuses, applying nothing', async () => {
    const p = memoryProvider('example.test');
    const before = await converge(p, name, OWNER, [a(name, '192.0.2.1')]);
    await rejection(p.apply(plan(name, OWNER, before, [a(name, '192.0.2.1'), cname(name, 'origin.example.net')])), 'invalid');
    await rejection(p.apply(plan(name, OWNER, before, [a(name, '192.0.2.1'), a(name, '192.0.2.1', 60)])), 'invalid');
    const outside = await p.read('www.example.net', OWNER);
    await rejection(p.apply({ name: 'www.example.net', owner: OWNER, before: outside, remove: [], add: [a('www.example.net', '192.0.2.1')] }), 'invalid');
    await rejection(p.apply(plan(name, OWNER, { ...before, revision: '0' }, [a(name, '192.0.2.2')])), 'conflict');
    await rejection(p.apply({ name, owner: OWNER, before, remove: [a(name, '192.0.2.9')], add: [] }), 'invalid');
    expect(p.zone.recordsAt(name).map((r) => r.content)).toEqual(['192.0.2.1']);
    expect(p.zone.revisionOf(name)).toBe(1);
  });

  test('a foreign change at the name also makes an older read stale', async () => {
    const p = memoryProvider('example.test');
    const before = await converge(p, name, OWNER, [a(name, '192.0.2.1')]);
    p.zone.plant(a(name, '198.51.100.1'));
    await rejection(p.apply(plan(name, OWNER, before, [])), 'conflict');
    expect((await p.read(name, OWNER)).foreign).toBe(1);
  });
});
