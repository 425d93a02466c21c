/**
 * The whole configuration as one document, and the pure operations that change it.
 *
 * Every operation validates first and returns either a new document or errors; the input
 * document is never mutated, so a caller that persists only `ok` outcomes writes all or nothing.
 */
import { z } from 'zod';
import { ErrorCode, type ApiError, type Outcome, fail, fieldError, fromZod } from './errors.ts';
import { mergePatch } from './merge-patch.ts';
import {
  DnsZoneSchema,
  IdSchema,
  LoadBalancerSchema,
  MonitorSchema,
  PoolSchema,
  READ_ONLY_FIELDS,
  RuleOverridesSchema,
  WebhookSchema,
  type DnsZone,
  type LoadBalancer,
  type Monitor,
  type Pool,
  type RuleOverrides,
  type Stored,
  type Webhook,
} from './schema.ts';
import { TcpAppSchema, type TcpApp } from './tcp.ts';

export interface ConfigDocument {
  monitors: Monitor[];
  pools: Pool[];
  load_balancers: LoadBalancer[];
  dns_zones: DnsZone[];
  webhooks: Webhook[];
  tcp_apps: TcpApp[];
}
export type Kind = keyof ConfigDocument;
export type Resource<K extends Kind> = ConfigDocument[K][number];
export const KINDS: readonly Kind[] = ['monitors', 'pools', 'load_balancers', 'dns_zones', 'webhooks', 'tcp_apps'];
export const EMPTY_DOCUMENT: ConfigDocument = { monitors: [], pools: [], load_balancers: [], dns_zones: [], webhooks: [], tcp_apps: [] };
/** A new, empty document (its lists may be pushed to). */
export const emptyDocument = (): ConfigDocument => ({ monitors: [], pools: [], load_balancers: [], dns_zones: [], webhooks: [], tcp_apps: [] });

/** Each kind's input schema, and its noun in messages and API summaries. */
export const SCHEMAS = {
  monitors: MonitorSchema,
  pools: PoolSchema,
  load_balancers: LoadBalancerSchema,
  dns_zones: DnsZoneSchema,
  webhooks: WebhookSchema,
  tcp_apps: TcpAppSchema,
} as const;
export const NOUN: Readonly<Record<Kind, string>> = {
  monitors: 'monitor',
  pools: 'pool',
  load_balancers: 'load balancer',
  dns_zones: 'DNS zone',
  webhooks: 'webhook',
  tcp_apps: 'TCP app',
};

/**
 * What an operation needs from the outside world: a fresh id, the time (ISO 8601) and, where the
 * runtime can tell, whether a Worker secret binding is set (a non-empty string) and whether a
 * certificate is stored (they live outside the document). Without `hasSecret` or
 * `hasCertificate` (pure tests, tools) those references are not checked at write time.
 */
export interface WriteContext {
  newId(): string;
  now(): string;
  hasSecret?(name: string): boolean;
  hasCertificate?(id: string): boolean;
}

/** Validates one resource body (read-only fields are ignored). Errors name fields under `prefix`. */
export function parseResource<K extends Kind>(kind: K, input: unknown, prefix: (string | number)[] = []): Outcome<Omit<Resource<K>, keyof Stored>> {
  const result = SCHEMAS[kind].safeParse(input);
  if (!result.success) return fail(400, fromZod(result.error, prefix));
  const value: Record<string, unknown> = { ...result.data };
  for (const f of READ_ONLY_FIELDS) delete value[f];
  return { ok: true, value: value as Omit<Resource<K>, keyof Stored> };
}

/**
 * Stamps `disabled_at` (Cloudflare's read-only origin field) on a pool being written: an origin
 * that takes no new traffic by configuration (enabled false, or drain) keeps the time it stopped
 * from `before` (matched by name), or gets `now` if it just stopped; any other origin has none.
 * Session affinity's drain_duration counts from it.
 */
