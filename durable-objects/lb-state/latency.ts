/**
 * dynamic_latency figures that outlive an eviction: core/health's LatencyBook in memory, each
 * figure (ms) also written to the `latency` table when it is published (moved > 10%) or, when
 * refreshed since, at most every RESAVE_MS; read back on start. Writes stay rare: an LbState is
 * evicted between alarms when its monitors' interval is long, so without this every wake-up would
 * start with no figures. A figure not refreshed for LATENCY_TTL_MS (10 min) is dropped, in memory
 * by the book and on disk by `prune`.
 */
import { LATENCY_TTL_MS, LatencyBook, type LatencyTable } from '../../core/health/latency.ts';
import type { Sql } from './sql.ts';

/** A figure refreshed but not moved is written again at most this often (ms). */
const RESAVE_MS = LATENCY_TTL_MS / 2;

export class LatencyStore {
  readonly #book = new LatencyBook();
  readonly #sql: Sql;
  /** By `<place> <pool id>`: when the figure was last written, and the figures to write. */
  readonly #savedAt = new Map<string, number>();
  readonly #dirty = new Set<string>();

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** Reads the stored figures still fresh at `now` (epoch ms). */
  load(now: number): void {
    for (const r of this.#sql.all<{ place: string; pool_id: string; ms: number; at: number }>(
      'SELECT place, pool_id, ms, at FROM latency WHERE at > ?',
      now - LATENCY_TTL_MS,
    )) {
      this.#book.note(r.place, r.pool_id, r.ms, 1, r.at);
      this.#savedAt.set(`${r.place} ${r.pool_id}`, r.at);
    }
  }

  /** LatencyBook.note: true when the figure moved enough to publish. Marks it to be written when it did, or when it was not written for RESAVE_MS. */
  note(place: string, poolId: string, meanMs: number, count: number, now: number): boolean {
    const moved = this.#book.note(place, poolId, meanMs, count, now);
    const id = `${place} ${poolId}`;
    if (moved || now - (this.#savedAt.get(id) ?? -Infinity) >= RESAVE_MS) this.#dirty.add(id);
    return moved;
  }

  /** Figures marked and not yet written. */
  get unsaved(): number {
    return this.#dirty.size;
  }

  /** Writes the marked figures (call inside a transaction); answers how many. */
  save(now: number): number {
    if (!this.#dirty.size) return 0;
    const table = this.#book.table(now);
    let n = 0;
    for (const id of this.#dirty) {
      const [place, poolId] = id.split(' ') as [string, string];
      const ms = table[place]?.[poolId];
      if (ms === undefined) continue;
      this.#sql.run(
        'INSERT INTO latency (place, pool_id, ms, at) VALUES (?, ?, ?, ?) ON CONFLICT (place, pool_id) DO UPDATE SET ms = excluded.ms, at = excluded.at',
        place,
        poolId,
        ms,
        Math.floor(now),
      );
      this.#savedAt.set(id, now);
      n++;
    }
    this.#dirty.clear();
    return n;
  }

  /** LatencyBook.table: every fresh figure, by place then pool (ms). */
  table(now: number): LatencyTable {
    return this.#book.table(now);
  }

  /** Drops stored figures stale at `now`. */
  prune(now: number): void {
    this.#sql.run('DELETE FROM latency WHERE at < ?', now - LATENCY_TTL_MS);
  }
}
