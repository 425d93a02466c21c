/**
 * The coalescing engine of DnsZoneWriter (./index.ts): DnsProvider semantics (dns/provider.ts) for
 * many callers of one Cloudflare zone, in few API requests. Times in ms.
 *
 * - read(name, owner): waits at most `readWindowMs` for a listing of the whole zone to start
 *   (dns/cloudflare/zone.ts list) and answers from it; every read waiting then shares it. A
 *   listing only serves reads that arrived before it started, so a read never misses a change
 *   that was acknowledged before it was asked.
 * - apply(changes): queued; a round starts `applyWindowMs` after the oldest queued change set,
 *   at once when the queue holds `batchLimit` operations. One round at a time: a fresh listing
 *   (shared with the reads waiting then), dns/batching `pack` (conflicts answered alone, a second
 *   change set at one name deferred to the next round), then the batches one after another. A
 *   failed batch answers its own callers with its error (Cloudflare applied none of it); the
 *   other batches go on, except after 'auth' (the same token fails them all). A batch refused
 *   as 'invalid' (4xx) is split in halves and sent again until the refused change set is alone,
 *   so one bad caller cannot fail the others; dns/cloudflare/zone.ts `refusal` catches most such
 *   change sets before they are sent.
 * - 429: the writer pauses for `retry-after` (DEFAULT_PAUSE_MS when absent) and answers
 *   'rate_limited' with the remaining wait to every waiting caller and to every call during the
 *   pause, sending nothing.
 * - Caps: at most MAX_WAITING reads and MAX_QUEUED change sets wait; more are refused with
 *   'rate_limited' (retry after one window).
 */
import type { DnsZoneStats } from '../../core/rpc/index.ts';
import { opsOf, pack } from '../../dns/batching/index.ts';
import { ownerMark } from '../../dns/cloudflare/index.ts';
import { refusal, stateAt, type CloudflareZone, type ZoneListing } from '../../dns/cloudflare/zone.ts';
import { ProviderError, type ChangeSet, type NameState, type Owner } from '../../dns/provider.ts';

export interface WriterOptions {
  /** Operations per batch request: Cloudflare's limit is 200 on Free, 3,500 on paid plans. */
  batchLimit: number;
  readWindowMs: number;
  applyWindowMs: number;
}
export const DEFAULT_OPTIONS: WriterOptions = { batchLimit: 200, readWindowMs: 250, applyWindowMs: 250 };
/** Pause after a 429 without `retry-after`: Cloudflare blocks an over-limit user for up to 5 minutes; we try again after one. */
export const DEFAULT_PAUSE_MS = 60_000;
export const MAX_WAITING = 10_000;
export const MAX_QUEUED = 10_000;
/** Longest comment a Free zone accepts. */
const MAX_COMMENT = 100;

interface Queued {
  changes: ChangeSet;
  resolve(): void;
  reject(e: ProviderError): void;
}
interface Listing {
  promise: Promise<ZoneListing>;
  start(): void;
  timer?: ReturnType<typeof setTimeout>;
}

export class ZoneWriter {
  readonly #zone: CloudflareZone;
  readonly #apex: string;
  readonly #now: () => number;
  options: WriterOptions;
  readonly stats: DnsZoneStats = { listings: 0, listPages: 0, batches: 0, batchOps: 0, failedBatches: 0, conflicts: 0, rateLimited: 0, pausedUntil: 0 };
  /** The listing not yet started, and how many reads wait on it. */
  #next: Listing | undefined;
  #waiting = 0;
  #queue: Queued[] = [];
  #queuedOps = 0;
  #oldestAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #round: Promise<void> | undefined;
  /** Rejects every waiting caller when a 429 pauses the writer. */
  readonly #onPause = new Set<(e: ProviderError) => void>();

  /** `apex`: the zone's name (lower-case, no trailing dot). */
  constructor(zone: CloudflareZone, apex: string, options: WriterOptions = DEFAULT_OPTIONS, now: () => number = Date.now) {
    this.#zone = zone;
    this.#apex = apex;
    this.options = options;
    this.#now = now;
  }

