/**
 * Configuration routes: monitors, pools, load balancers, DNS zones, webhooks and TCP apps (list, create, read, replace, merge
 * patch, delete), one origin's merge patch, and the whole configuration (export, import).
 *
 * Bodies are validated by the ConfigStore through core/config, all or nothing, with errors that
 * name field paths ("pools[0].origins[1].address: ..."): the route definitions show the core
 * schemas in the document and type the client's bodies with them (`storeValidated`), but accept
 * any JSON value, so that the store's checks and messages stay the only ones (an unknown id is
 * 404 before its body is judged; references and hostnames are checked against the whole config).
 */
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import {
  DnsZoneSchema,
  IdSchema,
  LoadBalancerSchema,
  MonitorSchema,
  NOUN,
  PoolSchema,
  SCHEMAS,
  TcpAppSchema,
  WebhookSchema,
  documentNotices,
  resourceNotices,
  type Kind,
  type Outcome,
  type Resource,
} from '../../core/config/index.ts';
import type { ConfigExport, Versioned } from '../../core/rpc/index.ts';
import { configStore } from '../rpc.ts';
import { BODY_LIMIT, CONFIG_BODY_LIMIT, jsonBody } from './body.ts';
import { Envelope, REFUSALS, failures, json, ok, refuse, type AdminContext, type AdminEnv, type Refusal } from './envelope.ts';
import { CloudflareExport, ExportFormat, cloudflareExport } from './import.ts';

/** Called after every successful write, so this isolate's traffic sees it at once. */
export type OnWrite = () => void;

/**
 * A body the ConfigStore validates (see the module doc): shown in the document as `schema` (which
 * this registers in `app`'s document under its zod meta id: MonitorInput, PoolInput, ...), typed
 * for the client as `Input` (the schema's input, stated by the caller: inferred from a schema
 * picked by a generic kind, it would fall back to unknown), accepted as any JSON value at the route.
 */
function storeValidated<Input>(app: OpenAPIHono<AdminEnv>, schema: z.ZodType, description: string) {
  const id = schema.meta()?.id;
  if (typeof id !== 'string') throw new Error('a body schema needs a meta id to be referenced from the document');
  app.openAPIRegistry.register(id, schema);
  return z.custom<Input>(() => true).meta({ type: 'object', allOf: [{ $ref: `#/components/schemas/${id}` }], description });
}

/** A JSON Merge Patch (RFC 7396) body, validated by the store once applied (see the module doc). */
function mergePatchOf(description: string) {
  return z.custom<Record<string, unknown>>(() => true).meta({ type: 'object', description });
}

/** The fields the server sets on every stored object. */
const StoredFields = z.object({
  id: z.string().describe('32 hex digits when the server made it'),
  created_on: z.string().describe('ISO 8601'),
  modified_on: z.string().describe('ISO 8601'),
});

/** A stored object of `kind` as reads answer it: the core schema's output plus the stored fields. */
function storedOf<K extends Kind>(kind: K): z.ZodType<Resource<K>> {
  return z.intersection(SCHEMAS[kind], StoredFields) as z.ZodType<Resource<K>>;
}

const ConfigInput = z
  .strictObject({
    version: z.number().optional().describe('ignored on input (exports carry it)'),
    monitors: z.array(MonitorSchema).default([]),
    pools: z.array(PoolSchema).default([]),
    load_balancers: z.array(LoadBalancerSchema).default([]),
    dns_zones: z.array(DnsZoneSchema).default([]),
    webhooks: z.array(WebhookSchema).default([]),
    tcp_apps: z.array(TcpAppSchema).default([]),
  })
  .meta({ id: 'ConfigInput' });
const ConfigDocument = z
  .object({
    version: z.int().describe('increases with every write'),
    monitors: z.array(storedOf('monitors')),
    pools: z.array(storedOf('pools')),
    load_balancers: z.array(storedOf('load_balancers')),
    dns_zones: z.array(storedOf('dns_zones')),
    webhooks: z.array(storedOf('webhooks')),
    tcp_apps: z.array(storedOf('tcp_apps')),
  })
  .meta({ id: 'ConfigDocument' }) as z.ZodType<ConfigExport>;

