/** Schema of the ConfigStore's SQLite database (see ../migrate.ts). Append, never edit. */
import { CERTIFICATES_MIGRATION } from './certificates.ts';

export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE resources (
     kind TEXT NOT NULL,
     id TEXT NOT NULL,
     body TEXT NOT NULL,
     position INTEGER NOT NULL,
     PRIMARY KEY (kind, id)
   );
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  CERTIFICATES_MIGRATION,
];