export function stampDisabledAt(before: Pool | undefined, pool: Pool, now: string): Pool {
  const old = new Map(before?.origins.map((o) => [o.name, o]));
  const origins = pool.origins.map(({ disabled_at: _, ...o }) => {
    if (o.enabled && !o.drain) return o;
    const was = old.get(o.name);
    return { ...o, disabled_at: was && (!was.enabled || was.drain) && was.disabled_at ? was.disabled_at : now };
  });
  return { ...pool, origins };
}

/** The stored form of a resource: server-managed fields (`disabled_at`) set from what was there before, never from input. */
function stored<K extends Kind>(kind: K, before: Resource<K> | undefined, item: Resource<K>, now: string): Resource<K> {
  return kind === 'pools' ? (stampDisabledAt(before as Pool | undefined, item as Pool, now) as Resource<K>) : item;
}

function withItems<K extends Kind>(doc: ConfigDocument, kind: K, items: Resource<K>[]): ConfigDocument {
  return { ...doc, [kind]: items };
}

/** Creates a resource with a server-generated id. */
export function createResource<K extends Kind>(
  doc: ConfigDocument,
  kind: K,
  input: unknown,
  ctx: WriteContext,
): Outcome<{ doc: ConfigDocument; item: Resource<K> }> {
  const parsed = parseResource(kind, input);
  if (!parsed.ok) return parsed;
  const now = ctx.now();
  const item = stored(kind, undefined, { id: ctx.newId(), ...parsed.value, created_on: now, modified_on: now } as Resource<K>, now);
  return commit(withItems(doc, kind, [...(doc[kind] as Resource<K>[]), item]), item, ctx);
}

/** Replaces a resource's body (PUT); `id` and `created_on` are kept. 404 when absent. */
export function replaceResource<K extends Kind>(
  doc: ConfigDocument,
  kind: K,
  id: string,
  input: unknown,
  ctx: WriteContext,
): Outcome<{ doc: ConfigDocument; item: Resource<K> }> {
  const items = doc[kind] as Resource<K>[];
  const index = items.findIndex((r) => r.id === id);
  if (index < 0) return notFound(kind, id);
  const parsed = parseResource(kind, input);
  if (!parsed.ok) return parsed;
  const old = items[index]!;
  const now = ctx.now();
  const item = stored(kind, old, { id, ...parsed.value, created_on: old.created_on, modified_on: now } as Resource<K>, now);
  return commit(withItems(doc, kind, items.with(index, item)), item, ctx);
}

/** Applies a JSON Merge Patch (RFC 7396) to a resource, then validates the result as a whole. */
export function patchResource<K extends Kind>(
  doc: ConfigDocument,
  kind: K,
  id: string,
  patch: unknown,
  ctx: WriteContext,
): Outcome<{ doc: ConfigDocument; item: Resource<K> }> {
  const current = (doc[kind] as Resource<K>[]).find((r) => r.id === id);
  if (!current) return notFound(kind, id);
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) {
    return fail(400, [fieldError(ErrorCode.invalid, '', 'a patch must be a JSON object')]);
  }
  return replaceResource(doc, kind, id, mergePatch(current, patch), ctx);
}

/**
 * Applies a JSON Merge Patch to one origin of a pool (`PATCH /pools/:id/origins/:name`), keeping
 * every other field and origin: the maintenance operation (enabled, drain, weight) without
 * resending the whole list. Errors name the origin's path in the pool ("origins[1].weight: ...").
 */
export function patchOrigin(
  doc: ConfigDocument,
  poolId: string,
  name: string,
  patch: unknown,
  ctx: WriteContext,
): Outcome<{ doc: ConfigDocument; item: Pool }> {
  const pool = doc.pools.find((p) => p.id === poolId);
  if (!pool) return notFound('pools', poolId);
  const index = pool.origins.findIndex((o) => o.name === name);
  if (index < 0) return fail(404, [{ code: ErrorCode.notFound, message: `pool ${poolId} has no origin named "${name}"` }]);
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) {
    return fail(400, [fieldError(ErrorCode.invalid, '', 'a patch must be a JSON object')]);
  }
  const origins = pool.origins.map((o, i) => (i === index ? mergePatch(o, patch) : o));
  return replaceResource(doc, 'pools', poolId, { ...pool, origins }, ctx) as Outcome<{ doc: ConfigDocument; item: Pool }>;
}

