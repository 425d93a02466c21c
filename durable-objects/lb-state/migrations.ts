/**
 * Schema of an LbState's SQLite database (see ../migrate.ts). Append, never edit. Times are epoch ms.
 * - origin_health: one row per (pool, origin); `verdict` and `ejected_until` are columns, the rest
 *   of core/health's OriginHealth is JSON in `state`; `total` counts requests edges reported.
 * - schedule (kind, key, due_at, attempts): the jobs the alarm runs (schedule.ts).
 * - outbox: health events waiting for one subscriber each (outbox.ts).
 * - health_events: the event log; meta: targets, version, counters; affinity: header sessions;
 *   latency: published dynamic_latency figures (ms); dns: DNS failover's state (dns.ts);
 *   traffic_totals, traffic_series: traffic metrics (metrics.ts).
 */
import { migrate as run } from '../migrate.ts';

export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE origin_health (
     pool_id TEXT NOT NULL,
     origin TEXT NOT NULL,
     state TEXT NOT NULL,
     next_probe_at INTEGER NOT NULL,
     total INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (pool_id, origin)
   );
   CREATE TABLE health_events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     pool_id TEXT NOT NULL,
     origin TEXT NOT NULL,
     from_state TEXT NOT NULL,
     to_state TEXT NOT NULL,
     reason TEXT NOT NULL
   );
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  `CREATE TABLE affinity (
     key TEXT PRIMARY KEY,
     pool_id TEXT NOT NULL,
     origin TEXT NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX affinity_expiry ON affinity (expires_at);`,
  // Verdict and ejection time become columns (the rest of the record stays JSON in `state`);
  // probe due times move to the schedule (key "<pool id>/<origin>"; pool ids have no "/").
  `ALTER TABLE origin_health ADD COLUMN verdict TEXT NOT NULL DEFAULT 'unknown';
   ALTER TABLE origin_health ADD COLUMN ejected_until INTEGER NOT NULL DEFAULT 0;
   UPDATE origin_health SET
     verdict = coalesce(json_extract(state, '$.verdict'), 'unknown'),
     ejected_until = coalesce(json_extract(state, '$.ejectedUntil'), 0);
   CREATE TABLE schedule (
     kind TEXT NOT NULL,
     key TEXT NOT NULL,
     due_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (kind, key)
   ) WITHOUT ROWID;
   CREATE INDEX schedule_due ON schedule (due_at);
   INSERT INTO schedule (kind, key, due_at)
     SELECT 'probe', pool_id || '/' || origin, CAST(next_probe_at AS INTEGER) + (next_probe_at > CAST(next_probe_at AS INTEGER))
     FROM origin_health WHERE next_probe_at >= 0;
   ALTER TABLE origin_health DROP COLUMN next_probe_at;
   CREATE TABLE outbox (
     id INTEGER PRIMARY KEY,
     subscriber TEXT NOT NULL,
     event TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     due_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     last_error TEXT NOT NULL DEFAULT ''
   );
   CREATE INDEX outbox_by_subscriber ON outbox (subscriber, id);
   CREATE TABLE latency (
     place TEXT NOT NULL,
     pool_id TEXT NOT NULL,
     ms REAL NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (place, pool_id)
   ) WITHOUT ROWID;`,
  // DNS failover (dns.ts): one row, key 'state', JSON of where our records are, what was
  // published, the last run, success and error.
  `CREATE TABLE dns (key TEXT PRIMARY KEY, state TEXT NOT NULL);`,
  // Traffic metrics (metrics.ts): totals per origin since creation (core/metrics TrafficCounts as
  // JSON), and the series as two rings of rows (res = step in ms; slot = interval number mod points).
  `CREATE TABLE traffic_totals (
     pool_id TEXT NOT NULL,
     origin TEXT NOT NULL,
     counts TEXT NOT NULL,
     PRIMARY KEY (pool_id, origin)
   ) WITHOUT ROWID;
   CREATE TABLE traffic_series (
     res INTEGER NOT NULL,
     slot INTEGER NOT NULL,
     at INTEGER NOT NULL,
     point TEXT NOT NULL,
     PRIMARY KEY (res, slot)
   ) WITHOUT ROWID;`,
];

export const migrate = (sql: SqlStorage) => run(sql, MIGRATIONS);
