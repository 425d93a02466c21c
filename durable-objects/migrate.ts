/**
 * SQLite schema migrations for Durable Objects, applied in order inside `blockConcurrencyWhile`;
 * `schema_migrations` records which ran. Append to a class's list, never edit an entry.
 */
export function migrate(sql: SqlStorage, migrations: readonly string[]): number {
  sql.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const done = Number(sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM schema_migrations').one().n);
  for (let i = done; i < migrations.length; i++) {
    sql.exec(migrations[i]!);
    sql.exec('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)', i + 1, new Date().toISOString());
  }
  return migrations.length;
}