const IfMatch = z.object({ 'if-match': z.string().optional().describe('an ETag from a read: 412 when it is stale') });
const ETag = z.object({ etag: z.string().describe('send it back as If-Match') });
const IfNoneMatch = z.object({ 'if-none-match': z.string().optional().describe('an ETag from an earlier read: 304 while it is still current') });

/** Whether an If-None-Match value (RFC 9110 §13.1.2: `*` or a list of tags, weak comparison) names `etag`. */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return header.trim() === '*' || header.split(',').some((t) => bare(t) === bare(etag));
}

/** A versioned read: its value, and its ETag in the header. */
function answer<T>(c: AdminContext, read: Versioned<T>) {
  c.header('etag', read.etag);
  return c.json(ok(read.value), 200);
}

/** Answers an outcome of the store: its errors (with a status the route documents), or its value with its ETag. */
function reply<T, S extends 200 | 201, R extends Refusal>(c: AdminContext, outcome: Outcome<Versioned<T>>, status: S, refusals: readonly R[]) {
  if (!outcome.ok) return refuse(c, outcome, refusals);
  c.header('etag', outcome.value.etag);
  return c.json(ok(outcome.value.value), status);
}

/** `onWrite` after a successful write; the outcome unchanged. */
function written<T>(onWrite: OnWrite, outcome: Outcome<T>): Outcome<T> {
  if (outcome.ok) onWrite();
  return outcome;
}

/**
 * The six routes of one kind of resource, under `/<kind>`.
 *
 * While K is generic, TypeScript cannot relate a body built from `Resource<K>` to the route's
 * schema of `Resource<K>` (hono's JSONParsed of either stays deferred, and two deferred types are
 * not compared structurally), so these handlers state their body as the route's own type
 * (`as One`, `as Many`); the status codes are still checked, and the client's types come from the routes.
 */
