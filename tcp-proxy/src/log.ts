/**
 * Structured logs: one JSON object per line on stdout (`ts` ISO 8601, `event`, then fields), so a
 * collector can parse them without patterns. Never given a secret: callers pass addresses, ids
 * and reasons only.
 */
export type Fields = Record<string, string | number | boolean | null | undefined>;
export type Log = (event: string, fields?: Fields) => void;

/** A logger writing to `out` (stdout by default). */
export function jsonLog(out: (line: string) => void = (l) => process.stdout.write(l)): Log {
  return (event, fields = {}) => out(JSON.stringify({ ts: new Date().toISOString(), event, ...fields }) + '\n');
}
