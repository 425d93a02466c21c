/**
 * Config model: monitors, pools and load balancers, with Cloudflare Load Balancing's field names
 * and defaults (see shared/reference/cloudflare-lb-api.md). Times are in seconds, as Cloudflare's.
 *
 * Every object is strict: an unknown key is an error naming it, so a typo never passes silently.
 * Fields marked "stored, not yet active" are validated and kept but do not change routing yet.
 */
import { z } from 'zod';
import { AclListSchema } from '../acl/schema.ts';
import { compileCondition } from '../rules/index.ts';
import { REGIONS } from '../steer/regions.ts';
import { UNPROBED_MONITOR_TYPES, cloudflareLoadBalancerFields, cloudflareOriginFields, cloudflarePoolFields, unset } from './cloudflare/fields.ts';
import { FIELD_VALUE, TOKEN } from './http-patterns.ts';

const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** True for a DNS hostname (lowercase letters, digits, hyphens; dot-separated labels; ≤ 253 chars). */
export function isHostname(s: string): boolean {
  return s.length <= 253 && s.split('.').every((label) => HOST_LABEL.test(label));
}

/** Lower-cases and validates a hostname; `allowWildcard` accepts a leading `*.` label. */
function hostnameSchema(allowWildcard: boolean) {
  return z
    .string()
    .trim()
    .toLowerCase()
    .refine(
      (s) => isHostname(allowWildcard && s.startsWith('*.') ? s.slice(2) : s),
      allowWildcard ? 'must be a hostname such as app.example.com or a wildcard such as *.example.com' : 'must be a hostname',
    );
}

const address = z
  .string()
  .trim()
  .min(1)
  .refine(
    (s) => z.ipv4().safeParse(s).success || z.ipv6().safeParse(s).success || isHostname(s.toLowerCase()),
    'must be an IPv4 address, an IPv6 address or a hostname',
  );

/** Resource ids: 1-64 characters of A-Z a-z 0-9 _ - (server-made ids are 32 hex digits). */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Names JavaScript objects treat specially: never an id, so no map keyed by ids can be subverted. */
const RESERVED_IDS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
export const IdSchema = z
  .string()
  .regex(ID_PATTERN, 'must be 1-64 characters of A-Z a-z 0-9 _ -')
  .refine((s) => !RESERVED_IDS.has(s), 'is a reserved name (__proto__, constructor, prototype)');
const id = IdSchema;

export { FIELD_VALUE, TOKEN } from './http-patterns.ts';
const headerName = z.string().regex(TOKEN, 'must be a header name (RFC 9110 token)');
const headerValue = z.string().max(4096).regex(FIELD_VALUE, 'must be a header value: no control characters (CR, LF, NUL)');
const headerMap = z.record(headerName, z.array(headerValue).max(16)).refine((m) => Object.keys(m).length <= 32, 'at most 32 header names');

/** Origin names: 1-128 characters of letters, digits, space and . _ - : @ ( ) / + (safe in a trace header, a log line and a cookie). */
export const ORIGIN_NAME = /^[A-Za-z0-9 _.:@()/+-]{1,128}$/;

/** Size limits of lists in the config (documented in the README and the OpenAPI document). */
export const LIMITS = { originsPerPool: 1000, poolsPerList: 20, poolMapEntries: 300, affinityHeaders: 16, rules: 100 } as const;

/** At most `max` keys: every map a client can grow has a cap, so one stored object stays far below the 2 MB a Durable Object's SQLite value may hold. */
const capped = (max: number) => (m: object) => Object.keys(m).length <= max;
/** The name of a pool, TCP app or certificate: 1-128 characters of A-Z a-z 0-9 _ . - (safe in a header, a log line and a metric label). */
export const resourceName = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 _ . -');
/** Fields the server owns: accepted on input (so an exported object can be sent back) and ignored (Cloudflare's zone_name and pool disabled_at too). */
export const READ_ONLY_FIELDS = ['id', 'created_on', 'modified_on', 'zone_name', 'disabled_at'] as const;
/** The server-owned fields every resource schema accepts and ignores (READ_ONLY_FIELDS drops them). */
export const readOnly = {
  id: z.string().optional().describe('read-only, ignored on input'),
  created_on: z.string().optional().describe('read-only, ignored on input'),
  modified_on: z.string().optional().describe('read-only, ignored on input'),
};

