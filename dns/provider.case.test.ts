/**
 * The contract every DnsProvider passes (dns/provider.ts), after Hono's `*.case.test.ts`: a
 * provider's own test file calls `providerContract(name, make)` with a fresh backend per check.
 *
 * Each check works on its own name(s) under `target.zone`, so a backend shared across checks
 * (one BIND9 zone) works too. Assertions are exact and order-insensitive; provider ids are
 * compared only where a check says so.
 *
 * Run on its own (`vitest run --project node dns/provider.case`), this file also shows that each
 * check can fail: it runs them against deliberately broken memory providers (mutants).
 */
import { describe, expect, test } from 'vitest';
import { memoryProvider, memoryZone, type MemoryProvider } from './memory/index.ts';
import { ProviderError, type ChangeSet, type DnsProvider, type DnsRecord, type NameState, type Owner } from './provider.ts';

/** What a provider's test hands the contract: the provider, and the backend behind it. */
export interface ContractTarget {
  provider: DnsProvider;
  /** The zone's name (lower-case, no trailing dot); checks use names under it. */
  zone: string;
  /** Adds `record` through the backend directly, unmarked, as another tool would. */
  plantForeign(record: DnsRecord): Promise<void>;
  /** Alters one of our records at `name` behind the provider's back, so the next apply planned on an older read must fail with 'conflict'. */
  changeBehind(name: string): Promise<void>;
  close(): Promise<void>;
}

export const OWNER: Owner = { ownerId: 'contract', lbId: 'lb-1' };
const OTHER_OWNER: Owner = { ownerId: 'another-install', lbId: 'lb-1' };
const OTHER_LB: Owner = { ownerId: 'contract', lbId: 'lb-2' };

export const a = (name: string, content: string, ttl = 300): DnsRecord => ({ name, type: 'A', content, ttl });
export const aaaa = (name: string, content: string, ttl = 300): DnsRecord => ({ name, type: 'AAAA', content, ttl });
export const cname = (name: string, content: string, ttl = 300): DnsRecord => ({ name, type: 'CNAME', content, ttl });

const key = (r: DnsRecord) => `${r.type} ${r.content} ${r.ttl}`;
/** Records without provider ids, sorted: what two reads must agree on. */
export const canon = (records: DnsRecord[]) =>
  records.map(({ name, type, content, ttl }) => ({ name, type, content, ttl })).sort((x, y) => (key(x) < key(y) ? -1 : 1));

/** The change set that turns `before` into `desired`: removes what is not desired, adds what is missing. */
export function plan(name: string, owner: Owner, before: NameState, desired: DnsRecord[]): ChangeSet {
  const want = new Set(desired.map(key));
  const have = new Set(before.records.map(key));
  return { name, owner, before, remove: before.records.filter((r) => !want.has(key(r))), add: desired.filter((r) => !have.has(key(r))) };
}

/** Reads, plans and applies `desired` at `name`; returns the read after. */
export async function converge(p: DnsProvider, name: string, owner: Owner, desired: DnsRecord[]): Promise<NameState> {
  await p.apply(plan(name, owner, await p.read(name, owner), desired));
  return p.read(name, owner);
}

/** Resolves to the ProviderError `promise` rejects with; fails when it resolves or rejects otherwise. */
export async function rejection(promise: Promise<unknown>, kind: ProviderError['kind']): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  expect((error as ProviderError).kind).toBe(kind);
  return error as ProviderError;
}

type Check = (t: ContractTarget) => Promise<void>;

