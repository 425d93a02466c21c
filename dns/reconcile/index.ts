/**
 * DNS failover, pure: which records a DNS-only load balancer (`proxied: false`, `dns: {zone,
 * max_records}`) should publish given its pools' health, and the smallest change set that takes
 * what a provider holds (dns/provider.ts NameState) there. LbState's `dns` job
 * (durable-objects/lb-state/dns.ts) runs both; nothing here does I/O or reads a clock.
 *
 * The answer follows routing's failover order (core/route `poolOrder`: `default_pools`, then
 * `fallback_pool`; `steering_policy` does not apply, a record set is the same for every resolver)
 * and routing's pool verdict (core/health/verdict): the first pool with at least `minimum_origins`
 * usable origins is published; when none has that many, the first with any usable origin (what
 * routing's last resort serves); when nothing is usable at all, the fallback pool's origins that
 * take traffic, whatever their health: Cloudflare's DNS-only load balancers answer with the
 * fallback pool when every pool is down, never with an empty answer.
 */
import type { LoadBalancer, Origin, Pool } from '../../core/config/index.ts';
import { countUsable, originCounts, type UsableAt } from '../../core/health/verdict.ts';
import { poolOrder, type CompiledPool } from '../../core/route/index.ts';
import { takesTraffic } from '../../core/steer/index.ts';
import type { ChangeSet, DnsRecord, NameState, Owner } from '../provider.ts';

/** `dns.max_records` when a load balancer does not say (the schema's default). */
export const DEFAULT_MAX_RECORDS = 8;

/** What a load balancer should publish at `name`, and why. */
export interface Desired {
  /** The load balancer's hostname: lower-case, no trailing dot. */
  name: string;
  /** Sorted by type, then content (deterministic). */
  records: DnsRecord[];
  /** The pool whose origins are published; undefined when no pool has an origin that takes traffic. */
  pool?: string;
  /** How the pool was chosen: `healthy` (≥ minimum_origins usable), `last_resort` (some usable), `fallback` (nothing usable), `none`. */
  basis: 'healthy' | 'last_resort' | 'fallback' | 'none';
  /** Origins left out and why (hostname among addresses, max_records, duplicate address). */
  notes: string[];
}

/**
 * The records `lb` should publish: A for IPv4 and AAAA for IPv6 origin addresses (RFC 5952 text),
 * a CNAME only when a hostname origin is the whole answer (RFC 1034 §3.6.2: a CNAME stands alone;
 * hostname origins beside addresses are left out, with a note), at most `lb.dns.max_records`
 * (default 8) chosen by origin weight (highest first), then name; TTL `lb.ttl` (seconds).
 * Disabled, draining and zero-weight origins are never published. `pools`: at least the pools
 * `lb` references (others are ignored); `usable`: health, as routing sees it.
 */
export function desiredRecords(lb: LoadBalancer, pools: readonly Pool[], usable: UsableAt): Desired {
  // poolOrder reads only `.pool` of each entry: routing's order without building selectors.
  const byId = new Map(pools.map((pool) => [pool.id, { pool } as CompiledPool]));
  const order = poolOrder(byId, lb).map((c) => c.pool);
  const name = lb.name.toLowerCase().replace(/\.$/, '');
  let basis: Desired['basis'] = 'healthy';
  let pool = order.find((p) => countUsable(p, usable, p.minimum_origins) >= p.minimum_origins);
  if (!pool) {
    basis = 'last_resort';
    pool = order.find((p) => countUsable(p, usable, 1) >= 1);
  }
  let chosen: Origin[];
  if (pool) chosen = pool.origins.filter((_, i) => originCounts(pool!, i, usable));
  else {
    // Nothing usable: the fallback pool (even disabled), else the first pool with an enabled origin.
    basis = 'fallback';
    const fallback = pools.find((p) => p.id === lb.fallback_pool);
    pool = [fallback, ...order].find((p) => p?.origins.some(takesTraffic));
    chosen = pool?.origins.filter(takesTraffic) ?? [];
  }
  if (!pool)
    return { name, records: [], basis: 'none', notes: ['no pool has an origin that takes traffic (enabled, not draining, weight > 0): nothing to publish'] };
  const { records, notes } = recordsOf(name, chosen, lb.ttl, lb.dns?.max_records ?? DEFAULT_MAX_RECORDS);
  return { name, records, pool: pool.id, basis, notes };
}

