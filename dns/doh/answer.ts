/**
 * What a DNS-only load balancer answers for one question, decided by the routing code traffic
 * uses (core/route `route()` over the isolate's snapshot and health view): pool steering (geo,
 * proximity, random, dynamic_latency, least_*), health and failover, then the chosen pool's
 * origin steering. Session affinity does not apply: it is a proxied feature (Cloudflare's too).
 *
 * One record per answer, the origin steering picked for this query (the first candidate of the
 * chosen pool whose address suits the QTYPE). Cloudflare documents that a DNS-only load balancer
 * "provides the address for a healthy endpoint (determined by your traffic steering policy and
 * endpoint-level steering policy)"; and only one address per answer keeps origin weights, hash
 * steering and least_* meaningful, since a client handed several addresses picks among them
 * itself. Failover then comes from the short TTL (`ttl`, default 30 s), as with Cloudflare.
 * (`dns.max_records` bounds the record sets published into a zone, where no per-query steering
 * exists; it does not apply here.)
 *
 * An IPv4 origin answers A, an IPv6 origin AAAA, a hostname origin CNAME (to any of A, AAAA and
 * CNAME; the resolver follows it). A QTYPE the chosen pool has no origin for, and any other QTYPE,
 * is NODATA: NOERROR with no answer and no authority section (we hold no SOA).
 */
import * as dnsPacket from '@dnsquery/dns-packet';
import type { LoadBalancer, Origin } from '../../core/config/index.ts';
import { candidatesOf, route, type Candidate, type Plan, type Snapshot, type Usable } from '../../core/route/index.ts';
import type { LoadStats } from '../../core/steer/index.ts';
import type { PlaceFacts } from '../../core/steer/pools.ts';
import { ecsPreferred, type ClientSubnet } from './ecs.ts';
import { CLASS_IN, QTYPE, type AnswerRecord, type Query, type Rcode } from './message.ts';
import { encodeResponse } from './wire.ts';

/** A load balancer's health as routing reads it (worker/health HealthView). */
export interface DohHealth {
  usable: Usable;
  /** Pool latency (ms) as seen from `place` (dynamic_latency). */
  poolLatency?: (poolId: string, place: PlaceFacts | undefined) => number | undefined;
}

/** What answering needs beyond the query: the config, health, randomness, and who asks from where. */
export interface DohContext {
  readonly snapshot: Snapshot;
  /** The health view of a load balancer (the isolate's cache: synchronous when fresh). */
  health(lbId: string): DohHealth | Promise<DohHealth>;
  /** Uniform numbers in [0, 1). */
  random(): number;
  /** Where the DoH request comes from (request.cf: the PoP's colo, the client's country and coordinates). */
  readonly place: PlaceFacts;
  /** The DoH client's address (CF-Connecting-IP): usually the resolver's. */
  readonly clientIp: string | undefined;
  /** Per-origin and per-pool load of this isolate (least_* steering), as traffic has them. */
  stats?: (pool: Candidate['pool']) => LoadStats | undefined;
  poolOutstanding?: (poolId: string) => number;
  /** A GeoIP lookup of a Client Subnet; absent in the Worker (Workers have no GeoIP of arbitrary addresses). */
  geolocate?: (subnet: ClientSubnet) => PlaceFacts | undefined;
}

/** A DNS response and how long an HTTP cache may keep it (seconds, RFC 8484 §5.1; undefined: not at all). */
export interface DohAnswer {
  message: Uint8Array;
  rcode: Rcode;
  maxAge?: number;
}

/**
 * Answers one well-formed query. REFUSED for a name that is not a load balancer's, a disabled
 * one's, or a proxied one's (see `servedName`), and for a class other than IN; SERVFAIL when no
 * origin is usable anywhere (traffic's 503). Throws only on a failure of ours (the caller answers
 * SERVFAIL).
 */
export function answerQuery(query: Query, ctx: DohContext): DohAnswer | Promise<DohAnswer> {
  const lb = query.qclass === CLASS_IN && query.plainName ? servedName(ctx.snapshot, query.name) : undefined;
  if (!lb) return { message: encodeResponse(query, 'REFUSED'), rcode: 'REFUSED' };
  if (query.qtype !== QTYPE.A && query.qtype !== QTYPE.AAAA && query.qtype !== QTYPE.CNAME) return nodata(query, lb);
  const health = ctx.health(lb.id);
  return health instanceof Promise ? health.then((h) => answerWith(query, lb, ctx, h)) : answerWith(query, lb, ctx, health);
}

