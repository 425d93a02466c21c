/**
 * Valid configuration documents, generated with fast-check, for the round-trip property tests
 * (core/config/cloudflare/roundtrip.test.ts in Node, worker/admin/import.test.ts through the real
 * Worker). Test-only: nothing at runtime imports this module.
 *
 * Every document passes `PUT /config`: references resolve, hostnames are unique, affinity TTLs sit
 * in their kind's range. Origins are at addresses that reach nothing (documentation ranges,
 * .invalid names) and the DNS zone's server refuses at once (127.0.0.1:9), since the workers
 * test's Worker really probes and publishes what it is given. Fields are often left out (our defaults then apply), Cloudflare's nulls
 * appear where it writes them, and our extensions take random values. The one DNS zone and the
 * one webhook name secret bindings the workers test project sets (vitest.config.ts:
 * DNS_TSIG_ADMIN_TEST, WEBHOOK_TEST_SECRET).
 */
import fc from 'fast-check';
import { REGIONS } from '../../steer/regions.ts';
import { AFFINITY_TTL } from '../schema.ts';

const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const orNull = <T>(arb: fc.Arbitrary<T>) => fc.oneof(arb, fc.constant(null), fc.constant(undefined));
/** A double in [min, max], never -0 (JSON has no -0). */
const real = (min: number, max: number) => fc.double({ min, max, noNaN: true }).map((x) => (x === 0 ? 0 : x));
const text = fc.stringMatching(/^[ -~]{0,24}$/);
const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,11}$/);
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
const hostname = fc.array(label, { minLength: 1, maxLength: 3 }).map((ls) => ls.join('.'));
/** Origin addresses that reach nothing when the Worker probes them: documentation ranges (RFC 5737, RFC 3849) and .invalid names. */
const address = fc.oneof(
  fc.tuple(fc.constantFrom('192.0.2', '198.51.100', '203.0.113'), fc.nat({ max: 255 })).map(([net, host]) => `${net}.${host}`),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 5 }).map((groups) => `2001:db8::${groups.map((g) => g.toString(16)).join(':')}`),
  hostname.map((h) => `${h}.invalid`),
);
const someOf = <T>(items: readonly T[], min = 0, max = items.length) =>
  fc.shuffledSubarray([...items], { minLength: Math.min(min, items.length), maxLength: Math.min(max, items.length) });

const monitor = fc.record(
  {
    description: text,
    type: fc.constantFrom('http', 'https', 'tcp', 'icmp_ping', 'udp_icmp', 'smtp'),
    method: fc.constantFrom('GET', 'HEAD', 'POST'),
    path: fc.constantFrom('/', '/health', '/status?full=1'),
    port: orNull(fc.integer({ min: 0, max: 65535 })),
    header: fc.dictionary(headerName, fc.array(text, { maxLength: 2 }), { maxKeys: 2 }),
    expected_codes: fc.constantFrom('200', '2xx', '200,301', '3xx, 404'),
    expected_body: text,
    follow_redirects: fc.boolean(),
    allow_insecure: fc.boolean(),
    interval: fc.integer({ min: 11, max: 3600 }),
    timeout: fc.integer({ min: 1, max: 10 }),
    retries: fc.integer({ min: 0, max: 5 }),
    consecutive_up: fc.integer({ min: 0, max: 10 }),
    consecutive_down: fc.integer({ min: 0, max: 10 }),
    probe_zone: fc.constantFrom('', 'example.com'),
  },
  { requiredKeys: [] },
);

const origin = fc.record(
  {
    name: fc.stringMatching(/^[A-Za-z0-9_.:@()/+-]{1,16}$/).filter((n) => !['__proto__', 'constructor', 'prototype'].includes(n)),
    address,
    port: fc.integer({ min: 0, max: 65535 }),
    weight: real(0, 1),
    enabled: fc.boolean(),
    drain: fc.boolean(),
    header: fc.oneof(
      fc.constant({}),
      hostname.map((h) => ({ Host: [h] })),
    ),
    flatten_cname: fc.boolean(),
    virtual_network_id: fc.uuid(),
  },
  { requiredKeys: ['name', 'address'] },
);

