/**
 * The RFC 2136 messages of the provider: the queries that read a name, the NameState they
 * answer, and the UPDATE that applies a change set only to the state that was read.
 *
 * Ownership is recorded in the style of kubernetes-sigs/external-dns's TXT registry, per record
 * since owners may share a name (and an RRset): for each of our records a TXT at `_edge-lb.<name>`
 * (prefixed: a CNAME cannot share its name with a TXT) holding
 * `heritage=edge-lb,edge-lb/owner=<ownerId>,edge-lb/load-balancer=<lbId>,edge-lb/record=<TYPE> <content>`.
 * A record is ours when such a TXT names it; the TXT is added and deleted in the same UPDATE as it.
 * `@dnsquery/dns-packet` encodes names, RDATA and queries; what it lacks is written here: the
 * UPDATE header (opcode 5), class NONE (254) and RRs with empty RDATA (RFC 2136 §2.4, §2.5).
 */
import * as dnsPacket from '@dnsquery/dns-packet';
import type { ChangeSet, DnsRecord, NameState, Owner, RecordType } from '../provider.ts';
import { concat, u16 } from './tsig.ts';

/**
 * What a read saw: the A, AAAA, CNAME RRsets at the name and the TXT RRset at its owner name, each
 * RDATA in hex; and `OTHER`, the types of the other records at the name (from an ANY query).
 */
export type Observed = Record<RecordType | 'TXT' | 'OTHER', string[]>;

const TYPES = ['A', 'AAAA', 'CNAME', 'TXT'] as const;
const TYPE_CODE = { A: 1, CNAME: 5, TXT: 16, AAAA: 28, SOA: 6 } as const;
const IN = 1;
const NONE = 254;
const ANY = 255;
const UPDATE = 5 << 11;
const PREFIX = '_edge-lb.';
const RECORD = 'edge-lb/record=';
/** Types at a name that do not keep a CNAME from it: ours, and DNSSEC's (RFC 4035 §2.5). */
const NOT_OTHER = ['A', 'AAAA', 'CNAME', 'RRSIG', 'NSEC', 'NSEC3'];

/** The name of the ownership TXTs of `name` (`_edge-lb.<name>`). */
export function ownerName(name: string): string {
  return PREFIX + name;
}

/** The ownership TXT's text marking `record` as `owner`'s (its content normalized as a read returns it). */
export function ownerText(owner: Owner, record: Pick<DnsRecord, 'type' | 'content'>): string {
  return `heritage=edge-lb,edge-lb/owner=${owner.ownerId},edge-lb/load-balancer=${owner.lbId},${RECORD}${record.type} ${normalize(record)}`;
}

/**
 * The five queries that read `name` (A, AAAA, CNAME at the name, TXT at its owner name, then ANY
 * at the name; class IN, RFC 1035 §4.1.2), with the given five message IDs.
 */
export function readQueries(name: string, ids: number[]): Uint8Array[] {
  return [...TYPES, 'ANY' as const].map((type, i) =>
    dnsPacket.encode({ type: 'query', id: ids[i], questions: [{ type, name: type === 'TXT' ? ownerName(name) : name }] }),
  );
}

/**
 * The NameState of `name` for `owner` from the decoded answers to readQueries (same order): the
 * address and CNAME records an ownership TXT of `owner` names, and a count of the others in
 * `foreign`. `revision`: the Observed RRsets as JSON (the UPDATE's prerequisites).
 */
export function nameState(name: string, owner: Owner, answers: dnsPacket.Packet[]): NameState {
  const observed = {} as Observed;
  const found: DnsRecord[] = [];
  TYPES.forEach((type, i) => {
    const at = type === 'TXT' ? ownerName(name) : name;
    const rrs = (answers[i]?.answers ?? []).filter((a) => a.type === type && canonical(a.name) === at);
    observed[type] = rrs.map((a) => toHex(rdata(type, a.data)));
    if (type !== 'TXT') for (const a of rrs) found.push({ name, type, content: normalize({ type, content: a.data as string }), ttl: a.ttl ?? 0 });
  });
  const others = (answers[4]?.answers ?? []).filter((a) => canonical(a.name) === name && !NOT_OTHER.includes(a.type));
  observed.OTHER = [...new Set(others.map((a) => a.type))];
  const texts = new Set(observed.TXT.map(textOf));
  const records = found.filter((r) => texts.has(ownerText(owner, r)));
  return { records, foreign: found.length - records.length, revision: JSON.stringify(observed) };
}

/**
 * The UPDATE message (RFC 2136 §2) applying `changes` to `zone` (apex, no trailing dot), ID `id`:
 * zone section SOA of the zone; prerequisites pinning every RRset read (§2.4.2 "RRset exists
 * (value dependent)", or §2.4.3 "RRset does not exist" where there was none); updates (§2.5)
 * deleting first (class ANY for a whole RRset, class NONE for one RR), then adding, each record
 * with its ownership TXT. A record another owner also claims loses only our TXT.
 * Throws a RangeError for what the server would refuse or silently skip (RFC 2136 §3.4.2.2): a
 * CNAME beside other data at the name, an added record that exists and is not ours, one RRset with
 * two TTLs; or an unreadable revision in `changes.before`.
 */
