/**
 * LbState's traffic metrics: what edges count (core/metrics) added into totals since the object
 * was created and into a time series (core/metrics/series), both stored in SQLite. Times epoch ms.
 *
 * - Reports are added in memory at once (so `metrics()` is current) into the totals and into the
 *   10 s interval under way (by arrival time: edges report within ~1 s of an attempt).
 * - A `metrics` job (key `flush`), due when an interval ends, writes each closed 10 s interval as
 *   one row, the minute as one row once its six intervals are over (summed from the stored 10 s
 *   rows, so an eviction in between loses nothing written), and the totals that changed: about one
 *   write per origin with traffic per 10 s, whatever the number of edges reporting. The alarm that
 *   runs it keeps the object in memory, so an idle eviction cannot drop unwritten counts; a restart
 *   (deploy, crash) drops at most the last 10 s.
 * - Storage bound per load balancer: `traffic_series` is two rings of rows, primary key
 *   (res, slot = interval number mod points): at most 360 + 1,440 = 1,800 rows, ~2.3 MB with
 *   typical names and at most ~9 MB (core/metrics/series); `traffic_totals`: one row per watched
 *   origin, ~300 bytes (1,000 origins: ~300 KB), removed with the origin.
 */
import { addInto, attempts, emptyCounts, failures, isCounts, type OriginTraffic, type TrafficCounts } from '../../core/metrics/index.ts';
import {
  RESOLUTIONS,
  densePoints,
  intervalOf,
  makePoint,
  mergePoints,
  type OriginShare,
  type Resolution,
  type SeriesPoint,
} from '../../core/metrics/series.ts';
import { healthUsable, type OriginHealth } from '../../core/health/index.ts';
import { poolVerdict } from '../../core/health/verdict.ts';
import type { LbMetrics, SeriesReply, Targets } from '../../core/rpc/index.ts';
import { keyOf, splitKey } from './origins.ts';
import type { Sql } from './sql.ts';

const TEN = RESOLUTIONS['10s'];
const MINUTE = RESOLUTIONS['1m'];

interface OpenInterval {
  counts: TrafficCounts;
  requests: number;
  shares: Map<string, OriginShare>;
}

export class TrafficStore {
  readonly #sql: Sql;
  /** Totals by origin key (origins.ts keyOf), including what is not yet written. */
  #totals = new Map<string, TrafficCounts>();
  readonly #dirty = new Set<string>();
  /** 10 s intervals not yet written, by start. */
  readonly #open = new Map<number, OpenInterval>();
  /** When the flush job is known to be due (null: unknown, e.g. after an eviction). */
  #flushAt: number | null = null;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** Reads the stored totals. */
  load(): void {
    const rows = this.#sql.all<{ pool_id: string; origin: string; counts: string }>('SELECT pool_id, origin, counts FROM traffic_totals');
    this.#totals = new Map(rows.map((r) => [keyOf(r.pool_id, r.origin), addInto(emptyCounts(), JSON.parse(r.counts) as TrafficCounts)]));
  }

