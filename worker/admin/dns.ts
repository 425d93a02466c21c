/**
 * DNS failover's view in the admin API: `GET /load_balancers/{id}/dns`, from the load balancer's
 * LbState (LbStateApi.dnsStatus, durable-objects/lb-state/dns.ts): the records health says to
 * publish, what the provider last read or applied, the last run, success and error, and when the
 * next run is due. Times are ISO 8601. 404 for an unknown load balancer; a proxied one answers
 * `published: false` with the reason (its records, if it was published before, are being removed).
 */
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { IdSchema, type LoadBalancer } from '../../core/config/index.ts';
import type { DnsStatus } from '../../core/rpc/index.ts';
import { configStore, lbState } from '../rpc.ts';
import { Envelope, REFUSALS, failures, json, ok, refuse, type AdminEnv } from './envelope.ts';

const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);

const DnsRecordSchema = z
  .object({ name: z.string(), type: z.enum(['A', 'AAAA', 'CNAME']), content: z.string(), ttl: z.int().describe('seconds') })
  .meta({ id: 'DnsRecord' });
const DnsStatusSchema = z
  .object({
    published: z.boolean().describe('whether the load balancer is published in DNS now (proxied: false, with dns)'),
    reason: z.string().nullable().describe('why it is not published'),
    zone: z.string().nullable(),
    name: z.string().nullable(),
    desired_records: z.array(DnsRecordSchema).describe("what health says to publish now (routing's failover order and pool verdict)"),
    pool_id: z.string().nullable().describe('the pool whose origins are published'),
    basis: z
      .enum(['healthy', 'last_resort', 'fallback', 'none'])
      .nullable()
      .describe('healthy: ≥ minimum_origins usable; last_resort: some usable; fallback: nothing usable'),
    notes: z.array(z.string()).describe('origins left out, and why'),
    published_records: z.array(DnsRecordSchema).describe('what the provider last read or applied'),
    stale: z.array(z.object({ zone: z.string(), name: z.string() })).describe('places still holding our records, to be removed'),
    last_run_at: z.string().nullable(),
    last_reconcile: z.object({ at: z.string(), changes: z.int(), records: z.int() }).nullable().describe('the last successful run'),
    last_error: z.object({ at: z.string(), kind: z.string(), message: z.string(), failures: z.int() }).nullable().describe('since the last success'),
    next_due_at: z.string().nullable(),
  })
  .meta({ id: 'DnsStatus' });

const dnsRoute = createRoute({
  method: 'get',
  path: '/load_balancers/{id}/dns',
  summary: 'DNS failover of a DNS-only load balancer: desired and published records, last reconcile, last error, next run',
  request: { params: z.object({ id: IdSchema.describe('load balancer id') }) },
  responses: { 200: json(Envelope(DnsStatusSchema), 'DNS failover status'), ...failures(400, 401, 404) },
});

const record = ({ name, type, content, ttl }: DnsStatus['records'][number]) => ({ name, type, content, ttl });

/** The wire shape (snake_case, ISO 8601 times) of an LbState's DnsStatus. */
export function dnsView(s: DnsStatus): z.infer<typeof DnsStatusSchema> {
  return {
    published: s.published,
    reason: s.reason ?? null,
    zone: s.zone ?? null,
    name: s.name ?? null,
    desired_records: (s.desired?.records ?? []).map(record),
    pool_id: s.desired?.pool ?? null,
    basis: (s.desired?.basis as z.infer<typeof DnsStatusSchema>['basis']) ?? null,
    notes: s.desired?.notes ?? [],
    published_records: s.records.map(record),
    stale: s.stale.map((p) => ({ zone: p.zone.name, name: p.name })),
    last_run_at: iso(s.lastRunAt),
    last_reconcile: s.lastSuccess ? { at: iso(s.lastSuccess.at)!, changes: s.lastSuccess.changes, records: s.lastSuccess.records } : null,
    last_error: s.lastError ? { ...s.lastError, at: iso(s.lastError.at)! } : null,
    next_due_at: iso(s.nextDueAt),
  };
}

export function dnsRoutes() {
  return new OpenAPIHono<AdminEnv>().openapi(dnsRoute, async (c) => {
    const { id } = c.req.valid('param');
    const read = await configStore(c.env).get('load_balancers', id);
    if (!read.ok) return refuse(c, read, REFUSALS.get);
    const status = await lbState(c.env, id).dnsStatus();
    const lb = read.value.value as LoadBalancer;
    // The ConfigStore is the authority on "proxied": the LbState may not have been synced yet.
    if (lb.proxied && status.published)
      return c.json(ok(dnsView({ ...status, published: false, reason: 'proxied: answered by the proxy, not published in DNS', desired: undefined })), 200);
    return c.json(ok(dnsView(status)), 200);
  });
}