  async read(name: string, owner: Owner): Promise<NameState> {
    this.#checkPause();
    if (this.#waiting >= MAX_WAITING) throw this.#busy('reads');
    this.#waiting++;
    try {
      return stateAt(await this.#listing(this.options.readWindowMs), name, owner);
    } finally {
      this.#waiting--;
    }
  }

  apply(changes: ChangeSet): Promise<void> {
    const { name, owner, remove } = changes;
    if (ownerMark(owner).length > MAX_COMMENT) throw new ProviderError('invalid', `owner mark of ${name} is longer than ${MAX_COMMENT} characters`);
    if (remove.some((r) => r.id === undefined)) throw new ProviderError('invalid', `a record to remove at ${name} has no Cloudflare id`);
    const ops = opsOf(changes);
    if (ops === 0) return Promise.resolve();
    if (ops > this.options.batchLimit)
      throw new ProviderError('invalid', `${name}: ${ops} operations do not fit in one batch of at most ${this.options.batchLimit}`);
    this.#checkPause();
    if (this.#queue.length >= MAX_QUEUED) throw this.#busy('change sets');
    return new Promise<void>((resolve, reject) => {
      const item: Queued = { changes, resolve: () => (this.#onPause.delete(pause), resolve()), reject: (e) => (this.#onPause.delete(pause), reject(e)) };
      const pause = (e: ProviderError) => (this.#drop(item), item.reject(e));
      this.#onPause.add(pause);
      this.#enqueue([item]);
      this.#kick();
    });
  }

  #enqueue(items: Queued[], front = false): void {
    if (!this.#queue.length) this.#oldestAt = this.#now();
    this.#queue = front ? [...items, ...this.#queue] : [...this.#queue, ...items];
    for (const i of items) this.#queuedOps += opsOf(i.changes);
  }

  #drop(item: Queued): void {
    const at = this.#queue.indexOf(item);
    if (at >= 0) (this.#queue.splice(at, 1), (this.#queuedOps -= opsOf(item.changes)));
  }

  /** Starts a round now (full queue), later (the oldest change set's window), or after the round under way. */
  #kick(): void {
    if (this.#round || !this.#queue.length) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const wait = this.#queuedOps >= this.options.batchLimit ? 0 : this.#oldestAt + this.options.applyWindowMs - this.#now();
    if (wait > 0) return void (this.#timer = setTimeout(() => ((this.#timer = undefined), this.#kick()), wait));
    const taken = this.#queue;
    this.#queue = [];
    this.#queuedOps = 0;
    this.#round = this.#runRound(taken).finally(() => ((this.#round = undefined), this.#kick()));
  }

  async #runRound(taken: Queued[]): Promise<void> {
    let listing: ZoneListing;
    try {
      listing = await this.#listing(0);
    } catch (e) {
      for (const q of taken) q.reject(asProviderError(e));
      return;
    }
    const packing = pack(
      taken,
      (name, owner) => stateAt(listing, name, owner),
      this.options.batchLimit,
      (c) => refusal(listing, c, this.#apex),
    );
    this.stats.conflicts += packing.conflicts.length;
    for (const q of packing.conflicts) q.reject(new ProviderError('conflict', `${q.changes.name} changed since it was read`));
    for (const q of packing.tooLarge) q.reject(new ProviderError('invalid', `${q.changes.name}: too many operations for one batch`));
    for (const { item, reason } of packing.refused) item.reject(new ProviderError('invalid', `Cloudflare would refuse it: ${reason}`));
    if (packing.deferred.length) this.#enqueue(packing.deferred, true);
    for (const batch of packing.batches) {
      if (this.#stop) for (const q of batch) q.reject(this.#stopped(this.#stop));
      else await this.#send(batch);
    }
    this.#stop = undefined;
  }

  /** Set by a batch answered 'auth' or 'rate_limited': the rest of the round is not sent. */
  #stop: ProviderError | undefined;

  /** Sends one batch; a refusal ('invalid') of a batch of several is sent again as two halves, so one caller's refused change set fails only that caller. */
  async #send(batch: Queued[]): Promise<void> {
    const ops = batch.reduce((n, q) => n + opsOf(q.changes), 0);
    try {
      this.#checkPause();
      this.stats.batches++;
      await this.#zone.batch(
        {
          deletes: batch.flatMap((q) => q.changes.remove.map((r) => r.id!)),
          posts: batch.flatMap((q) => q.changes.add.map((record) => ({ record, owner: q.changes.owner }))),
        },
        `a batch of ${batch.length} change set(s), ${ops} operation(s)`,
      );
      this.stats.batchOps += ops;
      for (const q of batch) q.resolve();
    } catch (e) {
      const error = asProviderError(e);
      this.stats.failedBatches++;
      if (error.kind === 'invalid' && batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        for (const part of [batch.slice(0, half), batch.slice(half)]) {
          if (this.#stop) for (const q of part) q.reject(this.#stopped(this.#stop));
          else await this.#send(part);
        }
        return;
      }
      for (const q of batch) q.reject(new ProviderError(error.kind, `applying changes to ${q.changes.name} in ${error.message}`, error.retryAfterMs));
      if (error.kind === 'rate_limited') this.#pause(error);
      if (error.kind === 'rate_limited' || error.kind === 'auth') this.#stop = error;
    }
  }

  /** The listing that starts within `delayMs` (0: now), shared by everyone waiting for it. */
  #listing(delayMs: number): Promise<ZoneListing> {
    let next = this.#next;
    if (!next) {
      let start!: () => void;
      const promise = new Promise<void>((resolve) => (start = resolve)).then(() => {
        if (this.#next === next) this.#next = undefined;
        if (next!.timer !== undefined) clearTimeout(next!.timer);
        return this.#list();
      });
      next = this.#next = { promise, start };
      next.timer = setTimeout(start, delayMs);
    }
    if (delayMs === 0) next.start();
    return next.promise;
  }

  async #list(): Promise<ZoneListing> {
    this.#checkPause();
    this.stats.listings++;
    try {
      const { records, pages } = await this.#zone.list();
      this.stats.listPages += pages;
      return records;
    } catch (e) {
      const error = asProviderError(e);
      if (error.kind === 'rate_limited') this.#pause(error);
      throw error;
    }
  }

  #pause(error: ProviderError): void {
    this.stats.rateLimited++;
    this.stats.pausedUntil = Math.max(this.stats.pausedUntil, this.#now() + (error.retryAfterMs ?? DEFAULT_PAUSE_MS));
    const waiting = [...this.#onPause];
    this.#onPause.clear();
    for (const reject of waiting) reject(this.#pausedError());
    this.#next?.start(); // the reads waiting for a listing: answered at once (the listing refuses while paused)
  }

  #pausedError(): ProviderError {
    const ms = Math.max(0, this.stats.pausedUntil - this.#now());
    return new ProviderError('rate_limited', `Cloudflare rate-limited this zone's writer: nothing is sent for ${Math.ceil(ms / 1000)} s`, ms);
  }

  #stopped(stop: ProviderError): ProviderError {
    return stop.kind === 'rate_limited' ? this.#pausedError() : stop;
  }

  #checkPause(): void {
    if (this.stats.pausedUntil > this.#now()) throw this.#pausedError();
  }

  #busy(what: string): ProviderError {
    return new ProviderError('rate_limited', `the zone's writer holds too many waiting ${what}`, this.options.applyWindowMs);
  }
}

/** A ProviderError as it is; anything else (a bug of ours) as 'unreachable'. */
function asProviderError(e: unknown): ProviderError {
  return e instanceof ProviderError ? e : new ProviderError('unreachable', `the zone's writer failed: ${e instanceof Error ? e.message : String(e)}`);
}