const filterOptions = orNull(fc.record({ disable: orNull(fc.boolean()), healthy: orNull(fc.boolean()) }, { requiredKeys: [] }));
const steering = fc.record(
  {
    policy: fc.constantFrom('random', 'hash', 'least_outstanding_requests', 'least_connections', 'round_robin', 'least_response_time', 'first'),
    hash_key: fc.oneof(fc.constant({ type: 'ip' }), fc.constant({ type: 'uri' }), fc.record({ type: fc.constantFrom('header', 'cookie'), name: headerName })),
    hash_algorithm: fc.constantFrom('maglev', 'rendezvous'),
  },
  { requiredKeys: [] },
);

/** A reference to the n-th object of a list, resolved once the list is known (`resolve`). */
const ref = fc.nat({ max: 7 });
/** 1-3 references. */
const refs = fc.uniqueArray(ref, { minLength: 1, maxLength: 3 });

const pool = fc
  .record({
    fields: fc.record(
      {
        name: fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}$/),
        description: text,
        enabled: fc.boolean(),
        monitor: ref,
        check_regions: orNull(someOf([...REGIONS, 'CHINA', 'ALL_REGIONS'], 1, 3)),
        notification_filter: orNull(fc.record({ origin: filterOptions, pool: filterOptions }, { requiredKeys: [] })),
        origin_steering: orNull(steering),
        outlier_detection: fc.record(
          {
            enabled: fc.boolean(),
            consecutive_5xx: fc.integer({ min: 1, max: 1000 }),
            base_ejection_time: fc.integer({ min: 1, max: 3600 }),
            max_ejection_percent: fc.integer({ min: 0, max: 100 }),
          },
          { requiredKeys: [] },
        ),
        health_sources: orNull(fc.constant(['regional', 'global'])),
        monitor_group: fc.stringMatching(/^[0-9a-f]{32}$/),
        networks: someOf(['cloudflare', 'jdcloud']),
        notification_email: orNull(fc.constantFrom('', 'ops@example.com')),
      },
      { requiredKeys: ['name'] },
    ),
    origins: fc.uniqueArray(origin, { minLength: 1, maxLength: 4, selector: (o) => o.name }),
    location: opt(fc.tuple(real(-90, 90), real(-180, 180))),
    minimum: fc.nat(),
  })
  .map(({ fields, origins, location, minimum }) => ({
    ...fields,
    origins,
    minimum_origins: 1 + (minimum % origins.length),
    ...(location && { latitude: location[0], longitude: location[1] }),
  }));

const affinity = fc.oneof(
  fc.record({ session_affinity: fc.constantFrom('none', '') }),
  fc.record({
    session_affinity: fc.constantFrom('cookie', 'ip_cookie'),
    session_affinity_ttl: orNull(fc.integer({ min: AFFINITY_TTL.cookie.min, max: AFFINITY_TTL.cookie.max })),
    session_affinity_attributes: opt(
      fc.record(
        {
          samesite: fc.constantFrom('Auto', 'Lax', 'None', 'Strict'),
          secure: fc.constantFrom('Auto', 'Always', 'Never'),
          drain_duration: fc.integer({ min: 0, max: 3600 }),
          zero_downtime_failover: fc.constantFrom('none', 'temporary', 'sticky'),
        },
        { requiredKeys: [] },
      ),
    ),
  }),
  fc.record({
    session_affinity: fc.constant('header'),
    session_affinity_ttl: orNull(fc.integer({ min: AFFINITY_TTL.header.min, max: AFFINITY_TTL.header.max })),
    session_affinity_attributes: fc.record(
      {
        headers: fc.uniqueArray(fc.oneof(headerName, fc.constant('cookie:session,user')), { minLength: 1, maxLength: 3 }),
        require_all_headers: fc.boolean(),
        zero_downtime_failover: fc.constantFrom('none', 'temporary'),
      },
      { requiredKeys: ['headers'] },
    ),
  }),
);