// ---------------------------------------------------------------------------------------- monitor

export const MonitorSchema = z
  .strictObject({
    ...readOnly,
    description: z.string().max(1024).default(''),
    type: z
      .enum(['http', 'https', 'tcp', ...UNPROBED_MONITOR_TYPES])
      .default('http')
      .describe("icmp_ping, udp_icmp and smtp (Cloudflare's) cannot be probed from a Worker: stored; pools using such a monitor count as having none"),
    method: z
      .string()
      .regex(/^[A-Z]+$|^connection_established$/, 'must be an HTTP method such as GET or HEAD')
      .optional(),
    path: z.string().startsWith('/').default('/'),
    port: unset(z.int().min(0).max(65535).default(0)).describe(
      "0 or null = the origin's port, and the scheme's default port when that is 0 too (Cloudflare: 0 = the protocol's default port, whatever the origin's)",
    ),
    header: headerMap.default({}),
    expected_codes: z
      .string()
      .regex(/^([1-5](\d\d|xx))(,\s*[1-5](\d\d|xx))*$/, 'must be codes or classes such as "200", "2xx" or "200,301"')
      .default('200'),
    expected_body: z.string().max(10240).default(''),
    follow_redirects: z.boolean().default(false),
    allow_insecure: z.boolean().default(false),
    interval: z.int().min(5).max(3600).default(60).describe('seconds between probes (5 s floor)'),
    timeout: z.int().min(1).max(10).default(5).describe('seconds'),
    retries: z.int().min(0).max(5).default(2),
    consecutive_up: z.int().min(0).max(10).default(1).describe("probes in a row to become healthy; 0 (Cloudflare's default) = 1"),
    consecutive_down: z.int().min(0).max(10).default(1).describe("probes in a row to become unhealthy; 0 (Cloudflare's default) = 1"),
    probe_zone: z.string().max(253).default('').describe('stored, not yet active'),
  })
  .refine((m) => m.timeout < m.interval, { path: ['timeout'], message: 'must be shorter than interval' })
  // `method` last whether given or defaulted, so what is read back writes back in the same key order (no drift).
  .transform(({ method, ...m }) => ({ ...m, method: method ?? (m.type === 'tcp' ? 'connection_established' : 'GET') }))
  .meta({ id: 'MonitorInput' });

// ------------------------------------------------------------------------------------------- pool

export const OriginSchema = z.strictObject({
  name: z
    .string()
    .trim()
    .regex(ORIGIN_NAME, 'must be 1-128 characters of letters, digits, space and . _ - : @ ( ) / +')
    .refine((s) => !RESERVED_IDS.has(s), 'is a reserved name (__proto__, constructor, prototype)'),
  address,
  port: z.int().min(0).max(65535).default(0).describe('0 = the default port of the request scheme'),
  weight: z.number().min(0).max(1).default(1),
  enabled: z.boolean().default(true),
  drain: z.boolean().default(false).describe('our extension: no new requests; requests under way finish (maintenance)'),
  header: z
    .strictObject({ Host: z.array(hostnameSchema(false)).max(1) })
    .partial()
    .default({}),
  disabled_at: z
    .string()
    .optional()
    .describe(
      "read-only (Cloudflare's field): when the origin stopped taking new traffic (enabled false, or drain), ISO 8601; sessions may stay for drain_duration after it. Ignored on input",
    ),
  ...cloudflareOriginFields,
});

export const RegionSchema = z.enum(REGIONS);

/** Cloudflare's filter options for one kind of resource (pool or origin); null resets a field. */
const FilterOptionsSchema = z.strictObject({
  disable: z.boolean().nullish().describe('true: no notifications for this kind of resource'),
  healthy: z.boolean().nullish().describe('true: only when it becomes healthy; false: only when it becomes unhealthy; null: both'),
});
/** Cloudflare's pool `notification_filter` (core/notify/filter.ts applies it). */
export const NotificationFilterSchema = z.strictObject({ origin: FilterOptionsSchema.nullish(), pool: FilterOptionsSchema.nullish() });
export type NotificationFilter = z.output<typeof NotificationFilterSchema>;