/** The checks, by title. */
export const checks: Record<string, Check> = {
  'reads an empty name': async ({ provider, zone }) => {
    const state = await provider.read(`empty.${zone}`, OWNER);
    expect([state.records, state.foreign]).toEqual([[], 0]);
  },
  'adds A and AAAA records and reads them back exactly': async ({ provider, zone }) => {
    const name = `add.${zone}`;
    const desired = [a(name, '192.0.2.1'), aaaa(name, '2001:db8::1'), a(name, '192.0.2.2')];
    const after = await converge(provider, name, OWNER, desired);
    expect([canon(after.records), after.foreign]).toEqual([canon(desired), 0]);
  },
  'adds a CNAME and reads it back exactly': async ({ provider, zone }) => {
    const name = `alias.${zone}`;
    const after = await converge(provider, name, OWNER, [cname(name, 'origin.example.net')]);
    expect([canon(after.records), after.foreign]).toEqual([[cname(name, 'origin.example.net')], 0]);
  },
  'replaces a set in one change set': async ({ provider, zone }) => {
    const name = `replace.${zone}`;
    await converge(provider, name, OWNER, [a(name, '192.0.2.1'), a(name, '192.0.2.2')]);
    const before = await provider.read(name, OWNER);
    const desired = [a(name, '192.0.2.2'), a(name, '192.0.2.3'), aaaa(name, '2001:db8::2')];
    const changes = plan(name, OWNER, before, desired);
    expect([changes.remove.length, changes.add.length]).toEqual([1, 2]);
    await provider.apply(changes);
    expect(canon((await provider.read(name, OWNER)).records)).toEqual(canon(desired));
  },
  'swaps address records for a CNAME in one change set (removals first)': async ({ provider, zone }) => {
    const name = `swap.${zone}`;
    await converge(provider, name, OWNER, [a(name, '192.0.2.1'), aaaa(name, '2001:db8::1')]);
    const after = await converge(provider, name, OWNER, [cname(name, 'origin.example.net')]);
    expect(canon(after.records)).toEqual([cname(name, 'origin.example.net')]);
  },
  'removes all our records': async ({ provider, zone }) => {
    const name = `remove.${zone}`;
    await converge(provider, name, OWNER, [a(name, '192.0.2.1'), aaaa(name, '2001:db8::1')]);
    const after = await converge(provider, name, OWNER, []);
    expect([after.records, after.foreign]).toEqual([[], 0]);
  },
  'counts foreign records, never returns or removes them': async ({ provider, zone, plantForeign }) => {
    const name = `foreign.${zone}`;
    await plantForeign(a(name, '198.51.100.7'));
    await plantForeign(aaaa(name, '2001:db8::99', 600));
    const first = await provider.read(name, OWNER);
    expect([first.records, first.foreign]).toEqual([[], 2]);
    const ours = await converge(provider, name, OWNER, [a(name, '192.0.2.1')]);
    expect([canon(ours.records), ours.foreign]).toEqual([[a(name, '192.0.2.1')], 2]);
    const emptied = await converge(provider, name, OWNER, []);
    expect([emptied.records, emptied.foreign]).toEqual([[], 2]);
  },
  "another owner's and another load balancer's records are not ours": async ({ provider, zone }) => {
    const name = `shared.${zone}`;
    await converge(provider, name, OTHER_OWNER, [a(name, '198.51.100.10')]);
    await converge(provider, name, OTHER_LB, [a(name, '198.51.100.11')]);
    const mine = await provider.read(name, OWNER);
    expect([mine.records, mine.foreign]).toEqual([[], 2]);
    await converge(provider, name, OWNER, [a(name, '192.0.2.1')]);
    await converge(provider, name, OWNER, []);
    const theirs = await provider.read(name, OTHER_OWNER);
    const otherLb = await provider.read(name, OTHER_LB);
    expect([canon(theirs.records), theirs.foreign]).toEqual([[a(name, '198.51.100.10')], 1]);
    expect([canon(otherLb.records), otherLb.foreign]).toEqual([[a(name, '198.51.100.11')], 1]);
  },
  'a change behind our back makes the stale plan a conflict that applies nothing': async ({ provider, zone, changeBehind }) => {
    const name = `stale.${zone}`;
    const desired = [a(name, '192.0.2.1'), a(name, '192.0.2.2')];
    const before = await converge(provider, name, OWNER, desired);
    await changeBehind(name);
    const behind = await provider.read(name, OWNER);
    expect(canon(behind.records)).not.toEqual(canon(before.records));
    await rejection(provider.apply(plan(name, OWNER, before, [...desired, a(name, '192.0.2.3')])), 'conflict');
    const after = await provider.read(name, OWNER);
    expect([canon(after.records), after.foreign]).toEqual([canon(behind.records), behind.foreign]);
    expect(canon((await converge(provider, name, OWNER, desired)).records)).toEqual(canon(desired));
  },
  'a plan on a read our own apply made stale is a conflict': async ({ provider, zone }) => {
    const name = `own-stale.${zone}`;
    const r0 = await converge(provider, name, OWNER, [a(name, '192.0.2.1')]);
    await provider.apply(plan(name, OWNER, r0, [a(name, '192.0.2.1'), a(name, '192.0.2.2')]));
    await rejection(provider.apply(plan(name, OWNER, r0, [a(name, '192.0.2.1'), a(name, '192.0.2.3')])), 'conflict');
    expect(canon((await provider.read(name, OWNER)).records)).toEqual(canon([a(name, '192.0.2.1'), a(name, '192.0.2.2')]));
  },
  'apply is idempotent when re-planned from a fresh read': async ({ provider, zone }) => {
    const name = `idempotent.${zone}`;
    const desired = [a(name, '192.0.2.1'), aaaa(name, '2001:db8::1')];
    const first = await converge(provider, name, OWNER, desired);
    const again = plan(name, OWNER, first, desired);
    expect([again.remove, again.add]).toEqual([[], []]);
    await provider.apply(again);
    const byKey = (s: NameState) => [...s.records].sort((x, y) => (key(x) < key(y) ? -1 : 1));
    expect(byKey(await provider.read(name, OWNER))).toEqual(byKey(first));
  },
  'keeps TTLs, and a TTL change replaces the record': async ({ provider, zone }) => {
    const name = `ttl.${zone}`;
    const desired = [a(name, '192.0.2.1', 60), aaaa(name, '2001:db8::1', 3600)];
    expect(canon((await converge(provider, name, OWNER, desired)).records)).toEqual(canon(desired));
    const changed = [a(name, '192.0.2.1', 120), aaaa(name, '2001:db8::1', 3600)];
    expect(canon((await converge(provider, name, OWNER, changed)).records)).toEqual(canon(changed));
  },
};

