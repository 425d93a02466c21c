/**
 * Our configuration in Cloudflare Load Balancing's shapes (`GET /config?format=cloudflare`): the
 * monitors, pools and load balancers as Cloudflare's list answers carry them (the SDK's Monitor,
 * Pool and LoadBalancer types, read-only fields included), which its API accepts and our
 * import (import.ts) takes back. Our extensions, which Cloudflare has no field for, are left out
 * and named in `messages`: whole kinds (DNS zones, webhooks, TCP apps), EXTENSIONS, and origin steering
 * policies of ours. A message names each object path where a left-out value differs from our
 * default (a default-valued extension loses nothing worth a line).
 */
import type { LoadBalancer as CfLoadBalancer, Origin as CfOrigin } from 'cloudflare/resources/load-balancers/load-balancers';
import type { Monitor as CfMonitor } from 'cloudflare/resources/load-balancers/monitors/monitors';
import type { Pool as CfPool } from 'cloudflare/resources/load-balancers/pools/pools';
import type { ConfigDocument } from '../document.ts';
import { LoadBalancerSchema, OriginSchema, PoolSchema, type LoadBalancer, type Origin, type Pool } from '../schema.ts';

/** Cloudflare's three lists. */
export interface CloudflareLists {
  monitors: CfMonitor[];
  pools: CfPool[];
  load_balancers: CfLoadBalancer[];
}

/**
 * Our fields that Cloudflare does not have, by where they sit (the schema describes each as "our
 * extension"): left out of an export, and kept from the stored object when an import replaces it.
 */
export const EXTENSIONS = {
  pools: ['outlier_detection'],
  origin_steering: ['hash_key', 'hash_algorithm'],
  origins: ['drain'],
  load_balancers: ['trace_header', 'panic_mode', 'retry_non_idempotent', 'trust_client_forwarded', 'dns', 'per_try_timeout', 'acls'],
} as const;
/** Kinds of ours with no Cloudflare Load Balancing counterpart. */
export const EXTENSION_KINDS = ['dns_zones', 'webhooks', 'tcp_apps'] as const;
/** Cloudflare's origin steering policies (ours adds round_robin, least_response_time, first). */
export const CLOUDFLARE_ORIGIN_STEERING: readonly string[] = ['random', 'hash', 'least_outstanding_requests', 'least_connections'];

/** One line naming everything an export leaves out. */
export const LEFT_OUT_SUMMARY =
  "Cloudflare's format leaves out our extensions: " +
  [
    ...EXTENSION_KINDS,
    ...EXTENSIONS.pools.map((f) => `pools[].${f}`),
    ...EXTENSIONS.origin_steering.map((f) => `pools[].origin_steering.${f}`),
    'pools[].origin_steering.policy round_robin, least_response_time and first',
    ...EXTENSIONS.origins.map((f) => `pools[].origins[].${f}`),
    ...EXTENSIONS.load_balancers.map((f) => `load_balancers[].${f}`),
  ].join(', ') +
  '; the other messages name each one set away from its default';

let defaults: { pool: Pool; origin: Origin; lb: LoadBalancer } | undefined;
/** Our defaults, from the schemas themselves (minimal valid objects). */
function ourDefaults() {
  const origin = { name: 'o', address: 'origin.example' };
  defaults ??= {
    pool: PoolSchema.parse({ name: 'p', origins: [origin] }) as Pool,
    origin: OriginSchema.parse(origin),
    lb: LoadBalancerSchema.parse({ name: 'lb.example', default_pools: ['p'], fallback_pool: 'p' }) as LoadBalancer,
  };
  return defaults;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Notes `path` when a left-out value differs from our default. */
function leaveOut(notes: string[], path: string, value: unknown, ours: unknown): void {
  if (value !== undefined && !same(value, ours)) notes.push(`${path}: our extension (${JSON.stringify(value)}), left out: Cloudflare has no equivalent`);
}

/** Every field of `item` but `fields`. */
function without<T extends object>(item: T, fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).filter(([k, v]) => !fields.includes(k) && v !== undefined));
}

function origin(o: Origin, path: string, notes: string[]): CfOrigin {
  for (const f of EXTENSIONS.origins) leaveOut(notes, `${path}.${f}`, o[f], ourDefaults().origin[f]);
  return without(o, EXTENSIONS.origins) as CfOrigin;
}

function pool(p: Pool, path: string, notes: string[]): CfPool {
  const d = ourDefaults().pool;
  for (const f of EXTENSIONS.pools) leaveOut(notes, `${path}.${f}`, p[f], d[f]);
  for (const f of EXTENSIONS.origin_steering) leaveOut(notes, `${path}.origin_steering.${f}`, p.origin_steering[f], d.origin_steering[f]);
  const { policy } = p.origin_steering;
  const steering = CLOUDFLARE_ORIGIN_STEERING.includes(policy) ? { origin_steering: { policy } } : {};
  if (!CLOUDFLARE_ORIGIN_STEERING.includes(policy)) {
    notes.push(`${path}.origin_steering.policy: ${policy} is ours, left out (Cloudflare then steers at random)`);
  }
  const origins = p.origins.map((o, j) => origin(o, `${path}.origins[${j}]`, notes));
  return { ...without(p, [...EXTENSIONS.pools, 'origin_steering', 'origins']), ...steering, origins } as CfPool;
}

function loadBalancer(lb: LoadBalancer, path: string, notes: string[]): CfLoadBalancer {
  const d = ourDefaults().lb;
  for (const f of EXTENSIONS.load_balancers) leaveOut(notes, `${path}.${f}`, lb[f], d[f]);
  return without(lb, EXTENSIONS.load_balancers) as CfLoadBalancer;
}

/**
 * `doc` as Cloudflare's three lists, with `messages`: LEFT_OUT_SUMMARY, then one line per kind of
 * ours that has objects and per extension value that differs from our default ("pools[0].
 * outlier_detection: …"). Paths are the document's (and the lists', whose order is kept).
 */
export function toCloudflare(doc: ConfigDocument): CloudflareLists & { messages: string[] } {
  const notes: string[] = [];
  for (const kind of EXTENSION_KINDS) {
    if (doc[kind].length) notes.push(`${kind}: ${doc[kind].length} left out (ours: Cloudflare Load Balancing has no ${kind})`);
  }
  const lists: CloudflareLists = {
    monitors: doc.monitors.map((m) => without(m, []) as CfMonitor),
    pools: doc.pools.map((p, i) => pool(p, `pools[${i}]`, notes)),
    load_balancers: doc.load_balancers.map((lb, i) => loadBalancer(lb, `load_balancers[${i}]`, notes)),
  };
  return { ...lists, messages: [LEFT_OUT_SUMMARY, ...notes] };
}
