/**
 * The in-memory reference provider: a zone store with an explicit revision per name, and a
 * DnsProvider over it that behaves the way the contract (dns/provider.case.test.ts) says every
 * provider must. Tests and benchmarks use it where no DNS server is wanted; `calls` counts what
 * reconcile asked of it.
 *
 * Ownership is a field of each stored record (`owner`), standing for Cloudflare's comment or an
 * RFC 2136 registry TXT record. A record without one was planted by "another tool".
 *
 * Conflicts: every change at a name (ours, foreign, behind our back) bumps that name's revision;
 * `apply` refuses with 'conflict' unless `changes.before.revision` is the current one, like an
 * RFC 2136 prerequisite on the whole name (RFC 2136 §2.4) — stricter than Cloudflare's provider,
 * which compares only what it read.
 */
import { ProviderError, type ChangeSet, type DnsProvider, type DnsRecord, type NameState, type Owner } from '../provider.ts';

/** A record as the store holds it: always with an id; `owner` absent for foreign records. */
export interface StoredRecord extends DnsRecord {
  id: string;
  owner?: Owner;
}

/** The backend: what a DNS server would hold for one zone. */
export interface MemoryZone {
  readonly zone: string;
  /** Every record at `name` (ours and foreign), copies. */
  recordsAt(name: string): StoredRecord[];
  /** The revision of `name`: 0 before any change, +1 per change set or backend edit. */
  revisionOf(name: string): number;
  /** Adds a record as another tool would (no owner unless given). Throws ProviderError 'invalid' as `apply` would. */
  plant(record: DnsRecord, owner?: Owner): StoredRecord;
  /** Replaces the content of the record with `id` (a change behind the provider's back). */
  alter(id: string, content: string): void;
}

/** The provider, with how often each method was called (benchmarks, tests). */
export interface MemoryProvider extends DnsProvider {
  readonly zone: MemoryZone;
  readonly calls: { read: number; apply: number };
}

interface NameEntry {
  revision: number;
  records: StoredRecord[];
}

const sameOwner = (a: Owner | undefined, b: Owner) => a !== undefined && a.ownerId === b.ownerId && a.lbId === b.lbId;
const sameRecord = (a: DnsRecord, b: DnsRecord) => a.type === b.type && a.content === b.content;

/** A store for `zone` (lower-case, no trailing dot). */
export function memoryZone(zone: string): MemoryZone & { commit(name: string, next: StoredRecord[]): void; nextId(): string } {
  const names = new Map<string, NameEntry>();
  let ids = 0;
  const entry = (name: string) => names.get(name) ?? { revision: 0, records: [] };
  const copy = (r: StoredRecord): StoredRecord => ({ ...r, ...(r.owner && { owner: { ...r.owner } }) });
  const store = {
    zone,
    recordsAt: (name: string) => entry(name).records.map(copy),
    revisionOf: (name: string) => entry(name).revision,
    nextId: () => `mem-${++ids}`,
    /** Replaces the records at `name` after checking what a DNS server would refuse (RFC 1034 §3.6.2: a CNAME stands alone). */
    commit(name: string, next: StoredRecord[]) {
      for (const r of next) {
        if (r.name !== name || !(r.name === zone || r.name.endsWith(`.${zone}`)))
          throw new ProviderError('invalid', `${r.name} is not ${name} in zone ${zone}`);
        if (!Number.isInteger(r.ttl) || r.ttl < 1) throw new ProviderError('invalid', `ttl ${r.ttl} of ${r.name} is not a positive integer`);
      }
      if (next.some((r) => r.type === 'CNAME') && next.length > 1) throw new ProviderError('invalid', `a CNAME at ${name} cannot have other records beside it`);
      if (next.some((r, i) => next.findIndex((o) => sameRecord(o, r)) !== i)) throw new ProviderError('invalid', `identical records at ${name}`);
      names.set(name, { revision: entry(name).revision + 1, records: next.map(copy) });
    },
    plant(record: DnsRecord, owner?: Owner) {
      const stored: StoredRecord = { ...record, id: store.nextId(), ...(owner && { owner: { ...owner } }) };
      store.commit(record.name, [...entry(record.name).records, stored]);
      return copy(stored);
    },
    alter(id: string, content: string) {
      for (const [name, e] of names) {
        const at = e.records.findIndex((r) => r.id === id);
        if (at >= 0)
          return store.commit(
            name,
            e.records.map((r, i) => (i === at ? { ...r, content } : r)),
          );
      }
      throw new Error(`no record ${id}`);
    },
  };
  return store;
}

/**
 * A DnsProvider over `zone` (a fresh store for `zoneName` when a string is given).
 *
 * - read: our records (owner matches exactly) without the `owner` field, the count of the others,
 *   `revision` = the name's revision as a decimal string.
 * - apply: an empty change set is a no-op; otherwise ProviderError 'conflict' when the name's revision moved since `before`; 'invalid' when a
 *   record to remove is not ours at the name or the result breaks a DNS rule (nothing is applied).
 */
export function memoryProvider(zone: string | ReturnType<typeof memoryZone>): MemoryProvider {
  const store = typeof zone === 'string' ? memoryZone(zone) : zone;
  const calls = { read: 0, apply: 0 };
  return {
    kind: 'memory',
    zone: store,
    calls,
    async read(name: string, owner: Owner): Promise<NameState> {
      calls.read++;
      const all = store.recordsAt(name);
      const records = all.filter((r) => sameOwner(r.owner, owner)).map(({ owner: _, ...r }) => r);
      return { records, foreign: all.length - records.length, revision: String(store.revisionOf(name)) };
    },
    async apply(changes: ChangeSet): Promise<void> {
      calls.apply++;
      const { name, owner, before, remove, add } = changes;
      if (remove.length === 0 && add.length === 0) return;
      if (before.revision !== String(store.revisionOf(name))) throw new ProviderError('conflict', `${name} changed since it was read`);
      let next = store.recordsAt(name);
      for (const r of remove) {
        const at = next.findIndex((s) => sameOwner(s.owner, owner) && (r.id !== undefined ? s.id === r.id : sameRecord(s, r)));
        if (at < 0) throw new ProviderError('invalid', `${r.type} ${r.content} at ${name} is not ours to remove`);
        next = next.filter((_, i) => i !== at);
      }
      for (const r of add) next.push({ name: r.name, type: r.type, content: r.content, ttl: r.ttl, id: store.nextId(), owner: { ...owner } });
      store.commit(name, next);
    },
  };
}