/** Registers every check against providers from `make` (a fresh target per check, closed after). */
export function providerContract(name: string, make: () => Promise<ContractTarget>): void {
  describe(`DnsProvider contract: ${name}`, () => {
    for (const [title, check] of Object.entries(checks)) {
      test(title, async () => {
        const target = await make();
        try {
          await check(target);
        } finally {
          await target.close();
        }
      });
    }
  });
}

/** A target over the memory provider; `mutate` may break the provider (the self-test below). */
export function memoryTarget(mutate: (p: MemoryProvider) => DnsProvider = (p) => p): ContractTarget {
  const zone = memoryZone('example.test');
  const provider = memoryProvider(zone);
  return {
    provider: mutate(provider),
    zone: zone.zone,
    plantForeign: async (record) => void zone.plant(record),
    async changeBehind(name) {
      const ours = zone.recordsAt(name).find((r) => r.owner?.ownerId === OWNER.ownerId && r.owner.lbId === OWNER.lbId);
      if (!ours) throw new Error(`no record of ours at ${name}`);
      zone.alter(ours.id, ours.type === 'CNAME' ? `changed.${ours.content}` : ours.type === 'A' ? '203.0.113.254' : '2001:db8::fe');
    },
    close: async () => {},
  };
}

// Each mutant breaks one promise; the named checks must catch it.
const mutants: [string, string[], (p: MemoryProvider) => DnsProvider][] = [
  [
    'read returns foreign records too',
    ['counts foreign records, never returns or removes them'],
    (p) => ({ ...p, read: async (n) => ({ records: p.zone.recordsAt(n), foreign: 0, revision: String(p.zone.revisionOf(n)) }) }),
  ],
  [
    'ownership ignores the load balancer id',
    ["another owner's and another load balancer's records are not ours"],
    (p) => ({ ...p, read: (n, o) => p.read(n, { ...o, lbId: 'lb-1' }), apply: (c) => p.apply({ ...c, owner: { ...c.owner, lbId: 'lb-1' } }) }),
  ],
  [
    'apply ignores a stale before',
    ['a change behind our back makes the stale plan a conflict that applies nothing', 'a plan on a read our own apply made stale is a conflict'],
    (p) => ({ ...p, apply: (c) => p.apply({ ...c, before: { ...c.before, revision: String(p.zone.revisionOf(c.name)) } }) }),
  ],
  [
    'read loses TTLs',
    ['keeps TTLs, and a TTL change replaces the record'],
    (p) => ({
      ...p,
      read: async (n, o) => {
        const s = await p.read(n, o);
        return { ...s, records: s.records.map((r) => ({ ...r, ttl: 300 })) };
      },
    }),
  ],
  [
    'apply drops removals',
    ['replaces a set in one change set', 'removes all our records', 'swaps address records for a CNAME in one change set (removals first)'],
    (p) => ({ ...p, apply: (c) => p.apply({ ...c, remove: [] }) }),
  ],
  [
    'apply adds nothing',
    ['adds A and AAAA records and reads them back exactly', 'adds a CNAME and reads it back exactly'],
    (p) => ({ ...p, apply: (c) => p.apply({ ...c, add: [] }) }),
  ],
];

if (expect.getState().testPath === new URL(import.meta.url).pathname) {
  describe('the contract catches broken providers', () => {
    for (const [mutant, titles, mutate] of mutants)
      for (const title of titles) test(`${mutant}: "${title}" fails`, async () => expect(checks[title]!(memoryTarget(mutate))).rejects.toThrow());
  });
  providerContract('memory (baseline for the mutants)', async () => memoryTarget());
}