  /**
   * Adds what an edge counted, for the origins `known` accepts (others and malformed entries are
   * ignored). Answers when the flush job must run, or undefined when it is already due by then.
   */
  add(traffic: readonly OriginTraffic[], known: (key: string) => boolean, now: number): number | undefined {
    const at = intervalOf(now, TEN.stepMs);
    let added = false;
    for (const t of traffic) {
      if (!t || typeof t.poolId !== 'string' || typeof t.origin !== 'string' || !isCounts(t)) continue;
      const key = keyOf(t.poolId, t.origin);
      if (!known(key)) continue;
      let total = this.#totals.get(key);
      if (!total) this.#totals.set(key, (total = emptyCounts()));
      addInto(total, t);
      this.#dirty.add(key);
      let open = this.#open.get(at);
      if (!open) this.#open.set(at, (open = { counts: emptyCounts(), requests: 0, shares: new Map() }));
      const n = attempts(t);
      addInto(open.counts, t);
      open.requests += n;
      const share = open.shares.get(key);
      if (share) ((share.requests += n), (share.errors += failures(t)));
      else open.shares.set(key, { poolId: t.poolId, origin: t.origin, requests: n, errors: failures(t) });
      added = true;
    }
    const due = at + TEN.stepMs;
    if (!added || (this.#flushAt !== null && this.#flushAt <= due)) return undefined;
    return (this.#flushAt = due);
  }

  /**
   * The `metrics` job (call inside a transaction): writes the 10 s intervals over at `now`, the
   * minutes over with their intervals, and the changed totals. Answers when it is next due: the
   * end of an interval still open, else of a minute still open, else null.
   */
  flush(now: number): number | null {
    for (const [at, o] of this.#open) {
      if (at + TEN.stepMs > now) continue;
      this.#write('10s', makePoint(at, o.counts, o.requests, o.shares.values()));
      this.#open.delete(at);
    }
    for (const key of this.#dirty) {
      const [poolId, origin] = splitKey(key);
      const counts = JSON.stringify(this.#totals.get(key));
      this.#sql.run(
        'INSERT INTO traffic_totals (pool_id, origin, counts) VALUES (?, ?, ?) ON CONFLICT (pool_id, origin) DO UPDATE SET counts = excluded.counts',
        poolId,
        origin,
        counts,
      );
    }
    this.#dirty.clear();
    // Minutes with 10 s rows of the last hour and no minute row yet.
    const since = intervalOf(now, MINUTE.stepMs) - TEN.stepMs * TEN.points;
    const minutes = this.#sql.all<{ m: number }>(
      `SELECT DISTINCT at - at % ${MINUTE.stepMs} AS m FROM traffic_series WHERE res = ? AND at >= ?
       EXCEPT SELECT at FROM traffic_series WHERE res = ? AND at >= ?`,
      TEN.stepMs,
      since,
      MINUTE.stepMs,
      since,
    );
    let next: number | null = null;
    for (const { m } of minutes) {
      if (m + MINUTE.stepMs > now) {
        next = m + MINUTE.stepMs;
        continue;
      }
      this.#write('1m', mergePoints(m, this.#read('10s', m, m + MINUTE.stepMs)));
    }
    for (const at of this.#open.keys()) next = Math.min(next ?? Infinity, at + TEN.stepMs);
    return (this.#flushAt = next);
  }

  /** Drops the totals of an origin no longer watched (call inside a transaction). */
  forget(key: string): void {
    this.#totals.delete(key);
    this.#dirty.delete(key);
    this.#sql.run('DELETE FROM traffic_totals WHERE pool_id = ? AND origin = ?', ...splitKey(key));
  }

  /** Totals of one origin (zeros when it has had no traffic). */
  totals(key: string): TrafficCounts {
    return this.#totals.get(key) ?? emptyCounts();
  }

  /**
   * The series at `resolution` from `since` (default: the oldest kept) to the interval under way
   * (excluded), one point per interval. 10 s intervals over but not yet written are included;
   * a minute appears once the flush job has written it (at its end). Throws on a bad argument.
   */
  series(resolution: Resolution, since: number | undefined, now: number): SeriesReply {
    if (typeof resolution !== 'string' || !Object.hasOwn(RESOLUTIONS, resolution))
      throw new Error(`resolution must be one of ${Object.keys(RESOLUTIONS).join(', ')}`);
    if (since !== undefined && !Number.isFinite(since)) throw new Error('since must be epoch ms');
    const { stepMs, points } = RESOLUTIONS[resolution];
    const to = intervalOf(now, stepMs);
    const oldest = to - stepMs * points;
    const from = Math.min(to, Math.max(oldest, intervalOf(since ?? oldest, stepMs)));
    const stored = this.#read(resolution, from, to);
    if (resolution === '10s') {
      for (const [at, o] of this.#open) if (at >= from && at < to) stored.push(makePoint(at, o.counts, o.requests, o.shares.values()));
    }
    return { resolution, stepMs, from, to, points: densePoints(stored, from, to, stepMs) };
  }

  /** Health transitions ever logged: the event log's AUTOINCREMENT counter (it survives pruning). */
  eventsLogged(): number {
    return this.#sql.first<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'health_events'")?.seq ?? 0;
  }

  #write(resolution: Resolution, p: SeriesPoint): void {
    const { stepMs, points } = RESOLUTIONS[resolution];
    this.#sql.run(
      'INSERT OR REPLACE INTO traffic_series (res, slot, at, point) VALUES (?, ?, ?, ?)',
      stepMs,
      (p.at / stepMs) % points,
      p.at,
      JSON.stringify(p),
    );
  }

  #read(resolution: Resolution, from: number, to: number): SeriesPoint[] {
    return this.#sql
      .all<{ point: string }>('SELECT point FROM traffic_series WHERE res = ? AND at >= ? AND at < ? ORDER BY at', RESOLUTIONS[resolution].stepMs, from, to)
      .map((r) => JSON.parse(r.point) as SeriesPoint);
  }
}

/** `metrics()` of one load balancer: totals and gauges of every watched origin, pool verdicts. */
export function lbMetrics(targets: Targets, health: (key: string) => OriginHealth | undefined, store: TrafficStore, now: number): LbMetrics {
  const usable = (poolId: string, origin: string) => healthUsable(health(keyOf(poolId, origin)), now);
  return {
    at: now,
    origins: targets.pools.flatMap(({ pool }) =>
      pool.origins.map((o) => {
        const key = keyOf(pool.id, o.name);
        const h = health(key);
        return {
          poolId: pool.id,
          origin: o.name,
          traffic: store.totals(key),
          healthy: usable(pool.id, o.name),
          ejected: !!h && h.ejectedUntil > now,
          probeRttMs: h && h.lastCheckAt && !h.failureReason ? h.rtt : null,
        };
      }),
    ),
    pools: targets.pools.map(({ pool }) => ({ poolId: pool.id, healthy: poolVerdict(pool, (p, i) => usable(p.id, p.origins[i]!.name)).healthy })),
    healthEvents: store.eventsLogged(),
  };
}
