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
import { APIConnectionError, APIError } from 'cloudflare/core/error';
import { BaseRecords, type RecordResponse } from 'cloudflare/resources/dns/records';
import { createClient } from 'cloudflare/tree-shakable';
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
/** Cloudflare's error codes for a missing, malformed or refused credential. */
const AUTH_CODES: ReadonlySet<number> = new Set([9106, 9109, 10000]);
/** A guard against a listing that never ends (a name holds a handful of records). */
const MAX_PAGES = 1000;
/** Longest comment a Free zone accepts (paid plans: 500). */
const MAX_COMMENT = 100;

/** The comment that marks a record as the load balancer's: `edge-lb:<ownerId>:<lbId>`, ids URI-encoded. */
export const ownerMark = (owner: Owner) => `edge-lb:${encodeURIComponent(owner.ownerId)}:${encodeURIComponent(owner.lbId)}`;

/** Milliseconds to wait from a `retry-after` value (delay-seconds or HTTP-date); undefined when absent or unreadable. */
export function retryAfterMs(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function cloudflareProvider(options: CloudflareProviderOptions): DnsProvider {
  const { zoneId, apiToken, now = Date.now, perPage = 100 } = options;
  const client = createClient({
    resources: [BaseRecords],
    apiToken,
    // Explicit nulls: the SDK would otherwise read CLOUDFLARE_API_KEY / _EMAIL / _API_USER_SERVICE_KEY from the environment.
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    baseURL: options.baseURL ?? 'https://api.cloudflare.com/client/v4',
    ...(options.fetch && { fetch: options.fetch }),
    maxRetries: 0,
    timeout: options.timeoutMs ?? 30_000,
    logLevel: 'off',
  });

  /** Maps anything the SDK throws to a ProviderError whose message cannot contain the token. */
  function providerError(e: unknown, what: string): ProviderError {
    if (e instanceof ProviderError) return e;
    const scrub = (s: string) => (apiToken ? s.split(apiToken).join('[token]') : s);
    if (e instanceof APIError && !(e instanceof APIConnectionError) && e.status !== undefined) {
      const errors = (e.errors as { code?: number; message?: string }[]).map((x) => `${x.code ?? '?'}: ${x.message ?? ''}`).join('; ');
      const message = scrub(`${what}: Cloudflare answered ${e.status}${errors ? ` (${errors})` : ''}`);
      if (e.status === 401 || e.status === 403 || (e.status < 500 && e.errors.some((x: { code?: number }) => AUTH_CODES.has(x.code ?? 0))))
        return new ProviderError('auth', message);
      if (e.status === 429) return new ProviderError('rate_limited', message, retryAfterMs(e.headers?.get('retry-after'), now()));
      if (e.status >= 500) return new ProviderError('unreachable', message);
      return new ProviderError('invalid', message);
    }
    return new ProviderError('unreachable', scrub(`${what}: ${e instanceof Error ? e.message : String(e)}`));
  }

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
