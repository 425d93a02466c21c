/**
 * The Cloudflare DNS provider: a DnsProvider over one zone of Cloudflare's API v4, through the
 * official `cloudflare` SDK's tree-shakable client (only `dns.records` is bundled).
 *
 * - read(name, owner): `GET /zones/:zone_id/dns_records?name.exact=<name>&page=<n>&per_page=<perPage>`
 *   ("List DNS Records", https://developers.cloudflare.com/api/resources/dns/subresources/records/methods/list/),
 *   following `result_info.total_pages`; A/AAAA/CNAME are kept (the `type` filter takes one type, so
 *   types are filtered here). Ours: `comment` exactly equal to `edge-lb:<ownerId>:<lbId>` (each id
 *   URI-encoded, so ':' in an id cannot forge another mark). Cloudflare's comment filters are
 *   case-insensitive, so the mark is compared here, not filtered by the API.
 * - apply(changes): ONE `POST /zones/:zone_id/dns_records/batch` with `deletes: [{ id }]` and
 *   `posts: [{ name, type, content, ttl, proxied: false, comment: mark }]`, which Cloudflare runs as
 *   one database transaction in the order deletes → patches → puts → posts ("Batch DNS Records",
 *   https://developers.cloudflare.com/api/resources/dns/subresources/records/methods/batch/;
 *   https://developers.cloudflare.com/dns/manage-dns-records/how-to/batch-record-changes/ —
 *   propagation to the edge is not atomic, and a batch holds at most 200 records on Free, 3,500 on
 *   paid plans).
 *
 * Conflicts: Cloudflare has no prerequisites. apply reads the name again just before the batch and
 * refuses with 'conflict' unless our records (id, type, content, ttl) and the foreign count equal
 * `changes.before`. A change between that read and the batch is not seen (time-of-check to
 * time-of-use window of one round trip), except that a deleted id fails the whole batch: a batch
 * refused (400/404) while one of its delete ids is gone is also a 'conflict'.
 *
 * Errors (ProviderError; messages carry Cloudflare's `errors[].code/message`, never the token):
 * 401/403, and any 4xx carrying an authentication error code (9106, 9109, 10000: a bad token has been
 * seen answered with 400/9106) → 'auth'; 429 → 'rate_limited' with `retryAfterMs` from `retry-after` (seconds or an
 * HTTP date, RFC 9110 §10.2.3); 5xx, timeouts and network failures → 'unreachable'; other 4xx →
 * 'invalid'. The SDK's own retries are off (`maxRetries: 0`): the reconcile loop owns retry and
 * backoff, honours `retry-after`, and re-plans from a fresh read, which a blind retry of a batch would not.
 */
import type { RecordResponse } from 'cloudflare/resources/dns/records';
import { dnsClient, providerError as toProviderError } from './client.ts';
import { ProviderError, type ChangeSet, type DnsProvider, type DnsRecord, type NameState, type Owner, type RecordType } from '../provider.ts';

export interface CloudflareProviderOptions {
  /** The zone's id (32 hex). */
  zoneId: string;
  /** An API token with DNS Write on the zone (Zone.DNS:Edit). */
  apiToken: string;
  /** API base, default `https://api.cloudflare.com/client/v4`. */
  baseURL?: string;
  /** The fetch to use (tests, service bindings); default the global fetch. */
  fetch?: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  /** Clock in ms since the epoch, for `retry-after` HTTP dates; default Date.now. */
  now?: () => number;
  /** Records per list page, default 100 (Cloudflare's default). */
  perPage?: number;
  /** Per-request timeout in ms, default 30,000. */
  timeoutMs?: number;
}

const TYPES: ReadonlySet<string> = new Set<RecordType>(['A', 'AAAA', 'CNAME']);
/** A guard against a listing that never ends (a name holds a handful of records). */
const MAX_PAGES = 1000;
/** Longest comment a Free zone accepts (paid plans: 500). */
const MAX_COMMENT = 100;