/** Deletes a resource; 409 (nothing deleted) while another resource refers to it. */
export function deleteResource(doc: ConfigDocument, kind: Kind, id: string): Outcome<{ doc: ConfigDocument }> {
  const items = doc[kind] as Resource<Kind>[];
  if (!items.some((r) => r.id === id)) return notFound(kind, id);
  const users = referrers(doc, kind, id);
  if (users.length) {
    return fail(
      409,
      users.map((u) => ({ code: ErrorCode.conflict, message: `${NOUN[kind]} ${id} is still used by ${u}` })),
    );
  }
  return {
    ok: true,
    value: {
      doc: withItems(
        doc,
        kind,
        items.filter((r) => r.id !== id),
      ),
    },
  };
}

const ImportSchema = z.strictObject({
  version: z.number().optional(),
  monitors: z.array(z.unknown()).default([]),
  pools: z.array(z.unknown()).default([]),
  load_balancers: z.array(z.unknown()).default([]),
  dns_zones: z.array(z.unknown()).default([]),
  webhooks: z.array(z.unknown()).default([]),
  tcp_apps: z.array(z.unknown()).default([]),
});
const idField = z.object({ id: IdSchema.optional() });

/**
 * Validates a whole document (the body of `PUT /config`) and returns it as the new document.
 * Objects keep the `id` they carry (so references hold) or get a new one; `created_on` is kept
 * from the current document when the id already exists. Every error of every object is reported.
 */
export function importDocument(current: ConfigDocument, input: unknown, ctx: WriteContext): Outcome<ConfigDocument> {
  const top = ImportSchema.safeParse(input);
  if (!top.success) return fail(400, fromZod(top.error));
  const errors: ApiError[] = [];
  const now = ctx.now();
  const next = emptyDocument();
  for (const kind of KINDS) {
    const seen = new Set<string>();
    top.data[kind].forEach((raw, i) => {
      const idParse = idField.safeParse(raw ?? {});
      if (!idParse.success) return errors.push(...fromZod(idParse.error, [kind, i]));
      const parsed = parseResource(kind, raw, [kind, i]);
      if (!parsed.ok) return errors.push(...parsed.errors);
      const id = idParse.data.id ?? ctx.newId();
      if (seen.has(id)) return errors.push(fieldError(ErrorCode.conflict, [kind, i, 'id'], `duplicate id "${id}"`));
      seen.add(id);
      const old = (current[kind] as Resource<Kind>[]).find((r) => r.id === id);
      (next[kind] as Resource<Kind>[]).push(
        stored(kind, old, { id, ...parsed.value, created_on: old?.created_on ?? now, modified_on: now } as Resource<Kind>, now),
      );
    });
  }
  if (errors.length) return fail(400, errors);
  const problems = checkDocument(next, true, ctx);
  if (problems.errors.length) return fail(problems.status, problems.errors);
  return { ok: true, value: next };
}

function commit<K extends Kind>(doc: ConfigDocument, item: Resource<K>, ctx: WriteContext): Outcome<{ doc: ConfigDocument; item: Resource<K> }> {
  const problems = checkDocument(doc, false, ctx, item.id);
  if (problems.errors.length) return fail(problems.status, problems.errors);
  return { ok: true, value: { doc, item } };
}

function notFound(kind: Kind, id: string): Outcome<never> {
  return fail(404, [{ code: ErrorCode.notFound, message: `${NOUN[kind]} ${id} not found` }]);
}

/**
 * Every (path, pool id) a load balancer refers to, its rules' overrides included; paths are
 * relative to the load balancer ("rules[0].overrides.default_pools[1]").
 */
export function poolReferences(lb: LoadBalancer): [(string | number)[], string][] {
  const refs: [(string | number)[], string][] = [];
  addPoolReferences(refs, [], lb);
  // A document stored while `rules` was unchecked may hold rules of any shape: only valid overrides refer to pools.
  (lb.rules ?? []).forEach((r, i) => {
    const o = RuleOverridesSchema.safeParse((r as { overrides?: unknown } | null)?.overrides ?? {});
    if (o.success) addPoolReferences(refs, ['rules', i, 'overrides'], o.data);
  });
  return refs;
}