function resourceRoutes<K extends Kind>(kind: K, onWrite: OnWrite) {
  const noun = NOUN[kind];
  const One = Envelope(storedOf(kind));
  const Many = Envelope(z.array(storedOf(kind)));
  type One = z.infer<typeof One>;
  type Many = z.infer<typeof Many>;
  const app = new OpenAPIHono<AdminEnv>();
  const body = storeValidated<z.input<(typeof SCHEMAS)[K]>>(app, SCHEMAS[kind], `a ${noun}; read-only fields (id, created_on, modified_on) are ignored`);
  const params = z.object({ id: IdSchema.describe(`${noun} id`) });
  const base = `/${kind}` as const;
  const path = `/${kind}/{id}` as const;
  const store = (c: AdminContext) => configStore(c.env) as KindStore<K>;
  /** The stored object and its ETag, or the store's refusal (one of `refusals`). */
  const replyItem = <S extends 200 | 201, R extends Refusal>(c: AdminContext, outcome: Outcome<Versioned<Resource<K>>>, status: S, refusals: readonly R[]) => {
    if (!outcome.ok) return refuse(c, outcome, refusals);
    c.header('etag', outcome.value.etag);
    // Warnings: fields stored but not yet active, monitors a Worker cannot probe.
    return c.json({ ...ok(outcome.value.value), messages: resourceNotices(kind, outcome.value.value) } as One, status);
  };

  const list = createRoute({
    method: 'get',
    path: base,
    summary: `List ${kind}`,
    responses: { 200: { ...json(Many, `Every ${noun}`), headers: ETag }, ...failures(401) },
  });
  const create = createRoute({
    method: 'post',
    path: base,
    summary: `Create a ${noun} (the server makes its id)`,
    middleware: jsonBody(BODY_LIMIT),
    request: { body: { required: true, content: { 'application/json': { schema: body } } } },
    responses: { 201: { ...json(One, `The ${noun} as stored`), headers: ETag }, ...failures(401, 413, 415, ...REFUSALS.create) },
  });
  const read = createRoute({
    method: 'get',
    path,
    summary: `Read a ${noun}`,
    request: { params },
    responses: { 200: { ...json(One, `The ${noun}`), headers: ETag }, ...failures(400, 401, ...REFUSALS.get) },
  });
  const replace = createRoute({
    method: 'put',
    path,
    summary: `Replace a ${noun}`,
    middleware: jsonBody(BODY_LIMIT),
    request: { params, headers: IfMatch, body: { required: true, content: { 'application/json': { schema: body } } } },
    responses: { 200: { ...json(One, `The ${noun} as stored`), headers: ETag }, ...failures(401, 413, 415, ...REFUSALS.replace) },
  });
  const patch = createRoute({
    method: 'patch',
    path,
    summary: `Change some fields of a ${noun} (JSON Merge Patch, RFC 7396: null removes a field, arrays are replaced)`,
    middleware: jsonBody(BODY_LIMIT),
    request: {
      params,
      headers: IfMatch,
      body: {
        required: true,
        content: { 'application/merge-patch+json': { schema: mergePatchOf(`fields of the ${noun} to change; the result is validated as a whole`) } },
      },
    },
    responses: { 200: { ...json(One, `The ${noun} as stored`), headers: ETag }, ...failures(401, 413, 415, ...REFUSALS.replace) },
  });
  const remove = createRoute({
    method: 'delete',
    path,
    summary: `Delete a ${noun} (409 while another object refers to it)`,
    request: { params, headers: IfMatch },
    responses: { 200: json(Envelope(z.object({ id: z.string() })), 'Deleted'), ...failures(400, 401, ...REFUSALS.remove) },
  });

  return app
    .openapi(list, async (c) => {
      const all = await store(c).list(kind);
      c.header('etag', all.etag);
      return c.json(ok(all.value) as Many, 200);
    })
    .openapi(create, async (c) => replyItem(c, written(onWrite, await store(c).create(kind, c.req.valid('json'))), 201, REFUSALS.create))
    .openapi(read, async (c) => replyItem(c, await store(c).get(kind, c.req.valid('param').id), 200, REFUSALS.get))
    .openapi(replace, async (c) => {
      const outcome = await store(c).replace(kind, c.req.valid('param').id, c.req.valid('json'), c.req.valid('header')['if-match']);
      return replyItem(c, written(onWrite, outcome), 200, REFUSALS.replace);
    })
    .openapi(patch, async (c) => {
      const outcome = await store(c).patch(kind, c.req.valid('param').id, c.req.valid('json'), c.req.valid('header')['if-match']);
      return replyItem(c, written(onWrite, outcome), 200, REFUSALS.replace);
    })
    .openapi(remove, async (c) => {
      const outcome = written(onWrite, await store(c).remove(kind, c.req.valid('param').id, c.req.valid('header')['if-match']));
      if (!outcome.ok) return refuse(c, outcome, REFUSALS.remove);
      return c.json(ok(outcome.value), 200);
    });
}

/**
 * The ConfigStore's resource methods for one kind. The RPC client (core/rpc Client) maps each
 * method's generic signature to its constraint, so `list('pools')` answers every kind's union;
 * this restores the kind the contract (core/rpc ConfigStoreApi) promises.
 */
type KindStore<K extends Kind> = {
  list(kind: K): Promise<Versioned<Resource<K>[]>>;
  get(kind: K, id: string): Promise<Outcome<Versioned<Resource<K>>>>;
  create(kind: K, input: unknown): Promise<Outcome<Versioned<Resource<K>>>>;
  replace(kind: K, id: string, input: unknown, ifMatch?: string): Promise<Outcome<Versioned<Resource<K>>>>;
  patch(kind: K, id: string, patch: unknown, ifMatch?: string): Promise<Outcome<Versioned<Resource<K>>>>;
  remove(kind: K, id: string, ifMatch?: string): Promise<Outcome<{ id: string }>>;
};

/**
 * Every configuration route: monitors, pools, load balancers, DNS zones, webhooks, one origin's merge patch and the
 * whole configuration. (The generic `resourceRoutes` stays private: only its three concrete
 * instances have a type that declaration emit can write out.)
 */
export function configurationRoutes(onWrite: OnWrite) {
  return wholeConfigRoutes(onWrite)
    .route('/', resourceRoutes('monitors', onWrite))
    .route('/', resourceRoutes('pools', onWrite))
    .route('/', resourceRoutes('load_balancers', onWrite))
    .route('/', resourceRoutes('dns_zones', onWrite))
    .route('/', resourceRoutes('webhooks', onWrite))
    .route('/', resourceRoutes('tcp_apps', onWrite));
}

