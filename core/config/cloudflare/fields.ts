/**
 * What Cloudflare Load Balancing writes that our model does not act on, as core/config/schema.ts
 * accepts it: its read-only fields, the fields where it writes `null` for "unset", its newer
 * fields (stored as given, "not yet active") and the monitor types a Worker cannot probe. Names
 * and shapes are those of the official SDK's types (npm `cloudflare` 7.3.0,
 * resources/load-balancers/{load-balancers,pools/pools,monitors/monitors}.d.ts).
 *
 * This module imports nothing from schema.ts (schema.ts imports it), so ids here are checked by
 * their own pattern.
 */
import { z } from 'zod';

/** A description starting with this marks a field stored but not acted on; writes warn about it (notices.ts). */
export const NOT_YET_ACTIVE = 'stored, not yet active';

/**
 * `schema`, with `null` read as absent: where Cloudflare writes null for "unset", the field then
 * takes our default (or stays absent). The input type admits null; the output never holds it.
 */
export function unset<T extends z.ZodType>(schema: T) {
  return z.preprocess((v: z.input<T> | null) => (v === null ? undefined : v), schema);
}

/**
 * Top-level fields (and origins' fields) where Cloudflare writes `null` to mean "unset": every
 * `| null` of the SDK's Monitor, Pool and LoadBalancer types but `notification_filter` (whose
 * null means "every notification" and is stored as null) and `load_shedding` (stored as given),
 * plus `session_affinity_ttl` and `notification_email`, which Cloudflare's answers carry as null
 * although the SDK types them as plain values. The import reports each null it drops.
 */
export const NULL_MEANS_UNSET = {
  monitors: ['port'],
  pools: ['check_regions', 'health_sources', 'origin_steering', 'notification_email'],
  origins: [],
  load_balancers: ['session_affinity_ttl'],
} as const satisfies Record<string, readonly string[]>;

/**
 * Fields Cloudflare sets and reports but never takes from a client: accepted on input (so an
 * export imports) and dropped. `id` is not among them: an imported object keeps its id.
 */
export const CLOUDFLARE_READ_ONLY = {
  monitors: ['created_on', 'modified_on'],
  pools: ['created_on', 'modified_on', 'disabled_at'],
  origins: ['disabled_at'],
  load_balancers: ['created_on', 'modified_on', 'zone_name'],
} as const satisfies Record<string, readonly string[]>;

/** Monitor types a Worker can probe (fetch, connect()); the others are stored and count as no monitor. */
export const PROBED_MONITOR_TYPES = ['http', 'https', 'tcp'] as const;
/** Cloudflare's monitor types a Worker cannot send (ICMP echo, UDP with ICMP replies, SMTP dialogue). */
export const UNPROBED_MONITOR_TYPES = ['icmp_ping', 'udp_icmp', 'smtp'] as const;
/** True when probes of this monitor type run here (see UNPROBED_MONITOR_TYPES). */
export const isProbed = (type: string): boolean => (PROBED_MONITOR_TYPES as readonly string[]).includes(type);

const REF = /^[A-Za-z0-9_-]{1,64}$/;
const ref = z.string().regex(REF, 'must be 1-64 characters of A-Z a-z 0-9 _ -');
const notActive = (what: string) => `${NOT_YET_ACTIVE} (Cloudflare's ${what})`;
const readOnly = (what: string) => z.string().max(256).optional().describe(`read-only (Cloudflare's ${what}), ignored on input`);
const networks = z.array(z.string().min(1).max(64)).max(32).optional().describe(notActive('networks where the load balancer or pool is enabled'));

/** A pool set (Cloudflare's `LoadBalancer.PoolSet`): first match wins; stored, not yet active. */
const PoolSetSchema = z.strictObject({
  name: z.string().max(256).optional(),
  disabled: z.boolean().optional(),
  match: z
    .strictObject({
      default: z.boolean().optional(),
      topology: z
        .strictObject({
          countries: z.array(z.string().max(8)).max(300).optional(),
          pops: z.array(z.string().max(8)).max(300).optional(),
          regions: z.array(z.string().max(16)).max(32).optional(),
        })
        .optional(),
    })
    .optional(),
  overrides: z
    .strictObject({
      fallback_pool: ref.optional(),
      pool_default_weight: z.number().min(0).max(1).optional(),
      pool_weights: z
        .record(ref, z.number().min(0).max(1))
        .refine((m) => Object.keys(m).length <= 300, 'at most 300 pools')
        .optional(),
      pools: z.array(ref).max(20).optional(),
      steering_policy: z.enum(['off', 'geo', 'random', 'dynamic_latency', 'proximity', 'least_outstanding_requests', 'least_connections', '']).optional(),
    })
    .optional(),
  fixed_response: z
    .strictObject({
      content_type: z.string().max(256).optional(),
      location: z.string().max(2048).optional(),
      message_body: z.string().max(1024).optional(),
      status_code: z.int().min(100).max(599).optional(),
    })
    .optional(),
});

/** Cloudflare's pool fields beyond ours, spread into PoolSchema. */
export const cloudflarePoolFields = {
  disabled_at: readOnly('time the pool was disabled'),
  health_sources: unset(
    z
      .array(z.enum(['local', 'regional', 'global']))
      .max(3)
      .optional(),
  ).describe(notActive('health sources, in priority order; null = local then global')),
  monitor_group: ref.optional().describe(notActive('monitor group id')),
  networks,
  notification_email: unset(z.string().max(1024).optional()).describe(
    notActive('deprecated notification address (Cloudflare moved it to its Notifications); ours: webhooks'),
  ),
};

/** Cloudflare's origin fields beyond ours, spread into OriginSchema. */
export const cloudflareOriginFields = {
  flatten_cname: z.boolean().optional().describe(notActive('CNAME flattening of a DNS-only answer')),
  virtual_network_id: z.string().max(64).optional().describe(notActive('virtual network of a private origin')),
};

/** Cloudflare's load balancer fields beyond ours, spread into LoadBalancerSchema. */
export const cloudflareLoadBalancerFields = {
  zone_name: readOnly("zone of the load balancer's hostname"),
  networks,
  pool_sets: z.array(PoolSetSchema).max(100).optional().describe(notActive('pool sets')),
};
