/** Schema of an LbState's SQLite database (see ../migrate.ts). Append, never edit. */
import { migrate as run } from '../migrate.ts';

const MIGRATIONS: readonly string[] = [
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
];

export const migrate = (sql: SqlStorage) => run(sql, MIGRATIONS);