/** The whole configuration (`/config`) and one origin's merge patch (`/pools/{id}/origins/{name}`). */
function wholeConfigRoutes(onWrite: OnWrite) {
  const app = new OpenAPIHono<AdminEnv>();
  const exportConfig = createRoute({
    method: 'get',
    path: '/config',
    summary:
      "Export the whole configuration (format=cloudflare: Cloudflare's three lists, our extensions left out and named in messages; 304 with no body when If-None-Match names its current ETag: pollers such as tcp-proxy/ ask every second)",
    request: { query: ExportFormat, headers: IfNoneMatch },
    responses: {
      200: { ...json(z.union([Envelope(ConfigDocument), Envelope(CloudflareExport)]), 'The configuration and its version'), headers: ETag },
      304: { description: 'Not modified: If-None-Match names the current ETag', headers: ETag },
      ...failures(400, 401),
    },
  });
  const importConfig = createRoute({
    method: 'put',
    path: '/config',
    summary: 'Replace the whole configuration, all or nothing (objects keep the id they carry, or get one)',
    middleware: jsonBody(CONFIG_BODY_LIMIT),
    request: {
      headers: IfMatch,
      body: {
        required: true,
        content: {
          'application/json': { schema: storeValidated<z.input<typeof ConfigInput>>(app, ConfigInput, 'the whole configuration, as GET /config exports it') },
        },
      },
    },
    responses: {
      200: { ...json(Envelope(ConfigDocument), 'The configuration as stored'), headers: ETag },
      ...failures(401, 413, 415, ...REFUSALS.importConfig),
    },
  });
  const patchOrigin = createRoute({
    method: 'patch',
    path: '/pools/{id}/origins/{name}',
    summary: 'Change one origin of a pool (JSON Merge Patch), keeping every other field and origin',
    middleware: jsonBody(BODY_LIMIT),
    request: {
      params: z.object({ id: IdSchema.describe('pool id'), name: z.string().describe('origin name') }),
      headers: IfMatch,
      body: {
        required: true,
        content: { 'application/merge-patch+json': { schema: mergePatchOf('fields of the origin to change, e.g. {"enabled": false} or {"drain": true}') } },
      },
    },
    responses: { 200: { ...json(Envelope(storedOf('pools')), 'The pool as stored'), headers: ETag }, ...failures(401, 413, 415, ...REFUSALS.replace) },
  });

  const rotateAffinityKey = createRoute({
    method: 'post',
    path: '/affinity_key/rotate',
    summary: 'Make a new affinity cookie key (the previous one still reads cookies until the next rotation); ignored while AFFINITY_SECRET is set',
    responses: {
      200: json(
        Envelope(z.object({ version: z.int(), keys: z.int().describe('keys that read cookies: the new one and the previous one') })),
        'The config version that carries the new key',
      ),
      ...failures(401),
    },
  });

  return app
    .openapi(exportConfig, async (c) => {
      const read = await configStore(c.env).exportConfig();
      if (ifNoneMatchHits(c.req.valid('header')['if-none-match'], read.etag)) return c.body(null, 304, { etag: read.etag });
      return c.req.valid('query').format === 'cloudflare' ? cloudflareExport(c, read) : answer(c, read);
    })
    .openapi(rotateAffinityKey, async (c) => {
      const rotated = await configStore(c.env).rotateAffinityKey();
      onWrite();
      return c.json(ok(rotated), 200);
    })
    .openapi(importConfig, async (c) => {
      const outcome = written(onWrite, await configStore(c.env).importConfig(c.req.valid('json'), c.req.valid('header')['if-match']));
      if (!outcome.ok) return refuse(c, outcome, REFUSALS.importConfig);
      c.header('etag', outcome.value.etag);
      return c.json({ ...ok(outcome.value.value), messages: documentNotices(outcome.value.value) }, 200);
    })
    .openapi(patchOrigin, async (c) => {
      const { id, name } = c.req.valid('param');
      const outcome = await configStore(c.env).patchOrigin(id, name, c.req.valid('json'), c.req.valid('header')['if-match']);
      return reply(c, written(onWrite, outcome), 200, REFUSALS.replace);
    });
}