/**
 * The DNS-only load balancer serving `name`, or undefined. A proxied load balancer's name is
 * refused: its clients must reach the proxy (this Worker's own addresses, which the zone
 * publishes and which we do not know), and answering its origins' addresses instead would
 * bypass the proxy and expose origins that proxying exists to hide. A disabled one is refused
 * too: the name then falls back to whatever else the zone holds (Cloudflare's behaviour).
 */
export function servedName(snapshot: Snapshot, name: string): LoadBalancer | undefined {
  const lb = snapshot.lookup(name.toLowerCase());
  return lb && lb.enabled && !lb.proxied ? lb : undefined;
}

function nodata(query: Query, lb: LoadBalancer, ecsScope = 0): DohAnswer {
  return { message: encodeResponse(query, 'NOERROR', undefined, { authoritative: true, ecsScope }), rcode: 'NOERROR', maxAge: lb.ttl };
}

function answerWith(query: Query, lb: LoadBalancer, ctx: DohContext, health: DohHealth): DohAnswer {
  const ecs = query.edns?.ecs;
  const preferEcs = ecsPreferred(lb, ecs);
  // The location (location_strategy): the ECS subnet's when preferred and it can be located, else
  // request.cf. `mode` pop and resolver_ip coincide here: request.cf gives the PoP's colo and the
  // DoH client's (the resolver's) GeoIP, and nothing else is known of either.
  const ecsPlace = preferEcs && ctx.geolocate ? ctx.geolocate(ecs!) : undefined;
  const place = ecsPlace ?? ctx.place;
  const routed = route(ctx.snapshot, lb, {
    random: ctx.random,
    usable: health.usable,
    // The client of hash steering: the subnet when preferred, else the DoH client (ctx: read only if a pool hashes by IP).
    facts: preferEcs ? { clientIp: ecs!.address } : ctx,
    place,
    stats: ctx.stats,
    poolOutstanding: ctx.poolOutstanding,
    poolLatency: health.poolLatency,
  });
  const plan = routed.plan;
  if (!plan) return { message: encodeResponse(query, 'SERVFAIL'), rcode: 'SERVFAIL' };
  // SCOPE PREFIX-LENGTH: the whole SOURCE PREFIX when the subnet chose the answer (its location
  // steered the pools, or origin steering hashed its address), else 0: valid for every client.
  const hashedIp = plan.pool.origin_steering.policy === 'hash' && plan.pool.origin_steering.hash_key.type === 'ip';
  const ecsScope = preferEcs && (ecsPlace || hashedIp) ? ecs!.sourcePrefixLength : 0;
  const origin = pick(plan, query.qtype);
  if (!origin) return nodata(query, lb, ecsScope);
  const { type, rdata } = recordOf(origin);
  const answer: AnswerRecord = { type, rdata, ttl: lb.ttl };
  return { message: encodeResponse(query, 'NOERROR', answer, { authoritative: true, ecsScope }), rcode: 'NOERROR', maxAge: lb.ttl };
}

/** The chosen pool's first candidate (in origin steering's order) that can answer `qtype`. */
function pick(plan: Plan, qtype: number): Origin | undefined {
  if (fits(plan.first.origin, qtype)) return plan.first.origin; // nearly always: no generator
  for (const c of candidatesOf(plan)) {
    if (c.poolRank > 0) return undefined;
    if (fits(c.origin, qtype)) return c.origin;
  }
  return undefined;
}

function fits(origin: Origin, qtype: number): boolean {
  const type = recordOf(origin).type;
  return type === 'CNAME' || (type === 'A' ? qtype === QTYPE.A : qtype === QTYPE.AAAA);
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** An origin's record: its type, its data as text, and `rdata` (RDLENGTH and RDATA as the codec encodes them). */
export interface OriginRecord {
  type: AnswerRecord['type'];
  data: string;
  rdata: Uint8Array;
}

/** Each origin's record, made once: origins are immutable parts of a snapshot, so this holds no more than the config does. */
const records = new WeakMap<Origin, OriginRecord>();

/**
 * The record an origin's address makes: A, AAAA, or CNAME for a hostname (config validated the
 * address). Throws when the codec cannot encode it (a label over 63 bytes: the caller answers SERVFAIL).
 */
export function recordOf(origin: Origin): OriginRecord {
  let record = records.get(origin);
  if (!record) {
    const a = origin.address;
    const [type, data] = IPV4.test(a) ? (['A', a] as const) : a.includes(':') ? (['AAAA', a] as const) : (['CNAME', a.toLowerCase()] as const);
    const codec = type === 'A' ? dnsPacket.a : type === 'AAAA' ? dnsPacket.aaaa : (dnsPacket.cname as unknown as dnsPacket.Codec<string>);
    record = { type, data, rdata: codec.encode(data) };
    records.set(origin, record);
  }
  return record;
}