export function buildUpdate(zone: string, changes: ChangeSet, id: number): Uint8Array {
  const { name, owner } = changes;
  const seen = observedOf(changes);
  const at = (type: (typeof TYPES)[number]) => (type === 'TXT' ? ownerName(name) : name);
  const prerequisites = TYPES.flatMap((type) =>
    seen[type].length === 0 ? [rr(at(type), type, NONE, 0, new Uint8Array(0))] : seen[type].map((hex) => rr(at(type), type, IN, 0, fromHex(hex))),
  );
  const texts = seen.TXT.map(textOf);
  const claimedByOthers = (r: DnsRecord) =>
    texts.some((t) => t.startsWith('heritage=edge-lb,') && t.endsWith(`,${RECORD}${r.type} ${normalize(r)}`) && t !== ownerText(owner, r));
  const hex = (r: DnsRecord) => toHex(rdata(r.type, r.content));
  const after = new Map((['A', 'AAAA', 'CNAME'] as const).map((type) => [type, new Set(seen[type])]));
  const updates: Uint8Array[] = [];
  for (const type of ['A', 'AAAA', 'CNAME'] as const) {
    const removed = new Set(changes.remove.filter((r) => r.type === type && !claimedByOthers(r)).map(hex));
    removed.forEach((h) => after.get(type)!.delete(h));
    if (removed.size > 0 && after.get(type)!.size === 0) updates.push(rr(name, type, ANY, 0, new Uint8Array(0)));
    else for (const h of removed) updates.push(rr(name, type, NONE, 0, fromHex(h)));
  }
  for (const r of changes.remove) updates.push(rr(ownerName(name), 'TXT', NONE, 0, rdata('TXT', ownerText(owner, r))));
  for (const r of changes.add) {
    if (after.get(r.type)!.has(hex(r)) && !changes.before.records.some((o) => o.type === r.type && normalize(o) === normalize(r)))
      throw new RangeError(`${r.type} ${r.content} exists at ${name} and is not ours`);
    if (changes.add.some((o) => o.type === r.type && o.ttl !== r.ttl)) throw new RangeError(`the ${r.type} records of ${name} would have different TTLs`);
    after.get(r.type)!.add(hex(r));
    updates.push(rr(name, r.type, IN, r.ttl, rdata(r.type, r.content)), rr(ownerName(name), 'TXT', IN, r.ttl, rdata('TXT', ownerText(owner, r))));
  }
  if (after.get('CNAME')!.size > 0 && (after.get('A')!.size + after.get('AAAA')!.size + after.get('CNAME')!.size > 1 || seen.OTHER.length > 0))
    throw new RangeError(`a CNAME at ${name} cannot share the name with other records`);
  const header = concat(u16(id), u16(UPDATE), u16(1), u16(prerequisites.length), u16(updates.length), u16(0));
  return concat(header, dnsPacket.name.encode(zone), u16(TYPE_CODE.SOA), u16(IN), ...prerequisites, ...updates);
}

/** What the change set was planned against: its revision, or (none given) what its records imply. */
function observedOf(changes: ChangeSet): Observed {
  const revision = changes.before.revision;
  if (revision !== undefined) {
    const parsed = JSON.parse(revision) as Partial<Observed>;
    if (!TYPES.every((t) => Array.isArray(parsed[t]))) throw new RangeError('the revision of changes.before is not one this provider wrote');
    return { OTHER: [], ...parsed } as Observed;
  }
  const records = changes.before.records;
  const of = (type: RecordType) => records.filter((r) => r.type === type).map((r) => toHex(rdata(type, r.content)));
  return { A: of('A'), AAAA: of('AAAA'), CNAME: of('CNAME'), TXT: records.map((r) => toHex(rdata('TXT', ownerText(changes.owner, r)))), OTHER: [] };
}

/** One RR in wire form (RFC 1035 §4.1.3) with a numeric class: dns-packet knows no class NONE. */
function rr(name: string, type: keyof typeof TYPE_CODE, klass: number, ttl: number, data: Uint8Array): Uint8Array {
  return concat(dnsPacket.name.encode(name), u16(TYPE_CODE[type]), u16(klass), u16(Math.floor(ttl / 65536)), u16(ttl & 0xffff), u16(data.length), data);
}

/** The RDATA (without RDLENGTH) of a record of `type` from its text (TXT: one string, split in 255-byte pieces) or decoded form. */
function rdata(type: RecordType | 'TXT', content: unknown): Uint8Array {
  if (type === 'TXT') {
    const text = typeof content === 'string' ? chunks(new TextEncoder().encode(content)) : (content as Uint8Array[]);
    return dnsPacket.txt.encode(text).slice(2);
  }
  const codec = { A: dnsPacket.a, AAAA: dnsPacket.aaaa, CNAME: dnsPacket.cname }[type] as dnsPacket.Codec<unknown>;
  return codec.encode(type === 'CNAME' ? canonical(content as string) : content).slice(2);
}

function chunks(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 255) out.push(bytes.slice(i, i + 255));
  return out.length ? out : [new Uint8Array(0)];
}

/** The text of a TXT RDATA in hex (its character-strings concatenated, RFC 1035 §3.3.14). */
function textOf(hex: string): string {
  const bytes = fromHex(hex);
  const decoder = new TextDecoder();
  return dnsPacket.txt
    .decode(concat(u16(bytes.length), bytes))
    .map((s) => decoder.decode(s))
    .join('');
}

/** A record's content as a read returns it: the address as dns-packet prints it (RFC 5952 for AAAA), a canonical CNAME target. */
function normalize(r: Pick<DnsRecord, 'type' | 'content'>): string {
  if (r.type === 'CNAME') return canonical(r.content);
  const codec = r.type === 'A' ? dnsPacket.a : dnsPacket.aaaa;
  return codec.decode(codec.encode(r.content));
}

/** A domain name as DnsRecord holds it: lower case, no trailing dot. */
export function canonical(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}
