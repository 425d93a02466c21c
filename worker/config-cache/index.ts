/**
 * Per-isolate cache of the compiled config snapshot, stale-while-revalidate: a cold isolate waits
 * for the ConfigStore once; afterwards requests use the cached snapshot and, when it is older than
 * `maxAgeMs`, one background refresh (single flight) asks the store whether the version moved.
 * Past `maxStaleMs` (an isolate that sat idle) the request waits for the refresh, so no request
 * sees a config older than that. An unchanged version costs one small RPC reply and no recompilation.
 */
import { compileSnapshot, type Snapshot } from '../../core/route/index.ts';
import type { SnapshotReply } from '../../durable-objects/config-store/index.ts';

export interface SnapshotSource {
  snapshot(knownVersion: number): Promise<SnapshotReply>;
}

export interface SnapshotCacheOptions {
  /** Age (ms) after which a request triggers a background refresh. Default 1000. */
  maxAgeMs?: number;
  /** Age (ms) past which a request waits for the refresh instead of using the snapshot (an isolate
   * that sat idle must not serve a config from minutes ago). Default 2000. */
  maxStaleMs?: number;
  /** Clock in ms. Default Date.now. */
  now?: () => number;
}

export class SnapshotCache {
  #snapshot: Snapshot | undefined;
  #fetchedAt = 0;
  #inflight: Promise<Snapshot> | undefined;
  #dirty = false;
  readonly #maxAgeMs: number;
  readonly #maxStaleMs: number;
  readonly #now: () => number;

  constructor(options: SnapshotCacheOptions = {}) {
    this.#maxAgeMs = options.maxAgeMs ?? 1000;
    this.#maxStaleMs = options.maxStaleMs ?? 2000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The current snapshot: synchronously when one is cached (no await on the hot path), else a
   * promise of the first one. `open(arg)` is called only when the store must be asked (getting a
   * Durable Object stub hashes its name: not per request; no closure per request either).
   * `background.waitUntil` (the ExecutionContext) receives the refresh promise when one starts while a
   * stale snapshot is served (pass `ctx.waitUntil`). Rejects only when no snapshot was ever loaded
   * and the store cannot be reached.
   */
  get<A>(open: (arg: A) => SnapshotSource, arg: A, background: { waitUntil(p: Promise<unknown>): void }): Snapshot | Promise<Snapshot> {
    const cached = this.#snapshot;
    if (!cached || this.#dirty) return this.refresh(open(arg));
    const age = this.#now() - this.#fetchedAt;
    if (age <= this.#maxAgeMs) return cached;
    // Too old to serve: wait, but keep serving the old one if the store cannot be reached.
    if (age > this.#maxStaleMs) return this.refresh(open(arg)).catch(() => cached);
    if (!this.#inflight) background.waitUntil(this.refresh(open(arg)).catch(() => cached));
    return cached;
  }

  /** Asks the store now (joining a refresh already under way) and returns the newest snapshot. */
  refresh(source: SnapshotSource): Promise<Snapshot> {
    // A refresh that started before an invalidate() may return the old version: queue a new one.
    if (this.#inflight && this.#dirty) return this.#inflight.catch(() => undefined).then(() => this.refresh(source));
    this.#inflight ??= this.#fetch(source).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #fetch(source: SnapshotSource): Promise<Snapshot> {
    this.#dirty = false;
    const reply = await source.snapshot(this.#snapshot?.version ?? -1);
    this.#fetchedAt = this.#now();
    if (reply.doc) this.#snapshot = compileSnapshot(reply.doc, reply.version);
    return this.#snapshot ?? compileSnapshot({ monitors: [], pools: [], load_balancers: [] }, reply.version);
  }

  /** Makes the next `get` wait for a fresh snapshot (after a write through this isolate). */
  invalidate(): void {
    this.#dirty = true;
  }
}
