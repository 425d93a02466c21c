import { describe, expect, test } from 'vitest';
import type { ChangeSet, DnsRecord, NameState, Owner } from '../provider.ts';
import { fingerprint, opsOf, pack } from './index.ts';

const owner = (lbId: string): Owner => ({ ownerId: 'edge-lb', lbId });
const rec = (name: string, content: string, id?: string): DnsRecord => ({ name, type: 'A', content, ttl: 60, ...(id && { id }) });
/** A change set at `name` adding `adds` records to what `before` holds. */
const change = (name: string, adds: number, before: NameState = { records: [], foreign: 0 }, lb = name): { changes: ChangeSet } => ({
  changes: { name, owner: owner(lb), before, remove: [], add: Array.from({ length: adds }, (_, i) => rec(name, `192.0.2.${i + 1}`)) },
});
const empty = (): NameState => ({ records: [], foreign: 0 });

describe('pack', () => {
  test('1,000 change sets of 2 or 3 operations fill ⌈ops/200⌉ batches, each once, each batch in arrival order', () => {
    const pending = Array.from({ length: 1000 }, (_, i) => change(`lb${i}.example.com`, i % 3 === 0 ? 3 : 2));
    const ops = pending.reduce((n, p) => n + opsOf(p.changes), 0);
    const { batches, conflicts, deferred, tooLarge, refused } = pack(pending, empty, 200);
    expect([ops, batches.length, conflicts.length + deferred.length + tooLarge.length + refused.length]).toEqual([2334, Math.ceil(2334 / 200), 0]);
    expect(Math.max(...batches.map((b) => b.reduce((n, p) => n + opsOf(p.changes), 0)))).toBeLessThanOrEqual(200);
    expect(batches.flat().sort((x, y) => pending.indexOf(x) - pending.indexOf(y))).toEqual(pending);
    for (const b of batches) expect(b.map((p) => pending.indexOf(p))).toEqual(b.map((p) => pending.indexOf(p)).sort((x, y) => x - y));
  });

  test('first-fit decreasing: big change sets first, small ones fill the gaps (first fit in arrival order would need 3)', () => {
    const pending = [change('a.example.com', 2), change('c.example.com', 2), change('b.example.com', 3), change('d.example.com', 3)];
    expect(pack(pending, empty, 5).batches.map((b) => b.map((p) => p.changes.name))).toEqual([
      ['a.example.com', 'b.example.com'],
      ['c.example.com', 'd.example.com'],
    ]);
  });

  test('a stale `before` is a conflict alone; a second change set at a taken name waits for the next round; too large is refused', () => {
    const held: NameState = { records: [rec('x.example.com', '192.0.2.9', 'id-1')], foreign: 0 };
    const current = (name: string) => (name === 'x.example.com' ? held : empty());
    const stale = change('x.example.com', 1); // planned on an empty name
    const fresh = change('x.example.com', 1, held, 'other');
    const first = change('y.example.com', 1);
    const second = change('y.example.com', 1, empty(), 'another');
    const big = change('z.example.com', 6);
    const out = pack([stale, fresh, first, second, big], current, 5);
    expect(out).toEqual({ batches: [[fresh, first]], conflicts: [stale], deferred: [second], tooLarge: [big], refused: [] });
  });

  test('`check` refuses a change set alone, with its reason; a foreign record moving is a conflict', () => {
    const ok = change('a.example.com', 1);
    const bad = change('b.example.com', 1);
    const out = pack(
      [ok, bad],
      (name) => ({ records: [], foreign: name === 'a.example.com' ? 1 : 0 }),
      200,
      (c) => (c.name === 'b.example.com' ? 'no' : undefined),
    );
    expect(out).toEqual({ batches: [], conflicts: [ok], deferred: [], tooLarge: [], refused: [{ item: bad, reason: 'no' }] });
  });

  test('fingerprint ignores order and revision, sees ids, TTLs and the foreign count; the limit must be a positive integer', () => {
    const [r1, r2] = [rec('n', '192.0.2.1', 'a'), rec('n', '192.0.2.2', 'b')];
    expect(fingerprint({ records: [r1, r2], foreign: 0, revision: '1' })).toBe(fingerprint({ records: [r2, r1], foreign: 0 }));
    for (const other of [
      { records: [r1, { ...r2, id: 'c' }], foreign: 0 },
      { records: [r1, { ...r2, ttl: 61 }], foreign: 0 },
      { records: [r1, r2], foreign: 1 },
    ])
      expect(fingerprint(other)).not.toBe(fingerprint({ records: [r1, r2], foreign: 0 }));
    expect(() => pack([], empty, 0)).toThrow(RangeError);
  });
});