/** The comment that marks a record as the load balancer's: `edge-lb:<ownerId>:<lbId>`, ids URI-encoded. */
export const ownerMark = (owner: Owner) => `edge-lb:${encodeURIComponent(owner.ownerId)}:${encodeURIComponent(owner.lbId)}`;

export { retryAfterMs } from './client.ts';

export function cloudflareProvider(options: CloudflareProviderOptions): DnsProvider {
  const { zoneId, apiToken, now = Date.now, perPage = 100 } = options;
  const client = dnsClient({ apiToken, baseURL: options.baseURL, fetch: options.fetch, timeoutMs: options.timeoutMs });

  const providerError = (e: unknown, what: string) => toProviderError(e, what, apiToken, now());

  /** Every A/AAAA/CNAME record at `name`, all pages. */
  async function listAt(name: string): Promise<RecordResponse[]> {
    const out: RecordResponse[] = [];
    for (let page = 1; ; page++) {
      const res = await client.dns.records.list({ zone_id: zoneId, name: { exact: name }, page, per_page: perPage });
      out.push(...res.result.filter((r) => TYPES.has(r.type)));
      // The SDK types result_info as { page, per_page } only; Cloudflare also sends total_pages.
      const totalPages = (res.result_info as { total_pages?: number }).total_pages;
      if (res.result.length < perPage || (totalPages !== undefined && page >= totalPages)) return out;
      if (page >= MAX_PAGES) throw new ProviderError('invalid', `more than ${MAX_PAGES} pages of records at ${name}`);
    }
  }

  async function readState(name: string, owner: Owner): Promise<NameState> {
    const mark = ownerMark(owner);
    const all = await listAt(name);
    const records = all
      .filter((r) => r.comment === mark)
      .map((r): DnsRecord => ({
        name: r.name.toLowerCase(),
        type: r.type as RecordType,
        content: r.type === 'CNAME' ? (r.content ?? '').toLowerCase() : (r.content ?? ''),
        ttl: r.ttl,
        id: r.id,
      }));
    return { records, foreign: all.length - records.length };
  }

  const fingerprint = (s: NameState) => JSON.stringify([s.foreign, s.records.map((r) => `${r.id} ${r.type} ${r.content} ${r.ttl}`).sort()]);

  return {
    kind: 'cloudflare',
    async read(name, owner) {
      try {
        return await readState(name, owner);
      } catch (e) {
        throw providerError(e, `reading ${name}`);
      }
    },
    async apply(changes: ChangeSet) {
      const { name, owner, before, remove, add } = changes;
      const mark = ownerMark(owner);
      if (mark.length > MAX_COMMENT) throw new ProviderError('invalid', `owner mark of ${name} is longer than ${MAX_COMMENT} characters`);
      const ids = remove.map((r) => r.id);
      if (!ids.every((id): id is string => id !== undefined)) throw new ProviderError('invalid', `a record to remove at ${name} has no Cloudflare id`);
      if (ids.length === 0 && add.length === 0) return;
      try {
        if (fingerprint(await readState(name, owner)) !== fingerprint(before)) throw new ProviderError('conflict', `${name} changed since it was read`);
        await client.dns.records.batch({
          zone_id: zoneId,
          deletes: ids.map((id) => ({ id })),
          posts: add.map((r) => ({ name: r.name, type: r.type, content: r.content, ttl: r.ttl, proxied: false, comment: mark })),
        });
      } catch (e) {
        const error = providerError(e, `applying changes to ${name}`);
        if (error.kind !== 'invalid' || ids.length === 0) throw error;
        // A batch refused while one of its delete ids is gone: someone removed it since our read.
        const still = await listAt(name).then(
          (rs) => new Set(rs.map((r) => r.id)),
          () => undefined,
        );
        throw still && ids.some((id) => !still.has(id)) ? new ProviderError('conflict', `${name} changed since it was read (${error.message})`) : error;
      }
    },
  };
}