/**
 * Cloudflare's pool `load_shedding` (API schema `load-balancing_load_shedding`): the percent of
 * new traffic (`default_*`) and of existing affinity sessions (`session_*`) that steering sends
 * to the next pools instead; `hash` sheds by the client's address (CF-Connecting-IP).
 */
export const LoadSheddingSchema = z.strictObject({
  default_percent: z.number().min(0).max(100).default(0).describe('percent of requests without a session (and new sessions) to shed'),
  default_policy: z.enum(['random', 'hash']).default('random').describe('random: per request; hash: all requests of a share of client IPs'),
  session_percent: z.number().min(0).max(100).default(0).describe('percent of existing sessions to shed'),
  session_policy: z.enum(['hash']).default('hash').describe("Cloudflare's only session policy (random would decay sessions exponentially)"),
});
export type LoadShedding = z.output<typeof LoadSheddingSchema>;

export const PoolSchema = z
  .strictObject({
    ...readOnly,
    name: resourceName,
    description: z.string().max(1024).default(''),
    enabled: z.boolean().default(true),
    minimum_origins: z.int().min(1).default(1),
    monitor: id.optional(),
    latitude: z.number().min(-90).max(90).optional(),
    longitude: z.number().min(-180).max(180).optional(),
    check_regions: unset(z.array(z.enum([...REGIONS, 'CHINA', 'ALL_REGIONS'])).optional()).describe('stored, not yet active'),
    notification_filter: NotificationFilterSchema.nullish().describe(
      "Cloudflare's: which health notifications (webhooks) this pool's origins and the pool itself send; null = all",
    ),
    origins: z.array(OriginSchema).min(1).max(LIMITS.originsPerPool),
    origin_steering: unset(
      z
        .strictObject({
          policy: z
            .enum(['random', 'hash', 'least_outstanding_requests', 'least_connections', 'round_robin', 'least_response_time', 'first'])
            .default('random'),
          hash_key: z
            .strictObject({ type: z.enum(['ip', 'uri', 'header', 'cookie']).default('ip'), name: headerName.optional().describe('header or cookie name') })
            .refine((k) => (k.type === 'header' || k.type === 'cookie') === (k.name !== undefined), {
              message: 'name is required for header and cookie keys, and only for them',
              path: ['name'],
            })
            .default({ type: 'ip' })
            .describe('our extension: what `hash` hashes (Cloudflare: the client IP)'),
          hash_algorithm: z.enum(['maglev', 'rendezvous']).default('maglev').describe('our extension'),
        })
        .default({ policy: 'random', hash_key: { type: 'ip' }, hash_algorithm: 'maglev' }),
    ).describe('Cloudflare: random, hash, least_outstanding_requests, least_connections; ours: round_robin, least_response_time, first'),
    load_shedding: LoadSheddingSchema.nullish().describe(
      "Cloudflare's load shedding (core/route/shedding.ts): a share of new requests, and of sessions pinned here, goes to the next pool; null = none, stored as null",
    ),
    outlier_detection: z
      .strictObject({
        enabled: z.boolean().default(true),
        consecutive_5xx: z.int().min(1).max(1000).default(5),
        consecutive_gateway_failure: z.int().min(1).max(1000).default(5),
        base_ejection_time: z.int().min(1).max(3600).default(30).describe('seconds; an ejection lasts base_ejection_time x times ejected'),
        max_ejection_time: z
          .int()
          .min(1)
          .max(86400)
          .default(300)
          .describe("seconds: Envoy's cap on one ejection; the multiplier decays by one per base_ejection_time in rotation"),
        max_ejection_percent: z.int().min(0).max(100).default(10),
      })
      .default({ enabled: true, consecutive_5xx: 5, consecutive_gateway_failure: 5, base_ejection_time: 30, max_ejection_time: 300, max_ejection_percent: 10 })
      .describe("our extension: passive health by Envoy's outlier detection (at least one origin can always be ejected)"),
    ...cloudflarePoolFields,
  })
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.origins.forEach((o, i) => {
      if (seen.has(o.name)) ctx.addIssue({ code: 'custom', path: ['origins', i, 'name'], message: `duplicate origin name "${o.name}"` });
      seen.add(o.name);
    });
    if (p.minimum_origins > p.origins.length) {
      ctx.addIssue({ code: 'custom', path: ['minimum_origins'], message: `is ${p.minimum_origins} but the pool has ${p.origins.length} origins` });
    }
    if ((p.latitude === undefined) !== (p.longitude === undefined)) {
      ctx.addIssue({ code: 'custom', path: [p.latitude === undefined ? 'latitude' : 'longitude'], message: 'latitude and longitude go together' });
    }
  })
  .meta({ id: 'PoolInput' });

