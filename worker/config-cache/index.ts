/**
 * Per-isolate cache of a versioned snapshot (the compiled config; a load balancer's health),
 * stale-while-revalidate: a cold isolate waits for its Durable Object once; afterwards requests use the cached snapshot and, when it is older than
 * `maxAgeMs`, one background refresh (single flight) asks the store whether the version moved.
 * Past `maxStaleMs` (an isolate that sat idle) the request waits for the refresh, so no request
 * sees a config older than that. An unchanged version costs one small RPC reply and no recompilation.
 */
import { emptyDocument } from '../../core/config/index.ts';
import { compileSnapshot, type Snapshot } from '../../core/route/index.ts';
import type { SnapshotReply } from '../../core/rpc/index.ts';

/** A Durable Object that answers `snapshot(knownVersion)` with the full value or only the version. */
export interface VersionedSource<R extends { version: number }> {
  snapshot(knownVersion: number): Promise<R>;
}
export type SnapshotSource = VersionedSource<SnapshotReply>;

export interface SnapshotCacheOptions {
  /** Age (ms) after which a request triggers a background refresh. Default 1000. */
  maxAgeMs?: number;
  /** Age (ms) past which a request waits for the refresh instead of using the snapshot (an isolate
   * that sat idle must not serve a config from minutes ago). Default 2000. */
  maxStaleMs?: number;
  /** Clock in ms. Default Date.now. */
  now?: () => number;
  /**
   * The longest a request waits on the store (ms), cold or past `maxStaleMs`: then it is served
   * the stale snapshot, or (cold) the wait rejects, and the refresh goes on in the background.
   * Default 1000.
   */
  deadlineMs?: number;
}

/**
 * `compile(reply, previous)` turns a reply into the cached value, or returns undefined when the
 * reply carries only the version (nothing changed).
 */
export class VersionedCache<R extends { version: number }, T extends { version: number }> {
  #snapshot: T | undefined;
  #fetchedAt = 0;
  #inflight: Promise<T> | undefined;
  #dirty = false;
  readonly #maxAgeMs: number;
  readonly #maxStaleMs: number;
  readonly #now: () => number;
  readonly #deadlineMs: number;

  readonly #compile: (reply: R) => T | undefined;
  readonly #empty: (version: number) => T;

  constructor(compile: (reply: R) => T | undefined, empty: (version: number) => T, options: SnapshotCacheOptions = {}) {
    this.#compile = compile;
    this.#empty = empty;
    this.#maxAgeMs = options.maxAgeMs ?? 1000;
    this.#maxStaleMs = options.maxStaleMs ?? 2000;
    this.#now = options.now ?? Date.now;
    this.#deadlineMs = options.deadlineMs ?? 1000;
  }

  /**
   * The current snapshot: synchronously when one is cached (no await on the hot path), else a
   * promise of the first one. `open(arg)` is called only when the store must be asked (getting a
   * Durable Object stub hashes its name: not per request; no closure per request either).
   * `background.waitUntil` (the ExecutionContext) receives the refresh promise when one starts while a
   * stale snapshot is served (pass `ctx.waitUntil`). Rejects only when no snapshot was ever loaded
   * and the store cannot be reached.
   */
  get<A>(open: (arg: A) => VersionedSource<R>, arg: A, background: { waitUntil(p: Promise<unknown>): void }): T | Promise<T> {
    const cached = this.#snapshot;
    if (!cached || this.#dirty) return this.#bounded(this.refresh(open(arg)), cached, background);
    const age = this.#now() - this.#fetchedAt;
    if (age <= this.#maxAgeMs) return cached;
    // Too old to serve: wait (up to the deadline), but keep serving the old one if the store cannot be reached.
    if (age > this.#maxStaleMs)
      return this.#bounded(
        this.refresh(open(arg)).catch(() => cached),
        cached,
        background,
      );
    if (!this.#inflight) background.waitUntil(this.refresh(open(arg)).catch(() => cached));
    return cached;
  }

  /** `wait`, or after deadlineMs `fallback` (rejects when there is none: a cold isolate); the refresh goes on. */
  #bounded(wait: Promise<T>, fallback: T | undefined, background: { waitUntil(p: Promise<unknown>): void }): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<T>((resolve, reject) => {
      timer = setTimeout(() => {
        background.waitUntil(wait.catch(() => undefined)); // the refresh outlives this request
        if (fallback) resolve(fallback);
        else reject(new Error(`no answer within ${this.#deadlineMs} ms`));
      }, this.#deadlineMs);
    });
    return Promise.race([wait, late]).finally(() => timer !== undefined && clearTimeout(timer));
  }

  /** Asks the store now (joining a refresh already under way) and returns the newest snapshot. */
  refresh(source: VersionedSource<R>): Promise<T> {
    // A refresh that started before an invalidate() may return the old version: queue a new one.
    if (this.#inflight && this.#dirty) return this.#inflight.catch(() => undefined).then(() => this.refresh(source));
    this.#inflight ??= this.#fetch(source).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #fetch(source: VersionedSource<R>): Promise<T> {
    this.#dirty = false;
    const reply = await source.snapshot(this.#snapshot?.version ?? -1);
    this.#fetchedAt = this.#now();
    const compiled = this.#compile(reply);
    if (compiled) this.#snapshot = compiled;
    return (this.#snapshot ??= this.#empty(reply.version));
  }

  /** Makes the next `get` wait for a fresh snapshot (after a write through this isolate). */
  invalidate(): void {
    this.#dirty = true;
  }
}

/** The compiled config of this isolate. */
export class SnapshotCache extends VersionedCache<SnapshotReply, Snapshot> {
  constructor(options: SnapshotCacheOptions = {}) {
    super(
      (reply) => (reply.doc ? compileSnapshot(reply.doc, reply.version, reply.affinityKeys) : undefined),
      (version) => compileSnapshot(emptyDocument(), version),
      options,
    );
  }
}