/** A load balancing rule whose overrides use Cloudflare's declarative fields (pools, pool_weights, pool_default_weight) beside others. */
const rule = fc.record(
  {
    name: text,
    condition: fc.constantFrom('', 'http.request.uri.path eq "/a"', 'http.host in {"a.example.com" "b.example.com"}'),
    disabled: fc.boolean(),
    priority: fc.integer({ min: 0, max: 1000 }),
    terminates: fc.boolean(),
    overrides: fc.record(
      {
        pools: refs,
        pool_weights: fc.array(fc.tuple(ref, real(0, 1)), { maxLength: 2 }),
        pool_default_weight: real(0, 1),
        steering_policy: fc.constantFrom('off', 'geo', 'random', 'proximity'),
        fallback_pool: ref,
        ttl: fc.integer({ min: 1, max: 86400 }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['overrides'] },
);

const loadBalancer = fc.record({
  fields: fc.record(
    {
      description: text,
      enabled: fc.boolean(),
      ttl: fc.integer({ min: 1, max: 86400 }),
      default_pools: refs,
      fallback_pool: ref,
      region_pools: fc.dictionary(fc.constantFrom(...REGIONS), refs, { maxKeys: 2 }),
      country_pools: fc.dictionary(fc.constantFrom('US', 'GB', 'DE', 'JP'), refs, { maxKeys: 2 }),
      pop_pools: fc.dictionary(fc.constantFrom('LAX', 'LHR', 'NRT'), refs, { maxKeys: 2 }),
      steering_policy: fc.constantFrom('off', 'geo', 'random', 'dynamic_latency', 'proximity', 'least_outstanding_requests', 'least_connections', ''),
      random_steering: fc.record({ default_weight: real(0, 1), pool_weights: fc.array(fc.tuple(ref, real(0, 1)), { maxLength: 2 }) }),
      adaptive_routing: fc.record({ failover_across_pools: fc.boolean() }),
      location_strategy: fc.record({ mode: fc.constantFrom('pop', 'resolver_ip'), prefer_ecs: fc.constantFrom('always', 'never', 'proximity', 'geo') }),
      trace_header: fc.boolean(),
      panic_mode: fc.boolean(),
      retry_non_idempotent: fc.boolean(),
      trust_client_forwarded: fc.boolean(),
      per_try_timeout: real(0.1, 300),
      networks: someOf(['cloudflare']),
      pool_sets: fc.array(
        fc.record(
          { name: text, disabled: fc.boolean(), overrides: fc.record({ pools: refs, steering_policy: fc.constantFrom('off', 'random') }) },
          { requiredKeys: [] },
        ),
        { maxLength: 2 },
      ),
      rules: fc.array(rule, { maxLength: 2 }),
    },
    { requiredKeys: ['default_pools', 'fallback_pool'] },
  ),
  proxied: opt(fc.boolean()),
  published: fc.boolean(),
  affinity,
});

/** The `i`-th of `ids`, cyclically. */
const nth = (ids: readonly string[], i: number) => ids[i % ids.length]!;
const nths = (ids: readonly string[], list: number[]) => [...new Set(list.map((i) => nth(ids, i)))];

/** A generated load balancer with its references resolved to `poolIds`, published in `zoneId` when asked and possible. */
function resolveLoadBalancer(lb: LbDraft, id: string, name: string, poolIds: string[], zoneId?: string) {
  const { fields, proxied, published, affinity } = lb;
  const pools = (list: number[]) => nths(poolIds, list);
  const map = (m: Record<string, number[]>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, pools(v)]));
  const resolved = {
    ...fields,
    default_pools: pools(fields.default_pools),
    fallback_pool: nth(poolIds, fields.fallback_pool),
    ...(fields.region_pools && { region_pools: map(fields.region_pools) }),
    ...(fields.country_pools && { country_pools: map(fields.country_pools) }),
    ...(fields.pop_pools && { pop_pools: map(fields.pop_pools) }),
    ...(fields.random_steering && {
      random_steering: {
        default_weight: fields.random_steering.default_weight,
        pool_weights: Object.fromEntries(fields.random_steering.pool_weights.map(([i, w]) => [nth(poolIds, i), w])),
      },
    }),
    ...(fields.rules && {
      rules: fields.rules.map(({ overrides: { pools: list, pool_weights, fallback_pool, ...o }, ...r }) => ({
        ...r,
        overrides: {
          ...o,
          ...(list && { pools: pools(list) }),
          ...(pool_weights && { pool_weights: Object.fromEntries(pool_weights.map(([i, w]) => [nth(poolIds, i), w])) }),
          ...(fallback_pool !== undefined && { fallback_pool: nth(poolIds, fallback_pool) }),
        },
      })),
    }),
    ...(fields.pool_sets && {
      pool_sets: fields.pool_sets.map((set) => ({ ...set, ...(set.overrides && { overrides: { ...set.overrides, pools: pools(set.overrides.pools) } }) })),
    }),
  };
  // Published in the zone (our extension `dns`): DNS-only, so proxied false.
  const dns = zoneId && published && name.endsWith('.example.com') ? { dns: { zone: zoneId }, proxied: false } : proxied === undefined ? {} : { proxied };
  return { id, name, ...resolved, ...affinity, ...dns };
}
type LbDraft = typeof loadBalancer extends fc.Arbitrary<infer T> ? T : never;

/** A valid document (see the module doc), with explicit ids so that references can be written. */
export const validDocument = fc
  .record({
    monitors: fc.array(monitor, { maxLength: 3 }),
    pools: fc.array(pool, { minLength: 1, maxLength: 3 }),
    names: fc.uniqueArray(
      fc.oneof(
        label.map((l) => `${l}.example.com`),
        hostname,
        hostname.map((h) => `*.${h}`),
      ),
      { maxLength: 3 },
    ),
    load_balancers: fc.array(loadBalancer, { minLength: 3, maxLength: 3 }),
    zone: fc.boolean(),
    webhook: opt(fc.array(ref, { maxLength: 3 })),
  })
  .map((d) => {
    const monitorIds = d.monitors.map((_, i) => `m${i}`);
    const poolIds = d.pools.map((_, i) => `p${i}`);
    const lbIds = d.names.map((_, i) => `lb${i}`);
    const zoneId = d.zone ? 'z0' : undefined;
    return {
      monitors: d.monitors.map((m, i) => ({ id: monitorIds[i], ...m })),
      pools: d.pools.map(({ monitor, ...p }, i) => ({
        id: poolIds[i],
        ...p,
        ...(monitorIds.length && monitor !== undefined && { monitor: nth(monitorIds, monitor) }),
      })),
      load_balancers: d.names.map((name, i) => resolveLoadBalancer(d.load_balancers[i]!, lbIds[i]!, name, poolIds, zoneId)),
      dns_zones: zoneId
        ? [
            {
              id: zoneId,
              name: 'example.com',
              provider: { type: 'rfc2136', server: '127.0.0.1', port: 9, tsig_key_name: 'edge-lb.example.com', tsig_secret: 'DNS_TSIG_ADMIN_TEST' },
            },
          ]
        : [],
      webhooks: d.webhook
        ? [
            {
              id: 'w0',
              name: 'ops',
              url: 'https://hooks.example.com/lb',
              secret: 'WEBHOOK_TEST_SECRET',
              load_balancers: lbIds.length ? nths(lbIds, d.webhook) : [],
            },
          ]
        : [],
      tcp_apps: [],
    };
  });
