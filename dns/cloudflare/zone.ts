/**
 * A whole Cloudflare zone at once, for a writer that serves many load balancers (durable-objects/dns-zone):
 * one paged listing of every A/AAAA/CNAME record of the zone, and one `POST /zones/:zone_id/dns_records/batch`
 * carrying many callers' deletes and posts. Same client settings, ownership mark (`ownerMark`) and
 * error mapping as the single-name provider (./index.ts), whose `read` is `stateAt` over a listing.
 *
 * - list(): `GET /zones/:zone_id/dns_records?page=<n>&per_page=<perPage>` without filters ("List DNS Records",
 *   https://developers.cloudflare.com/api/resources/dns/subresources/records/methods/list/), following
 *   `result_info.total_pages`. Every type is kept (a CNAME cannot join a name holding any record);
 *   at most `maxRecords` records (ProviderError 'invalid' beyond: the listing lives in memory).
 * - batch({ deletes, posts }): one transaction, deletes → patches → puts → posts
 *   ("Batch DNS Records", https://developers.cloudflare.com/api/resources/dns/subresources/records/methods/batch/):
 *   nothing of it applies when it fails.
 *
 * Errors are ProviderErrors as in ./index.ts: 401/403 or an auth error code → 'auth'; 429 →
 * 'rate_limited' with `retryAfterMs`; 5xx and transport failures → 'unreachable'; other 4xx →
 * 'invalid'. Messages name `what` and Cloudflare's error codes, never the token.
 */
import { dnsClient, providerError as toProviderError } from './client.ts';
import { ProviderError, type ChangeSet, type DnsRecord, type NameState, type Owner, type RecordType } from '../provider.ts';
import { ownerMark, type CloudflareProviderOptions } from './index.ts';

/** One record of the zone as listed: `name` lower-case, CNAME content lower-case; `type` any DNS type. */
export interface ZoneRecord extends Omit<Required<DnsRecord>, 'type'> {
  type: string;
  comment: string | null;
}

/** The zone's records by name (lower-case FQDN). */
export type ZoneListing = Map<string, ZoneRecord[]>;

/** A record to create, and whose it is (its comment becomes `ownerMark(owner)`). */
export interface ZonePost {
  record: DnsRecord;
  owner: Owner;
}

export interface CloudflareZone {
  /** Every record of the zone, all pages; `pages`: requests it took. Throws ProviderError. */
  list(): Promise<{ records: ZoneListing; pages: number }>;
  /** One batch request: delete `deletes` (record ids), create `posts`, all or nothing. Throws ProviderError (message prefixed `what`). */
  batch(body: { deletes: string[]; posts: ZonePost[] }, what: string): Promise<void>;
}

export interface CloudflareZoneOptions extends Omit<CloudflareProviderOptions, 'perPage'> {
  /** Records per list page, default 5,000 (the API takes up to 5,000,000; fewer requests for big zones). */
  perPage?: number;
  /** Most records a listing may hold, default 50,000. */
  maxRecords?: number;
}

const TYPES: ReadonlySet<string> = new Set<RecordType>(['A', 'AAAA', 'CNAME']);
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** What the zone holds at `name` for `owner`, exactly as the single-name provider's `read` answers it. */
export function stateAt(listing: ZoneListing, name: string, owner: Owner): NameState {
  const all = (listing.get(name.toLowerCase()) ?? []).filter((r) => TYPES.has(r.type));
  const mark = ownerMark(owner);
  const records = all
    .filter((r) => r.comment === mark)
    .map(({ name, type, content, ttl, id }): DnsRecord => ({ name, type: type as RecordType, content, ttl, id }));
  return { records, foreign: all.length - records.length };
}

/**
 * Why Cloudflare would refuse `changes` applied to `listing` in zone `zone` (one refused
 * operation fails its whole batch, other callers' change sets with it), or undefined: a name
 * outside the zone, a record named otherwise, a bad address, a TTL outside 1 (automatic) or
 * 30-86,400 s (60 below Enterprise: that one only Cloudflare can tell), a CNAME beside any other
 * record, two identical records ("Create DNS records" and "Batch DNS Records" in Cloudflare's API reference).
 */
export function refusal(listing: ZoneListing, changes: ChangeSet, zone: string): string | undefined {
  const { name, add, remove } = changes;
  if (name !== zone && !name.endsWith(`.${zone}`)) return `${name} is not in zone ${zone}`;
  for (const r of add) {
    if (r.name !== name) return `a record for ${r.name} in the change set of ${name}`;
    if (r.type === 'A' && !IPV4.test(r.content)) return `A ${r.content} at ${name} is not an IPv4 address`;
    if (r.type === 'AAAA' && !r.content.includes(':')) return `AAAA ${r.content} at ${name} is not an IPv6 address`;
    if (r.ttl !== 1 && (r.ttl < 30 || r.ttl > 86400)) return `TTL ${r.ttl} s at ${name}: Cloudflare takes 1 (automatic) or 30-86,400 s (60 below Enterprise)`;
  }
  const gone = new Set(remove.map((r) => r.id));
  const after = [...(listing.get(name) ?? []).filter((r) => !gone.has(r.id)), ...add];
  if (after.length > 1 && after.some((r) => r.type === 'CNAME')) return `a CNAME at ${name} would share the name with another record`;
  const keys = after.map((r) => `${r.type} ${r.content}`);
  if (new Set(keys).size < keys.length) return `two identical records at ${name}`;
  return undefined;
}

export function cloudflareZone(options: CloudflareZoneOptions): CloudflareZone {
  const { zoneId, apiToken, now = Date.now, perPage = 5000, maxRecords = 50_000 } = options;
  const client = dnsClient({ apiToken, baseURL: options.baseURL, fetch: options.fetch, timeoutMs: options.timeoutMs });

  const providerError = (e: unknown, what: string) => toProviderError(e, what, apiToken, now());

  return {
    async list() {
      const records: ZoneListing = new Map();
      let count = 0;
      for (let page = 1; ; page++) {
        const res = await client.dns.records.list({ zone_id: zoneId, page, per_page: perPage }).catch((e: unknown) => {
          throw providerError(e, 'listing the zone');
        });
        for (const r of res.result) {
          if (++count > maxRecords) throw new ProviderError('invalid', `listing the zone: more than ${maxRecords} records`);
          const name = r.name.toLowerCase();
          const content = r.type === 'CNAME' ? (r.content ?? '').toLowerCase() : (r.content ?? '');
          const at = records.get(name) ?? (records.set(name, []).get(name) as ZoneRecord[]);
          at.push({ id: r.id, name, type: r.type, content, ttl: r.ttl, comment: r.comment ?? null });
        }
        const totalPages = (res.result_info as { total_pages?: number }).total_pages;
        if (res.result.length < perPage || (totalPages !== undefined && page >= totalPages)) return { records, pages: page };
      }
    },
    async batch({ deletes, posts }, what) {
      try {
        await client.dns.records.batch({
          zone_id: zoneId,
          deletes: deletes.map((id) => ({ id })),
          posts: posts.map(({ record: r, owner }) => ({
            name: r.name,
            type: r.type,
            content: r.content,
            ttl: r.ttl,
            proxied: false,
            comment: ownerMark(owner),
          })),
        });
      } catch (e) {
        throw providerError(e, what);
      }
    },
  };
}
