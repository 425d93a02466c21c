/**
 * Cloudflare's two-step previews, kept by the LbState named `preview-id:<preview_id>` (one object
 * per preview, so the result can be read from any isolate): `run` probes every origin of the
 * given pools with the given monitor once, keeps the result and arms the object's alarm;
 * `expire` (the alarm) deletes everything the object holds once PREVIEW_TTL_MS have passed.
 *
 * - Bounded: a preview probes at most MAX_PREVIEW_ORIGINS origins (the Worker refuses more
 *   before calling) and keeps failure reasons to MAX_REASON_CHARS, so one stored result stays
 *   under ~60 KB. It is written once, in Durable Object KV (one key), and never grows.
 * - A pool's `healthy` is routing's verdict (core/health/verdict poolVerdict) with the preview's
 *   probe results as the origins' health: enabled, and at least `minimum_origins` origins that
 *   take traffic passed.
 */
import type { Monitor, Pool } from '../../core/config/index.ts';
import { poolVerdict } from '../../core/health/verdict.ts';
import type { PoolPreview, StoredPreview } from '../../core/rpc/index.ts';
import { previewProbe } from './probe.ts';

/** How long a preview's result can be read (ms): one hour. */
export const PREVIEW_TTL_MS = 3600_000;
/** Most origins one preview probes (across its pools). */
export const MAX_PREVIEW_ORIGINS = 100;
/** Longest failure reason kept per origin (characters). */
export const MAX_REASON_CHARS = 256;

const KEY = 'preview';

/** The stored preview of one LbState (see the module doc). */
export class PreviewStore {
  readonly #storage: DurableObjectStorage;
  readonly #now: () => number;

  constructor(storage: DurableObjectStorage, now: () => number) {
    this.#storage = storage;
    this.#now = now;
  }

  /**
   * Probes every origin of `pools` with `monitor` (concurrently; each probe settles within
   * (retries + 1) × (timeout + 0.25) s), stores the result until now + PREVIEW_TTL_MS and answers
   * it. Throws RangeError over MAX_PREVIEW_ORIGINS origins.
   */
  async run(monitor: Monitor, pools: readonly Pool[]): Promise<StoredPreview> {
    const count = pools.reduce((n, p) => n + p.origins.length, 0);
    if (count > MAX_PREVIEW_ORIGINS) throw new RangeError(`a preview probes at most ${MAX_PREVIEW_ORIGINS} origins (${count} given)`);
    const results = await Promise.all(
      pools.map(async (pool): Promise<[string, PoolPreview]> => {
        const origins = await Promise.all(pool.origins.map((o) => previewProbe(monitor, { name: o.name, address: o.address, port: o.port })));
        const bounded = origins.map((o) => ({ ...o, failure_reason: o.failure_reason?.slice(0, MAX_REASON_CHARS) ?? null }));
        const { healthy } = poolVerdict(pool, (_, i) => bounded[i]!.healthy);
        return [pool.id, { name: pool.name, healthy, origins: bounded }];
      }),
    );
    const expiresAt = this.#now() + PREVIEW_TTL_MS;
    const preview: StoredPreview = { expires_at: expiresAt, pools: Object.fromEntries(results) };
    await this.#storage.put(KEY, preview);
    await this.#storage.setAlarm(expiresAt);
    return preview;
  }

  /** The stored preview; undefined when none was made here or it has expired. */
  async read(): Promise<StoredPreview | undefined> {
    const preview = await this.#storage.get<StoredPreview>(KEY);
    return preview && preview.expires_at > this.#now() ? preview : undefined;
  }

  /** Run by the alarm: when this object holds a preview, deletes all it holds once the preview expired; answers whether it held one. */
  async expire(): Promise<boolean> {
    const preview = await this.#storage.get<StoredPreview>(KEY);
    if (!preview) return false;
    if (preview.expires_at <= this.#now()) {
      await this.#storage.deleteAlarm();
      await this.#storage.deleteAll();
    } else await this.#storage.setAlarm(preview.expires_at);
    return true;
  }
}
