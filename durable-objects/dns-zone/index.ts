/**
 * DnsZoneWriter: one Durable Object per DNS zone config (named by the zone's id) through which
 * every load balancer publishing in a Cloudflare zone reads and applies, so that 1,000 load
 * balancers reconciling at once cost a few listings and ⌈operations / 200⌉ batch requests instead
 * of ~3,000 requests (Cloudflare allows 1,200 per 5 minutes per user:
 * https://developers.cloudflare.com/fundamentals/api/reference/limits/). The coalescing is
 * ./writer.ts; LbState reaches it through ./provider.ts zoneWriterProvider.
 *
 * RPC (core/rpc DnsZoneApi): `read(zone, name, owner)` and `apply(zone, changes)` answer
 * `{ ok: true, value }` or `{ ok: false, error: { kind, message, retryAfterMs } }` — never throw a
 * ProviderError, which RPC would turn into a plain Error. Inputs are checked with zod; a bad one is
 * answered 'invalid' naming the field. Nothing is stored: callers own retries, and a writer that
 * is evicted loses only its windows (and its pause: the next 429 sets it again).
 *
 * The writer for a zone is rebuilt when the zone's provider settings change (zone id, API base,
 * secret binding); the secret is read from `env[api_token_secret]` then ('auth' when unset).
 * `DNS_BATCH_LIMIT` (optional var): operations per batch, default 200 (Free); 3,500 on paid plans.
 */
import { DurableObject } from 'cloudflare:workers';
import { z } from 'zod';
import type { DnsZone } from '../../core/config/index.ts';
import type { DnsZoneApi, DnsZoneStats, ZoneReply } from '../../core/rpc/index.ts';
import { cloudflareZone } from '../../dns/cloudflare/zone.ts';
import { ProviderError, type ChangeSet, type NameState, type Owner } from '../../dns/provider.ts';
import { DEFAULT_OPTIONS, ZoneWriter, type WriterOptions } from './writer.ts';

/** Key of the test hook (not callable over RPC): `instance[TESTING](options)` inside runInDurableObject. */
export const TESTING = Symbol.for('edge-lb.DnsZoneWriter.testing');

const record = z.strictObject({
  name: z.string().min(1).max(253),
  type: z.enum(['A', 'AAAA', 'CNAME']),
  content: z.string().min(1).max(253),
  ttl: z.int().min(1).max(86400),
  id: z.string().min(1).max(64).optional(),
});
const owner = z.strictObject({ ownerId: z.string().min(1).max(63), lbId: z.string().min(1).max(64) });
const name = z
  .string()
  .max(253)
  .regex(/^[a-z0-9_*-]+(\.[a-z0-9_-]+)*$/, 'must be a lower-case DNS name without the trailing dot');
const changeSet = z.strictObject({
  name,
  owner,
  before: z.strictObject({ records: z.array(record).max(3500), foreign: z.int().min(0), revision: z.string().optional() }),
  remove: z.array(record).max(3500),
  add: z.array(record).max(3500),
});
const zoneSchema = z.object({
  id: z.string().min(1),
  name,
  provider: z.object({
    type: z.literal('cloudflare', 'the zone writer serves Cloudflare zones only'),
    zone_id: z.string(),
    api_token_secret: z.string(),
    api_base: z.url(),
  }),
});

/** `value` checked by `schema`, else ProviderError 'invalid' naming the first bad field. */
function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new ProviderError('invalid', `${[what, ...issue.path].join('.')}: ${issue.message}`);
}

/** Runs `fn` and answers its value or its ProviderError as a value (anything else: 'unreachable'). */
async function reply<T>(fn: () => Promise<T>): Promise<ZoneReply<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    const error = e instanceof ProviderError ? e : new ProviderError('unreachable', `the zone's writer failed: ${e instanceof Error ? e.message : String(e)}`);
    return { ok: false, error: { kind: error.kind, message: error.message, ...(error.retryAfterMs !== undefined && { retryAfterMs: error.retryAfterMs }) } };
  }
}

export class DnsZoneWriter extends DurableObject<Env> implements DnsZoneApi {
  #lane: { key: string; writer: ZoneWriter } | undefined;
  #options: WriterOptions;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const limit = (env as { DNS_BATCH_LIMIT?: string }).DNS_BATCH_LIMIT;
    this.#options = { ...DEFAULT_OPTIONS, ...(limit && { batchLimit: parse(z.coerce.number().int().min(1).max(3500), limit, 'DNS_BATCH_LIMIT') }) };
  }

  read(zone: DnsZone, at: string, who: Owner): Promise<ZoneReply<NameState>> {
    return reply(() => this.#writer(zone).read(parse(name, at, 'name'), parse(owner, who, 'owner')));
  }

  apply(zone: DnsZone, changes: ChangeSet): Promise<ZoneReply<null>> {
    return reply(async () => (await this.#writer(zone).apply(parse(changeSet, changes, 'changes')), null));
  }

  stats(): DnsZoneStats {
    const s = this.#lane?.writer.stats;
    return s ? { ...s } : { listings: 0, listPages: 0, batches: 0, batchOps: 0, failedBatches: 0, conflicts: 0, rateLimited: 0, pausedUntil: 0 };
  }

  /** Tests: other windows or batch limit, for this writer and the next ones. */
  [TESTING](options: Partial<WriterOptions>): void {
    this.#options = { ...this.#options, ...options };
    if (this.#lane) this.#lane.writer.options = this.#options;
  }

  /** The writer for `zone`'s provider settings; a new one (keeping the pause) when they changed. */
  #writer(input: DnsZone): ZoneWriter {
    const zone = parse(zoneSchema, input, 'zone');
    const { zone_id, api_base, api_token_secret } = zone.provider;
    const key = JSON.stringify([zone.name, zone_id, api_base, api_token_secret]);
    if (this.#lane?.key === key) return this.#lane.writer;
    const token: unknown = (this.env as unknown as Record<string, unknown>)[api_token_secret];
    if (typeof token !== 'string' || !token)
      throw new ProviderError(
        'auth',
        `secret binding ${api_token_secret} of zone ${zone.name} is not set (wrangler secret put ${api_token_secret}; locally .dev.vars)`,
      );
    const writer = new ZoneWriter(
      cloudflareZone({ zoneId: zone_id, apiToken: token, baseURL: api_base, fetch: (i, init) => fetch(i, init) }),
      zone.name,
      this.#options,
    );
    writer.stats.pausedUntil = this.#lane?.writer.stats.pausedUntil ?? 0;
    this.#lane = { key, writer };
    return writer;
  }
}
