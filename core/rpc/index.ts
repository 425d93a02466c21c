/**
 * The RPC contracts between the Worker and the Durable Objects: what each Durable Object answers,
 * in wire types (structured-clone values only). The Durable Objects implement these interfaces;
 * callers hold a `Client<…>` of them (worker/rpc.ts), so both sides are checked against one
 * definition. Times are epoch ms unless a name says otherwise.
 */
import type { CertificateMeta, ConfigDocument, DnsZone, Kind, Monitor, Outcome as WriteOutcome, Pool, Resource, Webhook } from '../config/index.ts';
import type { ChangeSet, DnsRecord, NameState, Owner, ProviderErrorKind } from '../../dns/provider.ts';
import type { HealthEvent, Outcome, OriginHealth } from '../health/index.ts';
import type { LatencyTable } from '../health/latency.ts';
import type { LbTargets } from '../health/targets.ts';
import type { OriginTraffic, TrafficCounts } from '../metrics/index.ts';
import type { Resolution, SeriesPoint } from '../metrics/series.ts';

/** A method may answer synchronously inside the Durable Object; RPC makes every answer a promise. */
type Awaitable<T> = T | Promise<T>;

/** What a caller sees of a contract: every method returns a promise of its plain answer. */
export type Client<T> = {
  [M in keyof T]: T[M] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

// ------------------------------------------------------------------------------------ ConfigStore

/** A value and the ETag that a later If-Match must name. */
export interface Versioned<T> {
  value: T;
  etag: string;
}

/**
 * `snapshot()` answer: the document at `version` with the affinity cookie keys (secrets, newest
 * first; never in an export), or only the version when the caller is current.
 */
export type SnapshotReply = { version: number; doc: ConfigDocument; affinityKeys?: string[] } | { version: number; doc?: undefined; affinityKeys?: undefined };

/** The whole configuration as `GET /config` returns it. */
export type ConfigExport = ConfigDocument & { version: number };

/** The ConfigStore (one instance, named "global"): validated, all-or-nothing writes; reads by version. */
export interface ConfigStoreApi {
  snapshot(knownVersion?: number): Awaitable<SnapshotReply>;
  list<K extends Kind>(kind: K): Awaitable<Versioned<Resource<K>[]>>;
  get<K extends Kind>(kind: K, id: string): Awaitable<WriteOutcome<Versioned<Resource<K>>>>;
  create<K extends Kind>(kind: K, input: unknown): Awaitable<WriteOutcome<Versioned<Resource<K>>>>;
  replace<K extends Kind>(kind: K, id: string, input: unknown, ifMatch?: string): Awaitable<WriteOutcome<Versioned<Resource<K>>>>;
  patch<K extends Kind>(kind: K, id: string, patch: unknown, ifMatch?: string): Awaitable<WriteOutcome<Versioned<Resource<K>>>>;
  patchOrigin(poolId: string, name: string, patch: unknown, ifMatch?: string): Awaitable<WriteOutcome<Versioned<Pool>>>;
  remove(kind: Kind, id: string, ifMatch?: string): Awaitable<WriteOutcome<{ id: string }>>;
  exportConfig(): Awaitable<Versioned<ConfigExport>>;
  importConfig(input: unknown, ifMatch?: string): Awaitable<WriteOutcome<Versioned<ConfigExport>>>;
  /** Makes a new affinity cookie key; the previous one still reads cookies until the next rotation. Bumps the version. */
  rotateAffinityKey(): Awaitable<{ version: number; keys: number }>;
  /** TLS certificates of TCP apps (durable-objects/config-store/certificates.ts): metadata only, never a key. */
  listCertificates(): Awaitable<CertificateMeta[]>;
  getCertificate(id: string): Awaitable<WriteOutcome<CertificateMeta>>;
  /** Stores a certificate the Worker validated (new id, or replacing `replaceId`), its key encrypted. */
  putCertificate(cert: CheckedCertificate, replaceId?: string): Awaitable<WriteOutcome<CertificateMeta>>;
  /** 409 while a TCP app names it. */
  removeCertificate(id: string): Awaitable<WriteOutcome<{ id: string }>>;
  /** The chain and the decrypted key, for the TCP proxy only (worker/admin/certificates.ts guards who may ask). */
  certificateMaterial(id: string): Awaitable<WriteOutcome<CertificateMaterial>>;
}

/** A certificate the Worker validated: metadata (without stored fields), PEM chain (leaf first), PKCS #8 PEM key. */
export interface CheckedCertificate {
  meta: Omit<CertificateMeta, 'id' | 'created_on' | 'modified_on' | 'expires_in_days'>;
  chainPem: string;
  keyPem: string;
}

/** What the TCP proxy fetches to serve a certificate: the chain and the decrypted key (PEM). */
export interface CertificateMaterial {
  id: string;
  fingerprint_sha256: string;
  certificate: string;
  private_key: string;
}

// ---------------------------------------------------------------------------------------- LbState

/**
 * What an LbState is told: the pools of one load balancer with their monitors, the load balancer,
 * its DNS zone and its webhooks (core/health/targets healthTargets).
 */
export type Targets = LbTargets;

/** The part of health that decides routing, as edges cache it. Keys: pool id, then origin name. */
export interface HealthSnapshot {
  version: number;
  origins: Record<string, Record<string, Pick<OriginHealth, 'verdict' | 'ejectedUntil'>>>;
  /**
   * For dynamic_latency steering, EWMAs (ms) by place then pool: `probe` (passing probes'
   * round-trip time), `colo:<IATA>` and `region:<code>` (real requests, as edges reported them).
   */
  latency: LatencyTable;
}

/** `snapshot()` answer: the health at `version`, or only the version when the caller is current. */
export type HealthReply = HealthSnapshot | { version: number; origins?: undefined; latency?: undefined };

/** A run of `count` equal outcomes of one origin, in the order the edge saw them. */
export interface OutcomeReport {
  poolId: string;
  origin: string;
  outcome: Outcome;
  count: number;
}

/** What real requests through one edge place measured for one pool: `count` samples, mean `meanMs` (to response headers). */
export interface LatencyReport {
  poolId: string;
  /** Where the edge is: `colo:<IATA>` and/or `region:<code>` (core/health/latency placesOf). */
  places: string[];
  meanMs: number;
  count: number;
}

/**
 * `metrics()` answer: traffic totals since the LbState was created (persisted; core/metrics
 * TrafficCounts, including what arrived since the last write) and health gauges, per origin of
 * every pool the load balancer watches.
 */
export interface LbMetrics {
  /** When it was read (epoch ms). */
  at: number;
  origins: OriginMetrics[];
  /** Pool verdicts (core/health/verdict poolVerdict): enabled and at least minimum_origins usable. */
  pools: { poolId: string; healthy: boolean }[];
  /** Health transitions logged since the LbState was created (the event log itself keeps the last 1,000). */
  healthEvents: number;
}

/** One origin's totals and gauges. */
export interface OriginMetrics {
  poolId: string;
  origin: string;
  traffic: TrafficCounts;
  /** core/health healthUsable: not marked down by probes, not ejected. */
  healthy: boolean;
  ejected: boolean;
  /** Round-trip time of the last probe (ms); null when never probed. */
  probeRttMs: number | null;
}

/**
 * `series()` answer: one point per `stepMs` from `from` to `to` (epoch ms, `to` exclusive: the
 * interval under way is not included), empty intervals included, oldest first (core/metrics/series).
 */
export interface SeriesReply {
  resolution: Resolution;
  stepMs: number;
  from: number;
  to: number;
  points: SeriesPoint[];
}

/** One origin's full health record (admin health and backend-stats views). */
export interface OriginRecord {
  poolId: string;
  origin: string;
  health: OriginHealth;
  /** Requests the edges reported for this origin. */
  total: number;
  /** core/health healthUsable at the time of the call. */
  usable: boolean;
}

/** A page of the health event log, newest first; `next` is the `before` of the next (older) page. */
export interface EventsPage {
  events: (HealthEvent & { id: number })[];
  next?: number;
}

/** Where a header-affinity session is pinned. */
export interface SessionPin {
  poolId: string;
  origin: string;
}

/** An origin to probe with a monitor preview (nothing is stored). */
export interface ProbeTarget {
  name: string;
  address: string;
  port: number;
}

/** What one preview probe saw; `rtt` in ms. */
export interface ProbePreview extends ProbeTarget {
  healthy: boolean;
  rtt: number;
  response_code: number | null;
  failure_reason: string | null;
}

/** One pool of a stored preview: routing's verdict over the preview's probes, and each origin's probe. */
export interface PoolPreview {
  name: string;
  healthy: boolean;
  origins: ProbePreview[];
}

/** A Cloudflare two-step preview as its LbState keeps it (durable-objects/lb-state/previews.ts); `expires_at` in epoch ms. */
export interface StoredPreview {
  expires_at: number;
  /** By pool id. */
  pools: Record<string, PoolPreview>;
}

/** What an LbState holds, for the admin API and benchmarks. */
export interface LbStateStats {
  /** Header-affinity sessions held, the cap, and sessions evicted at the cap (since the object was created). */
  affinity: { sessions: number; max: number; evicted: number };
  /** Outbox rows not yet delivered, all subscribers. */
  outboxPending: number;
  /** SQLite rows this instance wrote since it started (SqlStorageCursor.rowsWritten, what billing counts). */
  rowsWritten: number;
}

/** A name in a zone where a load balancer's records are (or were) published. */
export interface DnsPlace {
  zone: DnsZone;
  name: string;
}

/** `dnsStatus()` answer: DNS failover of one load balancer (durable-objects/lb-state/dns.ts). Times epoch ms. */
export interface DnsStatus {
  /** Whether the load balancer is to be published now; `reason` says why not. */
  published: boolean;
  reason?: string;
  /** Zone apex and record name, when published. */
  zone?: string;
  name?: string;
  /** What health says to publish now (dns/reconcile desiredRecords): records, the pool, how it was chosen, what was left out. */
  desired?: { records: DnsRecord[]; pool?: string; basis: string; notes: string[] };
  /** What the provider last read or applied at the name. */
  records: DnsRecord[];
  /** Places still holding our records that are to be removed (the load balancer moved or stopped being published). */
  stale: DnsPlace[];
  lastRunAt: number | null;
  lastSuccess?: { at: number; changes: number; records: number };
  /** The last failure since the last success; `failures` in a row. Never a secret. */
  lastError?: { at: number; kind: string; message: string; failures: number };
  /** When the next run is due, null when none is scheduled. */
  nextDueAt: number | null;
}

/** `testWebhook()` answer: the test notification's id and what the receiver answered (`latencyMs` to its response headers), or why nothing was answered. */
export interface WebhookTestResult {
  id: string;
  status: number | null;
  latencyMs: number | null;
  error: string | null;
}

/** `subscriberStatus()` answer: one subscriber's undelivered outbox rows; the oldest row's failed attempts, last error and next try (epoch ms). */
export interface SubscriberStatus {
  pending: number;
  oldestAt: number | null;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: number | null;
}

/** A load balancer's LbState (named by the load balancer's id): health, its event log, header-affinity pins. */
export interface LbStateApi {
  /** Replaces what to watch and re-schedules probes; `nextAlarm` in epoch ms, null when nothing is scheduled. */
  sync(targets: Targets): Awaitable<{ origins: number; nextAlarm: number | null }>;
  snapshot(knownVersion?: number): Awaitable<HealthReply>;
  /** Outcomes (passive health), latencies (dynamic_latency) and traffic counts (metrics) that edges saw; answers which origins it ejected. */
  report(outcomes: OutcomeReport[], latencies?: LatencyReport[], traffic?: OriginTraffic[]): Awaitable<{ ejected: string[] }>;
  events(limit?: number, before?: number): Awaitable<EventsPage>;
  records(): Awaitable<OriginRecord[]>;
  affinityGet(key: string): Awaitable<(SessionPin & { expiresAt: number }) | undefined>;
  /** Pins `key` (first claim wins unless `replace`) with an idle TTL of `ttlMs`; answers the pin that holds. */
  affinityPut(key: string, poolId: string, origin: string, ttlMs: number, replace?: boolean): Awaitable<SessionPin>;
  /** Probes `origins` with `monitor` now, from the Durable Object (the Worker holds no probe code). */
  previewMonitor(monitor: Monitor, origins: ProbeTarget[]): Awaitable<ProbePreview[]>;
  /** Cloudflare's two-step preview, on the LbState named `preview-id:<preview_id>`: probes every origin of `pools` with `monitor` and keeps the result for an hour. */
  previewStore(monitor: Monitor, pools: Pool[]): Awaitable<StoredPreview>;
  /** The preview previewStore kept here; null when there is none (never made, or expired). */
  previewResult(): Awaitable<StoredPreview | null>;
  stats(): Awaitable<LbStateStats>;
  /** Sends one test notification to `webhook` now, signed like the real ones (stores nothing). */
  testWebhook(webhook: Webhook): Awaitable<WebhookTestResult>;
  /** Outbox rows waiting for subscriber `name` (webhooks: `webhook:<id>`). */
  subscriberStatus(name: string): Awaitable<SubscriberStatus>;
  /** Traffic totals and health gauges per origin (the Prometheus exposition reads them). */
  metrics(): Awaitable<LbMetrics>;
  /**
   * The traffic series at `resolution` ('10s': the last hour, '1m': the last 24 h) from `since`
   * (epoch ms, default the oldest kept), for charts. Throws on an unknown resolution.
   */
  series(resolution: Resolution, since?: number): Awaitable<SeriesReply>;
  /** DNS failover of a DNS-only load balancer: desired and published records, last run, last error, next run. */
  dnsStatus(): Awaitable<DnsStatus>;
}

// ---------------------------------------------------------------------------------- DnsZoneWriter

/**
 * A ProviderError as it crosses RPC. Durable Object RPC rebuilds a thrown error as a plain Error:
 * seen in workerd 1.20261102, `name`, `message` and own fields (`kind`, `retryAfterMs`) arrive but
 * the class does not (`instanceof ProviderError` is false, callers' retry logic tests it), and only
 * the message is documented to survive. So the writer answers errors as values and
 * durable-objects/dns-zone zoneWriterProvider throws a ProviderError again.
 */
export interface WireProviderError {
  kind: ProviderErrorKind;
  message: string;
  /** ms to wait before trying again ('rate_limited'). */
  retryAfterMs?: number;
}

/** An answer of the zone writer: the value, or the provider error. */
export type ZoneReply<T> = { ok: true; value: T } | { ok: false; error: WireProviderError };

/** What a zone writer sent and saw since it started (its isolate). `pausedUntil`: epoch ms, 0 when not paused. */
export interface DnsZoneStats {
  listings: number;
  listPages: number;
  batches: number;
  batchOps: number;
  failedBatches: number;
  conflicts: number;
  rateLimited: number;
  pausedUntil: number;
}

/**
 * The DNS zone writer (one per DNS zone config, named by the zone's id): DnsProvider semantics
 * (dns/provider.ts) for every load balancer publishing in a Cloudflare zone, coalesced into few API
 * requests (durable-objects/dns-zone). `zone` is the zone's config as the caller knows it.
 */
export interface DnsZoneApi {
  read(zone: DnsZone, name: string, owner: Owner): Awaitable<ZoneReply<NameState>>;
  apply(zone: DnsZone, changes: ChangeSet): Awaitable<ZoneReply<null>>;
  stats(): Awaitable<DnsZoneStats>;
}