// ---------------------------------------------------------------------------------- load balancer

const poolList = z.array(id).min(1).max(LIMITS.poolsPerList);
/** A header name, or `cookie:a,b` (cookie names), whose values form the session key. */
const affinityHeader = z
  .string()
  .min(1)
  .refine(
    (s) =>
      s.toLowerCase().startsWith('cookie:')
        ? s
            .slice(7)
            .split(',')
            .every((c) => TOKEN.test(c.trim()))
        : TOKEN.test(s),
    'must be a header name or cookie:name[,name] (RFC 9110 / RFC 6265 tokens)',
  );
/**
 * session_affinity_ttl bounds and defaults (s) by kind of affinity, Cloudflare's: cookie and
 * ip_cookie 1,800-604,800 (default 82,800 = 23 h); header 30-3,600 (default 1,800, an idle TTL).
 */
export const AFFINITY_TTL = { cookie: { min: 1800, max: 604800, default: 82800 }, header: { min: 30, max: 3600, default: 1800 } } as const;

// Fields a load balancer and its rules' `overrides` share (without the load balancer's defaults).
const dnsTtl = z.int().min(1).max(86400);
const regionPools = z.partialRecord(RegionSchema, poolList);
const countryPools = z
  .record(z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code'), poolList)
  .refine(capped(LIMITS.poolMapEntries), `at most ${LIMITS.poolMapEntries} countries`);
const popPools = z
  .record(z.string().regex(/^[A-Z]{3}$/, 'must be a 3-letter IATA colo code'), poolList)
  .refine(capped(LIMITS.poolMapEntries), `at most ${LIMITS.poolMapEntries} colos`);
const steeringPolicy = z.enum(['off', 'geo', 'random', 'dynamic_latency', 'proximity', 'least_outstanding_requests', 'least_connections', '']);
/** Pool id → weight, relative to the other pools (random_steering's, and a rule's `pool_weights`). */
const poolWeights = z.record(id, z.number().min(0).max(1)).refine(capped(LIMITS.poolMapEntries), `at most ${LIMITS.poolMapEntries} pools`);
const randomSteering = z.strictObject({
  default_weight: z.number().min(0).max(1).default(1),
  pool_weights: poolWeights.default({}),
});
const adaptiveRouting = z.strictObject({ failover_across_pools: z.boolean().default(false) });
const locationStrategy = z.strictObject({
  mode: z.enum(['pop', 'resolver_ip']).default('pop'),
  prefer_ecs: z.enum(['always', 'never', 'proximity', 'geo']).default('proximity'),
});
const sessionAffinity = z.enum(['none', 'cookie', 'ip_cookie', 'header', '']);
const sessionAffinityAttributes = z.strictObject({
  samesite: z.enum(['Auto', 'Lax', 'None', 'Strict']).default('Auto'),
  secure: z.enum(['Auto', 'Always', 'Never']).default('Auto'),
  drain_duration: z
    .int()
    .min(0)
    .default(0)
    .describe(
      'seconds: a session pinned to an origin that was disabled or set to drain stays on it this long after its disabled_at; new sessions go elsewhere (0 = sessions move at once)',
    ),
  zero_downtime_failover: z.enum(['none', 'temporary', 'sticky']).default('none'),
  headers: z.array(affinityHeader).max(LIMITS.affinityHeaders).default([]),
  require_all_headers: z.boolean().default(false),
});

/**
 * A rule's `overrides` (Cloudflare's `Rules.Overrides`): each field given replaces the load
 * balancer's for the request (core/route/overrides.ts maps them). Cloudflare's declarative
 * fields: `pools` (the pools to route to, in order: replaces the resolved topology),
 * `pool_weights` and `pool_default_weight` (random_steering's weights, written flat; mutually
 * exclusive with `random_steering`). `pools` and a rule's `fixed_response` exclude each other (RuleSchema).
 */
export const RuleOverridesSchema = z
  .strictObject({
    steering_policy: steeringPolicy.optional(),
    default_pools: poolList.optional(),
    fallback_pool: id.optional(),
    session_affinity: sessionAffinity.optional(),
    session_affinity_ttl: z.int().positive().optional(),
    session_affinity_attributes: sessionAffinityAttributes.optional(),
    country_pools: countryPools.optional(),
    region_pools: regionPools.optional(),
    pop_pools: popPools.optional(),
    random_steering: randomSteering.optional(),
    adaptive_routing: adaptiveRouting.optional(),
    location_strategy: locationStrategy.optional(),
    ttl: dnsTtl.optional(),
    pools: poolList.optional().describe('pool ids in failover order: the only pools the matched requests use (default_pools, no geo maps)'),
    pool_weights: poolWeights.optional().describe("random_steering.pool_weights, written flat (Cloudflare's declarative alternative)"),
    pool_default_weight: z.number().min(0).max(1).optional().describe('random_steering.default_weight, written flat'),
  })
  .superRefine((o, ctx) => {
    for (const f of ['pool_weights', 'pool_default_weight'] as const) {
      if (o[f] !== undefined && o.random_steering !== undefined) {
        ctx.addIssue({ code: 'custom', path: [f], message: 'is mutually exclusive with random_steering (its declarative alternative): set one of them' });
      }
    }
  });
export type RuleOverrides = z.output<typeof RuleOverridesSchema>;

/** A rule's `fixed_response` (Cloudflare's `Rules.FixedResponse`, its length limits): answered instead of routing. */
export const FixedResponseSchema = z.strictObject({
  status_code: z.int().min(200).max(599).default(200),
  content_type: headerValue.max(32).optional(),
  location: headerValue.max(2048).optional().describe('the Location header (with a 3xx status_code: a redirect)'),
  message_body: z.string().max(1024).optional(),
});
export type FixedResponse = z.output<typeof FixedResponseSchema>;

/**
 * A load balancing rule (Cloudflare's `Rules`), applied by core/route/rules.ts. `condition` is
 * compiled at write time (core/rules): an invalid one is refused with its offset and token. A rule
 * with a `fixed_response` terminates, as Cloudflare marks it.
 */
export const RuleSchema = z
  .strictObject({
    name: z.string().max(256).default('').describe('for people only'),
    condition: z
      .string()
      .default('')
      .superRefine((expression, ctx) => {
        const c = compileCondition(expression);
        if (!c.ok) ctx.addIssue({ code: 'custom', message: `${c.error.message} (offset ${c.error.offset}, at ${JSON.stringify(c.error.token)})` });
      })
      .describe("Cloudflare's Rules language, the subset core/rules supports; empty = always"),
    disabled: z.boolean().default(false),
    priority: z.int().min(0).max(2147483647).optional().describe("lower runs first; absent = the rule's index in `rules`"),
    terminates: z.boolean().default(false).describe('when the rule matches, no later rule is evaluated'),
    overrides: RuleOverridesSchema.default({}),
    fixed_response: FixedResponseSchema.optional(),
  })
  .refine((r) => !(r.fixed_response && r.overrides.pools), {
    path: ['overrides', 'pools'],
    message: 'is mutually exclusive with fixed_response (a rule either answers or routes)',
  })
  .transform((r) => (r.fixed_response && !r.terminates ? { ...r, terminates: true } : r));
export type Rule = z.output<typeof RuleSchema>;

export const LoadBalancerSchema = z
  .strictObject({
    ...readOnly,
    name: hostnameSchema(true),
    description: z.string().max(1024).default(''),
    enabled: z.boolean().default(true),
    proxied: z.boolean().default(true).describe('false: DNS-only, answered by DNS-over-HTTPS and published through `dns`, not proxied'),
    ttl: dnsTtl.default(30).describe('seconds: TTL of the records a DNS-only load balancer publishes (dns) and of DoH answers'),
    default_pools: poolList,
    fallback_pool: id,
    region_pools: regionPools.default({}),
    country_pools: countryPools.default({}),
    pop_pools: popPools.default({}),
    steering_policy: steeringPolicy.default('').describe('pool steering (core/steer/pools.ts)'),
    random_steering: randomSteering.optional(),
    adaptive_routing: adaptiveRouting.default({ failover_across_pools: false }),
    location_strategy: locationStrategy.optional(),
    session_affinity: sessionAffinity.default('none').describe('cookie, ip_cookie and header affinity'),
    session_affinity_ttl: unset(z.int().positive().optional()),
    session_affinity_attributes: sessionAffinityAttributes.optional(),
    rules: z.array(RuleSchema).max(LIMITS.rules).default([]).describe("Cloudflare's load balancing rules (core/route/rules.ts), in `priority` order"),
    acls: AclListSchema,
    trace_header: z.boolean().default(false).describe('our extension: add an X-LB-Trace response header (pool, origin, attempts, policies) for debugging'),
    panic_mode: z
      .boolean()
      .default(false)
      .describe("our extension (Envoy's panic mode): with no usable origin anywhere, spread over every enabled origin instead of answering 503"),
    retry_non_idempotent: z
      .boolean()
      .default(false)
      .describe(
        "our extension (nginx's proxy_next_upstream non_idempotent): also move POST, PATCH and other non-idempotent requests to the next origin after a timeout or a 502/503/504. Off: they move on only when the connection failed, so nothing takes effect twice",
      ),
    trust_client_forwarded: z
      .boolean()
      .default(false)
      .describe(
        "our extension: pass the client's own Forwarded, X-Real-IP, True-Client-IP and X-Forwarded-Port on to origins (off: dropped; the client address comes from the runtime)",
      ),
    dns: z
      .strictObject({
        zone: id.describe('the dns_zones object whose zone holds this name'),
        max_records: z.int().min(1).max(64).default(8).describe('at most this many A/AAAA records are published'),
      })
      .optional()
      .describe('our extension: publish this DNS-only load balancer (proxied: false) as records in a zone that follow health (dns/); absent: not published'),
    per_try_timeout: z
      .number()
      .min(0.1)
      .max(300)
      .default(15)
      .describe('our extension (Envoy name): seconds to wait for one origin attempt to answer with headers'),
    ...cloudflareLoadBalancerFields,
  })
  .superRefine((lb, ctx) => {
    const kind = lb.session_affinity === 'header' ? 'header' : lb.session_affinity === 'cookie' || lb.session_affinity === 'ip_cookie' ? 'cookie' : undefined;
    if (kind && lb.session_affinity_ttl !== undefined) {
      const { min, max } = AFFINITY_TTL[kind];
      if (lb.session_affinity_ttl < min || lb.session_affinity_ttl > max) {
        ctx.addIssue({ code: 'custom', path: ['session_affinity_ttl'], message: `must be ${min}-${max} seconds for ${kind} affinity` });
      }
    }
    if (lb.session_affinity === 'header' && lb.session_affinity_attributes?.zero_downtime_failover === 'sticky') {
      ctx.addIssue({
        code: 'custom',
        path: ['session_affinity_attributes', 'zero_downtime_failover'],
        message: 'sticky is not available with header affinity',
      });
    }
    if (lb.session_affinity === 'header' && !lb.session_affinity_attributes?.headers.length) {
      ctx.addIssue({ code: 'custom', path: ['session_affinity_attributes', 'headers'], message: 'header affinity needs at least one header name' });
    }
  })
  .meta({ id: 'LoadBalancerInput' });

// -------------------------------------------------------------------------- DNS zones, webhooks

/** The name of a Worker secret binding (`wrangler secret put NAME`; `.dev.vars` locally): secrets are never in the config. */
export const BINDING_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
const bindingName = z
  .string()
  .regex(BINDING_NAME, 'must name a Worker secret binding (A-Z, 0-9, _), such as DNS_TSIG_KEY; the secret itself never goes in the config');

/**
 * A DNS zone that DNS-only load balancers publish their records in (dns/), and how to reach its
 * provider: Cloudflare's DNS API (an API token with Zone:DNS:Edit) or an RFC 2136 server taking
 * TSIG-signed updates (RFC 8945). Credentials are named by binding, never stored.
 */
export const DnsZoneSchema = z
  .strictObject({
    ...readOnly,
    name: hostnameSchema(false).describe('the zone apex, e.g. example.com'),
    description: z.string().max(1024).default(''),
    owner_id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1-63 characters of a-z 0-9 -')
      .default('edge-lb')
      .describe("external-dns's txt-owner-id: marks the records this installation owns; records without it are never touched"),
    provider: z.discriminatedUnion('type', [
      z.strictObject({
        type: z.literal('cloudflare'),
        zone_id: z.string().regex(/^[0-9a-f]{32}$/, 'must be a Cloudflare zone id (32 hex digits)'),
        api_token_secret: bindingName.describe('the Worker secret holding an API token with Zone:DNS:Edit on this zone'),
        api_base: z
          .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
          .default('https://api.cloudflare.com/client/v4')
          .describe("Cloudflare's API; another base only for testing"),
      }),
      z.strictObject({
        type: z.literal('rfc2136'),
        server: address.describe('the primary name server taking dynamic updates (over TCP)'),
        port: z.int().min(1).max(65535).default(53),
        tsig_key_name: hostnameSchema(false).describe("the TSIG key's name, as in BIND's key statement"),
        tsig_algorithm: z.enum(['hmac-sha256', 'hmac-sha512']).default('hmac-sha256'),
        tsig_secret: bindingName.describe("the Worker secret holding the key's base64 secret"),
      }),
    ]),
  })
  .meta({ id: 'DnsZoneInput' });

/** Health transitions a webhook can be sent (core/notify/events.ts, durable-objects/lb-state/notify.ts). */
export const WEBHOOK_EVENTS = ['origin_health', 'pool_health', 'ejection', 'fallback'] as const;

/** A webhook: health transitions delivered as signed JSON (HMAC-SHA256) or Slack messages. */
export const WebhookSchema = z
  .strictObject({
    ...readOnly,
    name: z.string().trim().min(1).max(128),
    description: z.string().max(1024).default(''),
    enabled: z.boolean().default(true),
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048),
    format: z.enum(['json', 'slack']).default('json').describe('json: our signed payload; slack: an incoming-webhook message'),
    secret: bindingName
      .optional()
      .describe(
        'the Worker secret whose value (whsec_ + base64 of 24-64 random bytes) signs each delivery by Standard Webhooks (HMAC-SHA256); unset or malformed: nothing is delivered. Required for json; optional for slack, whose receivers authenticate by URL',
      ),
    events: z.array(z.enum(WEBHOOK_EVENTS)).max(WEBHOOK_EVENTS.length).default([]).describe('[] = every kind'),
    load_balancers: z.array(id).max(LIMITS.poolMapEntries).default([]).describe('[] = every load balancer'),
  })
  .refine((w) => w.format === 'slack' || w.secret !== undefined, {
    path: ['secret'],
    message: 'is required for json webhooks: name the Worker secret that signs deliveries (receivers must be able to tell ours from forgeries)',
  })
  .meta({ id: 'WebhookInput' });

export type MonitorInput = z.input<typeof MonitorSchema>;
export type PoolInput = z.input<typeof PoolSchema>;
export type LoadBalancerInput = z.input<typeof LoadBalancerSchema>;

/** Fields every stored object carries: `id` (32 hex), `created_on`/`modified_on` (ISO 8601). */
export interface Stored {
  id: string;
  created_on: string;
  modified_on: string;
}
export type Monitor = z.output<typeof MonitorSchema> & Stored;
export type Pool = z.output<typeof PoolSchema> & Stored;
export type Origin = z.output<typeof OriginSchema>;
export type LoadBalancer = z.output<typeof LoadBalancerSchema> & Stored;
export type DnsZone = z.output<typeof DnsZoneSchema> & Stored;
export type Webhook = z.output<typeof WebhookSchema> & Stored;
