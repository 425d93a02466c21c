/**
 * DNS failover, LbState's `dns` job (key: the load balancer's id): keeps a DNS-only load
 * balancer's records (`proxied: false` with `dns`) on its healthy origins through the zone's
 * provider (dns/provider.ts): read, plan (dns/reconcile), apply. Times are epoch ms.
 *
 * - Triggers: a config change (`synced` with changed targets) and every health transition
 *   (`touched`, from LbState#emit) schedule a run at max(now, last run + DEBOUNCE_MS): at most one
 *   run a second. After a success the next run is a full reconcile RESYNC_MS later that repairs
 *   drift, sooner when an ejection runs out (no event marks that).
 * - A run holds its job row for LEASE_MS and goes on after the alarm (like outbox deliveries: a
 *   slow provider never delays probes); a trigger during a run makes it run again after it.
 * - 'conflict' (the name changed since it was read): read and plan again, once, at once.
 * - Failures back off by schedule.ts's backoffMs (1 s doubling, at most 60 s), a 'rate_limited'
 *   at least its retryAfterMs; each new failure reason is an event in the log (poolId '', origin:
 *   the name; repeats of the same reason are counted in the status, not logged again).
 * - Every place (zone, name) we may hold records at is remembered (the `dns` table) until what
 *   we own there is removed: when a load balancer stops being published (dns removed, zone or
 *   name changed, deleted, disabled, proxied), its records go, then the job stops.
 */
import type { HealthEvent } from '../../core/health/index.ts';
import type { UsableAt } from '../../core/health/verdict.ts';
import type { DnsPlace, DnsStatus, Targets } from '../../core/rpc/index.ts';
import { ProviderError, type DnsRecord, type Owner } from '../../dns/provider.ts';
import { applied, desiredRecords, inZone, isEmpty, plan, type Desired } from '../../dns/reconcile/index.ts';
import type { ProviderFactory } from '../dns/providers.ts';
import { RESCHEDULED, backoffMs, type Clock, type JobResult, type Schedule } from './schedule.ts';
import type { Sql } from './sql.ts';

export const DEBOUNCE_MS = 1000;
export const RESYNC_MS = 5 * 60_000;
export const LEASE_MS = 60_000;
/** Places remembered at most (a load balancer renamed over and over while a zone is unreachable). */
export const PLACES_MAX = 16;

/** What the job needs of its LbState. */
export interface DnsHost {
  readonly clock: Clock;
  readonly schedule: Schedule;
  targets(): Targets;
  /** Whether origin i of a pool is usable now (LbState's records, core/health healthUsable). */
  usable(now: number): UsableAt;
  /** When a watched origin's ejection next runs out after `now` (epoch ms); Infinity when none will. */
  nextExpiry(now: number): number;
  provider: ProviderFactory;
  /** Writes a row of the event log (inside a transaction). */
  log(event: HealthEvent): void;
  transaction<T>(fn: () => T): T;
  /** Re-arms the alarm; keeps a run alive after the alarm answered. */
  arm(): Promise<unknown>;
  waitUntil(p: Promise<unknown>): void;
}

interface Stored {
  places: DnsPlace[];
  records: DnsRecord[];
  lastRunAt: number;
  lastSuccess?: DnsStatus['lastSuccess'];
  lastError?: DnsStatus['lastError'];
}

const samePlace = (a: DnsPlace, b: DnsPlace) => a.zone.id === b.zone.id && a.name === b.name && a.zone.owner_id === b.zone.owner_id;
const show = (rs: DnsRecord[]) => rs.map((r) => `${r.type} ${r.content}`).join(', ') || 'nothing';

/** The event-log reason of a run that changed records (at most 500 characters). */
function describe(p: ReturnType<typeof publication>, changes: number): string {
  if (!('desired' in p)) return `dns: removed ${changes} record(s): ${p.reason}`;
  const d = p.desired;
  return `dns: ${d.name} → ${show(d.records)} (pool ${d.pool ?? 'none'}, ${d.basis}; ${changes} change(s))`.slice(0, 500);
}

/** Why `t` is not to be published in DNS; undefined when it is. */
export function notPublished(t: Targets): string | undefined {
  if (!t.lb) return 'the load balancer is deleted or disabled';
  if (t.lb.proxied) return 'proxied: answered by the proxy, not published in DNS';
  if (!t.lb.dns) return 'no dns field: not published';
  if (!t.dnsZone) return `DNS zone ${t.lb.dns.zone} does not exist`;
  return undefined;
}