/** The records for `origins` (see desiredRecords), with notes on what was left out. */
function recordsOf(name: string, origins: readonly Origin[], ttl: number, max: number): { records: DnsRecord[]; notes: string[] } {
  const ranked = [...origins].sort((a, b) => b.weight - a.weight || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const notes: string[] = [];
  const addresses = ranked.flatMap((o) => {
    const type = addressType(o.address);
    return type ? [{ o, type, content: type === 'AAAA' ? rfc5952(o.address) : o.address }] : [];
  });
  const hostnames = ranked.filter((o) => !addressType(o.address));
  if (!addresses.length && hostnames.length) {
    const [top, ...rest] = hostnames;
    for (const o of rest) notes.push(`origin ${o.name} (${o.address}) left out: a CNAME stands alone, ${top!.name} is published`);
    return { records: [{ name, type: 'CNAME', content: top!.address.toLowerCase().replace(/\.$/, ''), ttl }], notes };
  }
  for (const o of hostnames) notes.push(`origin ${o.name} (${o.address}) left out: a hostname cannot be published beside addresses (no CNAME beside A/AAAA)`);
  const seen = new Set<string>();
  const records: DnsRecord[] = [];
  for (const { o, type, content } of addresses) {
    const key = `${type} ${content}`;
    if (seen.has(key)) {
      notes.push(`origin ${o.name} left out: ${content} is published already`);
      continue;
    }
    seen.add(key);
    if (records.length >= max) {
      notes.push(`origin ${o.name} (${content}) left out: max_records is ${max}`);
      continue;
    }
    records.push({ name, type, content, ttl });
  }
  return { records: records.sort(byTypeContent), notes };
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** A for an IPv4 address, AAAA for an IPv6 one (the config validated both), undefined for a hostname. */
export function addressType(address: string): 'A' | 'AAAA' | undefined {
  return IPV4.test(address) ? 'A' : address.includes(':') ? 'AAAA' : undefined;
}

/** RFC 5952 text of an IPv6 address (lower case, zeros compressed), by the WHATWG URL serializer, as dns-packet prints it. */
export function rfc5952(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

const byTypeContent = (a: DnsRecord, b: DnsRecord) => (a.type + a.content < b.type + b.content ? -1 : a.type + a.content > b.type + b.content ? 1 : 0);
const same = (a: DnsRecord, b: DnsRecord) => a.type === b.type && a.content === b.content && a.ttl === b.ttl;

/**
 * The minimal change set from `state` to `desired` at `desired.name` for `owner`: records equal by
 * type, content and TTL stay; every other record we own there is removed (with its provider id)
 * and every missing one added. Nothing to do → `remove` and `add` both empty (see isEmpty), so a
 * second run against what the first applied sends nothing.
 */
export function plan(desired: Pick<Desired, 'name' | 'records'>, state: NameState, owner: Owner): ChangeSet {
  const left = [...state.records];
  const add: DnsRecord[] = [];
  for (const d of desired.records) {
    const at = left.findIndex((r) => same(r, d));
    if (at >= 0) left.splice(at, 1);
    else add.push({ name: desired.name, type: d.type, content: d.content, ttl: d.ttl });
  }
  return { name: desired.name, owner, before: state, remove: left, add };
}

/** Whether a change set changes nothing. */
export const isEmpty = (c: ChangeSet): boolean => c.remove.length === 0 && c.add.length === 0;

/** What a name holds after `changes` were applied to `changes.before` (our records; ids of added ones unknown). */
export function applied(changes: ChangeSet): DnsRecord[] {
  const kept = changes.before.records.filter((r) => !changes.remove.includes(r));
  return [...kept, ...changes.add];
}

/** Whether `name` lies in `zone` (both lower-case, no trailing dot): the apex or below it. */
export const inZone = (name: string, zone: string): boolean => name === zone || name.endsWith(`.${zone}`);