/** The pool references of a load balancer or of a rule's overrides (whose fields may be absent), under `base`. */
function addPoolReferences(refs: [(string | number)[], string][], base: (string | number)[], o: RuleOverrides): void {
  o.default_pools?.forEach((p, i) => refs.push([[...base, 'default_pools', i], p]));
  if (o.fallback_pool !== undefined) refs.push([[...base, 'fallback_pool'], o.fallback_pool]);
  for (const field of ['region_pools', 'country_pools', 'pop_pools'] as const) {
    for (const [key, list] of Object.entries(o[field] ?? {})) list?.forEach((p, i) => refs.push([[...base, field, key, i], p]));
  }
  for (const p of Object.keys(o.random_steering?.pool_weights ?? {})) refs.push([[...base, 'random_steering', 'pool_weights', p], p]);
  o.pools?.forEach((p, i) => refs.push([[...base, 'pools', i], p]));
  for (const p of Object.keys(o.pool_weights ?? {})) refs.push([[...base, 'pool_weights', p], p]);
}

function referrers(doc: ConfigDocument, kind: Kind, id: string): string[] {
  if (kind === 'monitors') return doc.pools.filter((p) => p.monitor === id).map((p) => `pool ${p.id} (${p.name})`);
  if (kind === 'pools') {
    return doc.load_balancers.filter((lb) => poolReferences(lb).some(([, p]) => p === id)).map((lb) => `load balancer ${lb.id} (${lb.name})`);
  }
  if (kind === 'dns_zones') return doc.load_balancers.filter((lb) => lb.dns?.zone === id).map((lb) => `load balancer ${lb.id} (${lb.name})`);
  if (kind === 'load_balancers') {
    return [
      ...doc.webhooks.filter((w) => w.load_balancers.includes(id)).map((w) => `webhook ${w.id} (${w.name})`),
      ...doc.tcp_apps.filter((a) => a.load_balancer === id).map((a) => `TCP app ${a.id} (${a.name})`),
    ];
  }
  return [];
}

/**
 * Cross-object rules: references resolve (400), secret bindings and certificates exist (400, when
 * `ctx` can tell) and hostnames and TCP ports are unique (409, the first clash, reported only when
 * nothing else is wrong: a document with a 400 problem answers 400). With `only`, only that object's problems are
 * reported, with paths relative to it; otherwise paths are document paths.
 */
