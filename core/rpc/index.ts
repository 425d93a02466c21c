/**
 * The RPC contracts between the Worker and the Durable Objects: what each Durable Object answers,
 * in wire types (structured-clone values only). The Durable Objects implement these interfaces;
 * callers hold a `Client<…>` of them (worker/rpc.ts), so both sides are checked against one
 * definition. Times are epoch ms unless a name says otherwise.
 */
import type { ConfigDocument, Kind, Monitor, Outcome as WriteOutcome, Pool, Resource } from '../config/index.ts';
import type { HealthEvent, Outcome, OriginHealth } from '../health/index.ts';
import type { LatencyTable } from '../health/latency.ts';
import type { LbTargets } from '../health/targets.ts';

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

/** What an LbState holds, for the admin API and benchmarks. */
export interface LbStateStats {
  /** Header-affinity sessions held, the cap, and sessions evicted at the cap (since the object was created). */
  affinity: { sessions: number; max: number; evicted: number };
  /** Outbox rows not yet delivered, all subscribers. */
  outboxPending: number;
  /** SQLite rows this instance wrote since it started (SqlStorageCursor.rowsWritten, what billing counts). */
  rowsWritten: number;
}

/** A load balancer's LbState (named by the load balancer's id): health, its event log, header-affinity pins. */
export interface LbStateApi {
  /** Replaces what to watch and re-schedules probes; `nextAlarm` in epoch ms, null when nothing is scheduled. */
  sync(targets: Targets): Awaitable<{ origins: number; nextAlarm: number | null }>;
  snapshot(knownVersion?: number): Awaitable<HealthReply>;
  /** Outcomes (passive health) and latencies (dynamic_latency) that edges saw; answers which origins it ejected. */
  report(outcomes: OutcomeReport[], latencies?: LatencyReport[]): Awaitable<{ ejected: string[] }>;
  events(limit?: number, before?: number): Awaitable<EventsPage>;
  records(): Awaitable<OriginRecord[]>;
  affinityGet(key: string): Awaitable<(SessionPin & { expiresAt: number }) | undefined>;
  /** Pins `key` (first claim wins unless `replace`) with an idle TTL of `ttlMs`; answers the pin that holds. */
  affinityPut(key: string, poolId: string, origin: string, ttlMs: number, replace?: boolean): Awaitable<SessionPin>;
  /** Probes `origins` with `monitor` now, from the Durable Object (the Worker holds no probe code). */
  previewMonitor(monitor: Monitor, origins: ProbeTarget[]): Awaitable<ProbePreview[]>;
  stats(): Awaitable<LbStateStats>;
}
