/**
 * The header-affinity table of one load balancer: session key → (pool, origin) with an idle TTL
 * (`expires_at` = last use + TTL, epoch ms). At most `maxRows` sessions (AFFINITY_MAX_ROWS):
 * at the cap the 1% that expire soonest, the least recently used, are evicted and counted (meta
 * `affinity_evicted`, kept across restarts). The row count is read once, on first need, and
 * kept up to date from what each statement removed.
 */
import type { SessionPin } from '../../core/rpc/index.ts';
import type { Sql } from './sql.ts';

/** Header-affinity sessions per load balancer. */
export const AFFINITY_MAX_ROWS = 100_000;

export class AffinityTable {
  maxRows = AFFINITY_MAX_ROWS;
  readonly #sql: Sql;
  #rows: number | undefined;
  #evicted: number | undefined;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** The pin of `key` if its idle TTL has not run out at `now`; an expired one is removed. */
  get(key: string, now: number): (SessionPin & { expiresAt: number }) | undefined {
    const row = this.#sql.first<{ pool_id: string; origin: string; expires_at: number }>('SELECT pool_id, origin, expires_at FROM affinity WHERE key = ?', key);
    if (!row) return undefined;
    if (row.expires_at <= now) {
      this.#removed(this.#sql.all('DELETE FROM affinity WHERE key = ? RETURNING key', key).length);
      return undefined;
    }
    return { poolId: row.pool_id, origin: row.origin, expiresAt: row.expires_at };
  }

  /**
   * Pins `key` (first claim wins unless `replace`), its idle TTL (`ttlMs`) starting again at
   * `now`; answers the pin that holds. Removes expired sessions first. Call inside a transaction.
   */
  put(key: string, pin: SessionPin, ttlMs: number, replace: boolean, now: number): SessionPin {
    const expiresAt = Math.ceil(now + (Number.isFinite(ttlMs) && ttlMs > 0 ? ttlMs : 0));
    this.#removed(this.#sql.all('DELETE FROM affinity WHERE expires_at <= ? RETURNING key', now).length);
    const held = this.#sql.first<{ pool_id: string; origin: string }>('SELECT pool_id, origin FROM affinity WHERE key = ?', key);
    const holds = !replace && held ? { poolId: held.pool_id, origin: held.origin } : { poolId: pin.poolId, origin: pin.origin };
    if (held) {
      this.#sql.run('UPDATE affinity SET pool_id = ?, origin = ?, expires_at = ? WHERE key = ?', holds.poolId, holds.origin, expiresAt, key);
    } else {
      this.#makeRoom();
      const rows = this.count();
      this.#sql.run('INSERT INTO affinity (key, pool_id, origin, expires_at) VALUES (?, ?, ?, ?)', key, holds.poolId, holds.origin, expiresAt);
      this.#rows = rows + 1;
    }
    return holds;
  }

  /** Sessions held. */
  count(): number {
    return (this.#rows ??= this.#sql.first<{ n: number }>('SELECT COUNT(*) AS n FROM affinity')?.n ?? 0);
  }

  /** Sessions evicted at the cap since the object was created. */
  evicted(): number {
    return (this.#evicted ??= Number(this.#sql.first<{ value: string }>("SELECT value FROM meta WHERE key = 'affinity_evicted'")?.value ?? 0));
  }

  #removed(n: number): void {
    if (this.#rows !== undefined) this.#rows -= n;
  }

  /** At the cap, evicts the 1% of sessions that expire soonest. */
  #makeRoom(): void {
    const rows = this.count();
    if (rows < this.maxRows) return;
    const n = Math.max(rows - this.maxRows + 1, Math.ceil(this.maxRows / 100));
    const gone = this.#sql.all('DELETE FROM affinity WHERE key IN (SELECT key FROM affinity ORDER BY expires_at LIMIT ?) RETURNING key', n).length;
    this.#rows = rows - gone;
    this.#evicted = this.evicted() + gone;
    this.#sql.run("INSERT INTO meta (key, value) VALUES ('affinity_evicted', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", String(this.#evicted));
  }
}