function checkDocument(doc: ConfigDocument, documentPaths: boolean, ctx: WriteContext, only?: string): { status: 400 | 409; errors: ApiError[] } {
  const errors: ApiError[] = [];
  const conflicts: ApiError[] = [];
  const at = (kind: Kind, i: number, rest: (string | number)[]) => (documentPaths ? [kind, i, ...rest] : rest);
  const unset = (path: (string | number)[], name: string | undefined) => {
    if (name !== undefined && ctx.hasSecret && !ctx.hasSecret(name)) {
      errors.push(
        fieldError(
          ErrorCode.unknownReference,
          path,
          `no Worker secret named ${name} is set: \`wrangler secret put ${name}\` (locally .dev.vars), then write this again`,
        ),
      );
    }
  };
  doc.dns_zones.forEach((z, i) => {
    if (only && z.id !== only) return;
    const p = z.provider;
    unset(
      at('dns_zones', i, ['provider', p.type === 'cloudflare' ? 'api_token_secret' : 'tsig_secret']),
      p.type === 'cloudflare' ? p.api_token_secret : p.tsig_secret,
    );
  });
  doc.webhooks.forEach((w, i) => {
    if (!only || w.id === only) unset(at('webhooks', i, ['secret']), w.secret);
  });
  const pools = new Set(doc.pools.map((p) => p.id));
  const zones = new Map(doc.dns_zones.map((z) => [z.id, z]));
  const lbs = new Set(doc.load_balancers.map((lb) => lb.id));
  doc.webhooks.forEach((w, i) => {
    if (only && w.id !== only) return;
    w.load_balancers.forEach((id, j) => {
      if (!lbs.has(id)) errors.push(fieldError(ErrorCode.unknownReference, at('webhooks', i, ['load_balancers', j]), `unknown load balancer "${id}"`));
    });
  });
  const ports = new Map<number, string>();
  doc.tcp_apps.forEach((a, i) => {
    const other = ports.get(a.listen_port);
    ports.set(a.listen_port, a.id);
    if (only && a.id !== only) return;
    if (!lbs.has(a.load_balancer))
      errors.push(fieldError(ErrorCode.unknownReference, at('tcp_apps', i, ['load_balancer']), `unknown load balancer "${a.load_balancer}"`));
    const certificates: [(string | number)[], string | undefined][] = [
      [['certificate'], a.certificate],
      ...a.additional_certificates.map((c, j) => [['additional_certificates', j], c] as [(string | number)[], string]),
    ];
    for (const [path, c] of certificates) {
      if (c !== undefined && ctx.hasCertificate && !ctx.hasCertificate(c))
        errors.push(
          fieldError(ErrorCode.unknownReference, at('tcp_apps', i, path), `unknown certificate "${c}": upload it first (POST /admin/v1/certificates)`),
        );
    }
    const clash = other ?? doc.tcp_apps.find((x, j) => j > i && x.listen_port === a.listen_port)?.id;
    if (clash && !conflicts.length)
      conflicts.push(fieldError(ErrorCode.conflict, at('tcp_apps', i, ['listen_port']), `port ${a.listen_port} is already used by TCP app ${clash}`));
  });
  const monitors = new Set(doc.monitors.map((m) => m.id));
  doc.pools.forEach((p, i) => {
    if (only && p.id !== only) return;
    if (p.monitor && !monitors.has(p.monitor))
      errors.push(fieldError(ErrorCode.unknownReference, at('pools', i, ['monitor']), `unknown monitor "${p.monitor}"`));
  });
  const hosts = new Map<string, string>();
  doc.load_balancers.forEach((lb, i) => {
    const other = hosts.get(lb.name);
    hosts.set(lb.name, lb.id);
    if (only && lb.id !== only) return;
    for (const [path, p] of poolReferences(lb)) {
      if (!pools.has(p)) errors.push(fieldError(ErrorCode.unknownReference, at('load_balancers', i, path), `unknown pool "${p}"`));
    }
    errors.push(...dnsProblems(lb, zones, (rest) => at('load_balancers', i, rest)));
    const clash = other ?? doc.load_balancers.find((x, j) => j > i && x.name === lb.name)?.id;
    if (clash && !conflicts.length)
      conflicts.push(fieldError(ErrorCode.conflict, at('load_balancers', i, ['name']), `hostname "${lb.name}" is already used by load balancer ${clash}`));
  });
  return errors.length ? { status: 400, errors } : { status: 409, errors: conflicts };
}

/**
 * A published load balancer's problems: its zone exists, holds its name (the apex or below it),
 * and the load balancer is DNS-only (a proxied one is answered by the Worker, not by records).
 */
function dnsProblems(lb: LoadBalancer, zones: ReadonlyMap<string, DnsZone>, at: (rest: (string | number)[]) => (string | number)[]): ApiError[] {
  if (!lb.dns) return [];
  const zone = zones.get(lb.dns.zone);
  if (!zone) return [fieldError(ErrorCode.unknownReference, at(['dns', 'zone']), `unknown DNS zone "${lb.dns.zone}"`)];
  const problems: ApiError[] = [];
  const bare = lb.name.startsWith('*.') ? lb.name.slice(2) : lb.name;
  if (bare !== zone.name && !bare.endsWith(`.${zone.name}`)) {
    problems.push(fieldError(ErrorCode.invalid, at(['dns', 'zone']), `zone ${zone.name} does not contain the load balancer's name ${lb.name}`));
  }
  if (lb.proxied)
    problems.push(
      fieldError(ErrorCode.invalid, at(['proxied']), 'must be false to publish DNS records (dns): a proxied load balancer is answered by the Worker'),
    );
  return problems;
}
