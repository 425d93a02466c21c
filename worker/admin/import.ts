/**
 * Cloudflare Load Balancing's formats on the admin API (core/config/cloudflare does the mapping):
 *
 * - `POST /import/cloudflare` `{monitors, pools, load_balancers}`: each Cloudflare's list answer as
 *   it comes (the v4 envelope, `result_info` included) or its bare `result` array. Imported objects
 *   keep their ids and replace ours of the same id (our extension fields of a replaced object are
 *   kept); new ones are added; everything else is kept. All or nothing, through the ConfigStore's
 *   `importConfig` (core/config importDocument). Answers `{version, imported, replaced, kept,
 *   ignored}`, with warnings in `messages`; errors name their paths in the request body
 *   ("pools.result[1].origins[0].address: ...") or, for an object kept from the stored config,
 *   "config.pools[3]...". The merge is computed from a read of the config and written with that
 *   read's ETag: a write that lands in between makes it merge again (twice at most, then 412);
 *   with the client's own If-Match, a stale one is 412 at once.
 * - `GET /config?format=cloudflare`: the three lists in Cloudflare's shapes (`cloudflareExport`,
 *   mounted on the export route in resources.ts), our extensions left out and named in `messages`.
 */
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { CLOUDFLARE_KINDS, mergeImport, planImport, relocate, reportOf, toCloudflare, type CloudflareLists } from '../../core/config/index.ts';
import type { ConfigExport, Versioned } from '../../core/rpc/index.ts';
import { configStore } from '../rpc.ts';
import { CONFIG_BODY_LIMIT, jsonBody } from './body.ts';
import { Envelope, REFUSALS, failure, failures, json, ok, refuse, type AdminContext, type AdminEnv } from './envelope.ts';
import type { OnWrite } from './resources.ts';

/** Merges after a concurrent write before giving up with 412. */
const MERGE_ATTEMPTS = 3;

const ids = z.object(
  Object.fromEntries(CLOUDFLARE_KINDS.map((k) => [k, z.array(z.string())])) as Record<(typeof CLOUDFLARE_KINDS)[number], z.ZodArray<z.ZodString>>,
);
const ImportResult = z
  .object({
    version: z.int().describe('the config version the import wrote'),
    imported: ids.describe('ids of the imported objects, in the order given'),
    replaced: ids.describe('ids among them that replaced an object of ours (our extension fields kept)'),
    kept: ids.describe('ids of ours the import did not name, unchanged'),
    ignored: z
      .array(z.object({ path: z.string().describe('in the request body, e.g. load_balancers.result[0].zone_name'), reason: z.string() }))
      .describe('fields dropped: read-only at Cloudflare, or null where Cloudflare means unset'),
  })
  .meta({ id: 'CloudflareImportResult' });

const listItem = (what: string) => z.custom<object>(() => true).meta({ type: 'object', description: `a ${what} as Cloudflare's API answers it` });
/** One list as Cloudflare answers it, or its `result` array (documentation only: planImport judges the body). */
const CloudflareList = (what: string) =>
  z.union([
    z.object({
      success: z.boolean(),
      errors: z.array(z.unknown()),
      messages: z.array(z.unknown()),
      result: z.array(listItem(what)),
      result_info: z.object({ page: z.int(), per_page: z.int(), count: z.int(), total_count: z.int() }).partial().optional(),
    }),
    z.array(listItem(what)),
  ]);
const CloudflareImport = z
  .object({
    monitors: CloudflareList('monitor').optional(),
    pools: CloudflareList('pool').optional(),
    load_balancers: CloudflareList('load balancer').optional(),
  })
  .meta({ id: 'CloudflareImport', description: "Cloudflare's list answers: GET /accounts/:id/load_balancers/{monitors,pools}, GET /zones/:id/load_balancers" });

/** Our configuration in Cloudflare's shapes, as `GET /config?format=cloudflare` answers it. */
export const CloudflareExport = z
  .object({
    monitors: z.array(listItem('monitor')),
    pools: z.array(listItem('pool')),
    load_balancers: z.array(listItem('load balancer')),
  })
  .meta({ id: 'CloudflareExport' }) as unknown as z.ZodType<CloudflareLists>;

/** The export route's query: `format=cloudflare` answers CloudflareExport. */
export const ExportFormat = z.object({
  format: z.enum(['edge-lb', 'cloudflare']).optional().describe("cloudflare: Cloudflare's three lists, our extensions left out and named in messages"),
});

/** Answers a config read in Cloudflare's shapes, with what was left out in `messages`. */
export function cloudflareExport(c: AdminContext, read: Versioned<ConfigExport>) {
  const { messages, ...lists } = toCloudflare(read.value);
  c.header('etag', read.etag);
  return c.json({ ...ok(lists as CloudflareLists), messages }, 200);
}

const importCloudflare = createRoute({
  method: 'post',
  path: '/import/cloudflare',
  summary: "Import Cloudflare Load Balancing's export (its three list answers, as they come); all or nothing",
  description:
    'Objects keep their ids and replace ours of the same id (our extension fields kept); other objects of ours are kept. ' +
    "Cloudflare's read-only fields and its nulls for unset fields are dropped and listed in `ignored`; proxied defaults to false (Cloudflare's default). " +
    'Fields stored but not yet active, and monitors a Worker cannot probe, are warned about in `messages`.',
  middleware: jsonBody(CONFIG_BODY_LIMIT),
  request: {
    headers: z.object({
      'if-match': z.string().optional().describe('the config ETag: 412 when it is stale (without it, a concurrent write makes the import merge again)'),
    }),
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.custom<z.input<typeof CloudflareImport>>(() => true).meta({ type: 'object', allOf: [{ $ref: '#/components/schemas/CloudflareImport' }] }),
        },
      },
    },
  },
  responses: {
    200: { ...json(Envelope(ImportResult), 'What was imported, replaced, kept and ignored'), headers: z.object({ etag: z.string() }) },
    ...failures(401, 403, 413, 415, ...REFUSALS.importConfig),
  },
});

/** The import route (see the module doc). */
export function importRoutes(onWrite: OnWrite) {
  const app = new OpenAPIHono<AdminEnv>();
  app.openAPIRegistry.register('CloudflareImport', CloudflareImport);
  return app.openapi(importCloudflare, async (c) => {
    const plan = planImport(c.req.valid('json'));
    if (!plan.ok) return failure(c, 400, plan.errors);
    const ifMatch = c.req.valid('header')['if-match'];
    const store = configStore(c.env);
    for (let attempt = 1; ; attempt++) {
      const current = await store.exportConfig();
      const merged = mergeImport(current.value, plan.value);
      const outcome = await store.importConfig(merged.input, ifMatch ?? current.etag);
      if (!outcome.ok && outcome.status === 412 && !ifMatch && attempt < MERGE_ATTEMPTS) continue;
      if (!outcome.ok) return refuse(c, { status: outcome.status, errors: relocate(outcome.errors, merged.at) }, REFUSALS.importConfig);
      onWrite();
      const { report, messages } = reportOf(plan.value, merged, outcome.value.value);
      c.header('etag', outcome.value.etag);
      return c.json({ ...ok({ version: outcome.value.value.version, ...report }), messages }, 200);
    }
  });
}
