/**
 * Structured logs: one JSON object per line on stdout (`ts` ISO 8601, `event`, then fields), so a
 * collector can parse them without patterns. Never given a secret: callers pass addresses, ids
 * and reasons only.
 */
export type Fields = Record<string, string | number | boolean | null | undefined>;
export type Log = (event: string, fields?: Fields) => void;

/** Lines held before a write; past this many bytes they are written at once. */
const FLUSH_BYTES = 64 * 1024;

export interface JsonLog extends Log {
  /** Writes what is held now (before process.exit: stdout on a file or pipe is written synchronously). */
  flush(): void;
}

/**
 * A logger writing to `out` (stdout by default). Lines logged in one turn of the event loop go out
 * in one write, at the next setImmediate (or at FLUSH_BYTES): one line per connection close would
 * otherwise be one write system call per connection, a tenth of what a connection costs.
 */
export function jsonLog(out: (text: string) => void = (t) => process.stdout.write(t)): JsonLog {
  let held = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (!held) return;
    const text = held;
    held = '';
    out(text);
  };
  const log = (event: string, fields: Fields = {}) => {
    held += JSON.stringify({ ts: new Date().toISOString(), event, ...fields }) + '\n';
    if (held.length >= FLUSH_BYTES) flush();
    else if (!scheduled) ((scheduled = true), setImmediate(flush));
  };
  return Object.assign(log, { flush });
}
