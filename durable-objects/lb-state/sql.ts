/**
 * LbState's way to its SQLite database: `exec` that counts rows written. The count is
 * SqlStorageCursor.rowsWritten summed, what Cloudflare bills: a table row and each index row it
 * touches count one each (an UPDATE of unindexed columns is 1; an INSERT into a table with a
 * composite primary key is 2).
 */
export type Row = Record<string, SqlStorageValue>;

export class Sql {
  /** Rows written through this wrapper since the instance started (not persisted). */
  rowsWritten = 0;

  readonly raw: SqlStorage;

  constructor(raw: SqlStorage) {
    this.raw = raw;
  }

  /** Runs a write (INSERT, UPDATE, DELETE); answers the rows it wrote. */
  run(query: string, ...bindings: SqlStorageValue[]): number {
    const cursor = this.raw.exec(query, ...bindings);
    cursor.toArray(); // a write without RETURNING is done at once; this drains any rows
    this.rowsWritten += cursor.rowsWritten;
    return cursor.rowsWritten;
  }

  /** Every row a statement answers (a read, or a write with RETURNING). */
  all<T extends Row>(query: string, ...bindings: SqlStorageValue[]): T[] {
    const cursor = this.raw.exec<T>(query, ...bindings);
    const rows = cursor.toArray();
    this.rowsWritten += cursor.rowsWritten;
    return rows;
  }

  /** The first row of a read, if any (a read only: what a write would write after it is not counted). */
  first<T extends Row>(query: string, ...bindings: SqlStorageValue[]): T | undefined {
    const next = this.raw.exec<T>(query, ...bindings).next();
    return next.done ? undefined : next.value;
  }
}
