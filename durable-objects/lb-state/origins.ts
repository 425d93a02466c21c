/**
 * The `origin_health` table: one row per (pool, origin). `verdict` and `ejected_until` (epoch ms)
 * are columns; the rest of core/health's OriginHealth is JSON in `state`; `total` counts the
 * requests edges reported. In memory an origin is keyed `<pool id>/<origin>` (keyOf), which is
 * also the key of its probe job; pool ids have no "/" (core/config ID_PATTERN).
 */
import { NEW_ORIGIN, type OriginHealth } from '../../core/health/index.ts';
import type { Sql } from './sql.ts';

export interface OriginEntry {
  health: OriginHealth;
  /** Requests the edges reported. */
  total: number;
}

export const keyOf = (poolId: string, origin: string) => `${poolId}/${origin}`;

export function splitKey(k: string): [poolId: string, origin: string] {
  const i = k.indexOf('/');
  return [k.slice(0, i), k.slice(i + 1)];
}

export class OriginTable {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** Every stored origin, by key. */
  load(): Map<string, OriginEntry> {
    const rows = this.#sql.all<{ pool_id: string; origin: string; verdict: OriginHealth['verdict']; ejected_until: number; state: string; total: number }>(
      'SELECT pool_id, origin, verdict, ejected_until, state, total FROM origin_health',
    );
    return new Map(
      rows.map((r) => {
        const health = { ...NEW_ORIGIN, ...(JSON.parse(r.state) as Partial<OriginHealth>), verdict: r.verdict, ejectedUntil: r.ejected_until };
        return [keyOf(r.pool_id, r.origin), { health, total: r.total }];
      }),
    );
  }

  insert(k: string, e: OriginEntry): void {
    this.#sql.run('INSERT INTO origin_health (pool_id, origin, verdict, ejected_until, state, total) VALUES (?, ?, ?, ?, ?, ?)', ...splitKey(k), ...columns(e));
  }

  update(k: string, e: OriginEntry): void {
    this.#sql.run(
      'UPDATE origin_health SET verdict = ?, ejected_until = ?, state = ?, total = ? WHERE pool_id = ? AND origin = ?',
      ...columns(e),
      ...splitKey(k),
    );
  }

  delete(k: string): void {
    this.#sql.run('DELETE FROM origin_health WHERE pool_id = ? AND origin = ?', ...splitKey(k));
  }
}

function columns({ health, total }: OriginEntry): [verdict: string, ejectedUntil: number, state: string, total: number] {
  const { verdict, ejectedUntil, ...rest } = health;
  return [verdict, ejectedUntil, JSON.stringify(rest), total];
}

/** Whether two records are the same, counting two ejections already over at `now` (epoch ms) as equal. */
export function sameHealth(a: OriginHealth, b: OriginHealth, now: number): boolean {
  for (const k of Object.keys(a) as (keyof OriginHealth)[]) {
    if (a[k] === b[k]) continue;
    if (k === 'ejectedUntil' && a.ejectedUntil <= now && b.ejectedUntil <= now) continue;
    return false;
  }
  return true;
}
