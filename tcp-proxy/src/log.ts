/**
 * Structured logs: one JSON object per line on stdout (`ts` ISO 8601, `event`, then fields), so a
 * collector can parse them without patterns. Never given a secret: callers pass addresses, ids
 * and reasons only.
 */
export type Fields = Record<string, string | number | boolean | null | undefined>;
export type Log = (event: string, fields?: Fields) => void;

/** Events logged once per connection: these lines are held at most FLUSH_MS (or until FLUSH_BYTES) before a write. */
const PER_CONNECTION = new Set(['connection_closed']);
const FLUSH_MS = 50;
const FLUSH_BYTES = 64 * 1024;

export interface JsonLog extends Log {
  /** Writes what is held now (before process.exit: stdout on a file or pipe is written synchronously). */
  flush(): void;
}

/**
 * A logger writing to `out` (stdout by default). Per-connection lines go out together, at most
 * FLUSH_MS after the first of them (or at FLUSH_BYTES): one line per connection close would
 * otherwise be one write system call per connection. Any other event is written at once, after
 * what is held, so the order stands. What is held when the process dies unexpectedly is lost (at
 * most FLUSH_MS of connection lines); main.ts flushes before a normal exit.
 */
export function jsonLog(out: (text: string) => void = (t) => process.stdout.write(t)): JsonLog {
  let held = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (!held) return;
    const text = held;
    held = '';
    out(text);
  };
  const log = (event: string, fields: Fields = {}) => {
    held += JSON.stringify({ ts: new Date().toISOString(), event, ...fields }) + '\n';
    if (!PER_CONNECTION.has(event) || held.length >= FLUSH_BYTES) flush();
    else timer ??= setTimeout(flush, FLUSH_MS).unref();
  };
  return Object.assign(log, { flush });
}
