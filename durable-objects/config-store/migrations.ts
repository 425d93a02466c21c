/**
 * Schema migrations of the ConfigStore's SQLite database, applied in order inside
 * `blockConcurrencyWhile`; `schema_migrations` records which ran. Append, never edit.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE resources (
     kind TEXT NOT NULL,
     id TEXT NOT NULL,
     body TEXT NOT NULL,
     position INTEGER NOT NULL,
     PRIMARY KEY (kind, id)
   );
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
];

export function migrate(sql: SqlStorage, migrations: readonly string[] = MIGRATIONS): number {
  sql.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const done = Number(sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM schema_migrations').one().n);
  for (let i = done; i < migrations.length; i++) {
    sql.exec(migrations[i]!);
    sql.exec('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)', i + 1, new Date().toISOString());
  }
  return migrations.length;
}