/** Where `targets` says to publish, and what; or why not. */
export function publication(t: Targets, usable: UsableAt): { place: DnsPlace; desired: Desired } | { reason: string } {
  const reason = notPublished(t);
  if (reason !== undefined || !t.lb || !t.dnsZone) return { reason: reason ?? 'not published' };
  const desired = desiredRecords(
    t.lb,
    t.pools.map((p) => p.pool),
    usable,
  );
  return { place: { zone: t.dnsZone, name: desired.name }, desired };
}

export class DnsJob {
  readonly #sql: Sql;
  readonly #host: DnsHost;
  #state: Stored | undefined;
  #run: Promise<void> | undefined;
  /** Bumped by every trigger: a run that saw it move runs again. */
  #triggers = 0;

  constructor(sql: Sql, host: DnsHost) {
    this.#sql = sql;
    this.#host = host;
  }

  get #stored(): Stored {
    return (this.#state ??= JSON.parse(
      this.#sql.first<{ state: string }>("SELECT state FROM dns WHERE key = 'state'")?.state ?? '{"places":[],"records":[],"lastRunAt":0}',
    ) as Stored);
  }

  #save(s: Stored): void {
    this.#state = s;
    this.#sql.run("INSERT INTO dns (key, state) VALUES ('state', ?) ON CONFLICT (key) DO UPDATE SET state = excluded.state", JSON.stringify(s));
  }

  #key = () => this.#host.targets().lbId;
  /** Whether there is anything to do: publish, or remove what was published. */
  #wanted = () => notPublished(this.#host.targets()) === undefined || this.#stored.places.length > 0;

  /** A health transition (call inside its transaction): a run soon, debounced. */
  touched(now: number): void {
    if (!this.#key() || !this.#wanted()) return;
    this.#triggers++;
    this.#host.schedule.soonest('dns', this.#key(), Math.max(now, this.#stored.lastRunAt + DEBOUNCE_MS));
  }

  /** After sync (inside its transaction): a run soon when the targets changed; the job exists whenever there is something to do. */
  synced(changed: boolean, now: number): void {
    if (changed) this.touched(now);
    else if (this.#key() && this.#wanted()) this.#host.schedule.ensure('dns', this.#key(), now);
  }

  /** The `dns` runner: starts a run (or defers to the one under way) and holds the row for LEASE_MS. */
  start(now: number): JobResult {
    const key = this.#key();
    if (!key) return null;
    this.#host.schedule.set('dns', key, now + LEASE_MS);
    if (this.#run) return RESCHEDULED;
    const run = this.#reconcile(key, now).finally(() => (this.#run = undefined));
    this.#run = run;
    this.#host.waitUntil(run);
    return RESCHEDULED;
  }

  /** Resolves when no run is under way (tests). */
  async idle(): Promise<void> {
    while (this.#run) await this.#run;
  }

  /** The status for the admin API. */
  status(now: number, nextDueAt: number | null): DnsStatus {
    const s = this.#stored;
    const p = publication(this.#host.targets(), this.#host.usable(now));
    const base = { records: s.records, stale: s.places.filter((x) => !('place' in p) || !samePlace(x, p.place)), lastRunAt: s.lastRunAt || null, nextDueAt };
    const outcome = { ...(s.lastSuccess && { lastSuccess: s.lastSuccess }), ...(s.lastError && { lastError: s.lastError }) };
    if ('reason' in p) return { published: false, reason: p.reason, ...base, ...outcome };
    const { name, records, pool, basis, notes } = p.desired;
    return { published: true, zone: p.place.zone.name, name, desired: { records, pool, basis, notes }, ...base, ...outcome };
  }

  /** One run: publish at the current place, remove ours from every other; write the outcome and the next due time. Never throws. */
  async #reconcile(key: string, startedAt: number): Promise<void> {
    try {
      await this.#reconcileOnce(key, startedAt);
    } catch (e) {
      // Storage failed under us: the job row still holds the lease, so it runs again when that runs out.
      console.error(`LbState: dns run failed outside the provider, again in ${LEASE_MS} ms:`, e);
    }
  }

  async #reconcileOnce(key: string, startedAt: number): Promise<void> {
    const triggers = this.#triggers;
    const p = publication(this.#host.targets(), this.#host.usable(startedAt));
    const target = 'place' in p ? p.place : undefined;
    const before = this.#stored;
    // Remember the place before anything is sent: an eviction mid-run must not forget records.
    const places = target ? [target, ...before.places.filter((x) => !samePlace(x, target))] : before.places;
    for (const gone of places.splice(PLACES_MAX))
      console.error(`LbState: dns forgets ${gone.name} in ${gone.zone.name} (more than ${PLACES_MAX} places): remove its records by hand`);
    // lastRunAt only in memory until the end of the run (one write fewer); a new place at once.
    if (places.length !== before.places.length || !places.every((x, i) => samePlace(x, before.places[i]!))) {
      this.#host.transaction(() => this.#save({ ...before, places, lastRunAt: startedAt }));
    } else this.#state = { ...before, lastRunAt: startedAt };
    let records: DnsRecord[] = [];
    let changes = 0;
    let failure: { place: DnsPlace; error: unknown } | undefined;
    const left: DnsPlace[] = [];
    for (const place of places) {
      const isTarget = target !== undefined && samePlace(place, target);
      try {
        if (!inZone(place.name, place.zone.name)) throw new ProviderError('invalid', `${place.name} is not in zone ${place.zone.name}`);
        const done = await this.#apply(place, isTarget && 'desired' in p ? p.desired.records : [], { ownerId: place.zone.owner_id, lbId: key });
        changes += done.changes;
        // A place we no longer publish at is forgotten once emptied.
        if (isTarget) {
          records = done.records;
          left.push(place);
        }
      } catch (error) {
        failure ??= { place, error };
        if (isTarget) records = before.records;
        left.push(place);
      }
    }
    const now = this.#host.clock.now();
    const moved = this.#triggers !== triggers;
    const next = this.#host.transaction(() => {
      const s: Stored = { ...this.#stored, places: left, records };
      let at: number | null;
      if (failure) at = this.#failed(s, failure.place, failure.error, now);
      else {
        const name = target?.name ?? before.places[0]?.name ?? '';
        const to = target ? 'published' : 'unpublished';
        if (s.lastError)
          this.#host.log({ at: now, poolId: '', origin: name, from: 'failing', to, reason: `dns: recovered after ${s.lastError.failures} failure(s)` });
        const from = before.records.length ? 'published' : 'unpublished';
        if (changes) this.#host.log({ at: now, poolId: '', origin: name, from, to, reason: describe(p, changes) });
        s.lastError = undefined;
        s.lastSuccess = { at: now, changes, records: records.length };
        at = !target && !s.places.length ? null : Math.min(now + RESYNC_MS, this.#host.nextExpiry(now));
      }
      // A trigger during the run: again, debounced (a back-off still holds).
      if (moved) at = Math.max(now, startedAt + DEBOUNCE_MS, failure ? (at ?? 0) : 0);
      this.#save(s);
      if (at === null) this.#host.schedule.remove('dns', key);
      else this.#host.schedule.set('dns', key, at);
      return at;
    });
    if (next !== null || moved) await this.#host.arm();
  }

  /** Reads `place`, plans `desired` and applies it; after a 'conflict', once more from a fresh read. */
  async #apply(place: DnsPlace, desired: DnsRecord[], owner: Owner): Promise<{ changes: number; records: DnsRecord[] }> {
    const provider = this.#host.provider(place.zone);
    for (let attempt = 0; ; attempt++) {
      const state = await provider.read(place.name, owner);
      if (desired.length && state.foreign > 0)
        throw new ProviderError('refused', `${place.name} holds ${state.foreign} address or CNAME record(s) that are not ours: not publishing beside them`);
      const changes = plan({ name: place.name, records: desired }, state, owner);
      if (isEmpty(changes)) return { changes: 0, records: state.records };
      try {
        await provider.apply(changes);
        return { changes: changes.remove.length + changes.add.length, records: applied(changes) };
      } catch (e) {
        if (!(e instanceof ProviderError && e.kind === 'conflict') || attempt > 0) throw e;
      }
    }
  }

  /** Records a failure in `s` (and the log when its reason is new); answers the next try (epoch ms). */
  #failed(s: Stored, place: DnsPlace, error: unknown, now: number): number {
    const kind = error instanceof ProviderError ? error.kind : 'internal';
    const message = (error instanceof Error ? error.message : String(error)).slice(0, 500);
    const failures = (s.lastError?.failures ?? 0) + 1;
    if (s.lastError?.message !== message || s.lastError.kind !== kind) {
      const from = s.lastError ? 'failing' : 'published';
      this.#host.log({ at: now, poolId: '', origin: place.name, from, to: 'failing', reason: `dns ${place.zone.name} (${kind}): ${message}` });
    }
    console.error(`LbState: dns ${place.name} in ${place.zone.name} failed (${failures} in a row, ${kind}): ${message}`);
    s.lastError = { at: now, kind, message, failures };
    const wait = Math.max(backoffMs(failures, this.#host.clock.random()), error instanceof ProviderError ? (error.retryAfterMs ?? 0) : 0);
    return now + wait;
  }
}
