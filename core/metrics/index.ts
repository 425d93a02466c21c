/**
 * Traffic counts, the same shape at every step: an edge isolate counts attempts into them
 * (TrafficBatch), rides them on its outcome report (at most once a second per load balancer),
 * LbState adds them into totals and time-series points, and the Prometheus exposition reads them.
 * Every field is a sum, so counts from any number of isolates merge by adding (addInto).
 *
 * Latency is Prometheus' histogram: fixed `le` bounds (LATENCY_BOUNDS_MS), here stored per bucket
 * (not cumulative) so that adding two histograms is adding their arrays; the exposition makes the
 * buckets cumulative. What an attempt counts as:
 * - a response (any status): `codes[class - 1]` (1xx..5xx), latency to response headers (ms),
 *   `bytesReceived` += the response's Content-Length when present;
 * - no response: `connectErrors` (no connection, or it broke) or `timeouts` (no headers within
 *   per_try_timeout); no latency;
 * - every attempt: `bytesSent` += the request body's size when known (buffered, or Content-Length),
 *   `retries` += 1 when it is not the request's first attempt (Envoy's upstream_rq_retry, counted
 *   on the origin the retry went to).
 */

/** Upper bounds (ms, inclusive: Prometheus `le`) of the latency buckets; one more bucket above the last (+Inf). */
export const LATENCY_BOUNDS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
/** Buckets per histogram: one per bound, and +Inf. */
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;
/** Status classes counted: 1xx to 5xx (codes[0] is 1xx). */
export const CODE_CLASSES = 5;
/** `status` of an attempt that got no response: no connection, or no response headers within per_try_timeout. */
export const CONNECT_ERROR = -1;
export const TIMEOUT = -2;

/** One origin's (or a load balancer's) counts over some time. Units: ms, bytes. */
export interface TrafficCounts {
  /** Responses by status class: [1xx, 2xx, 3xx, 4xx, 5xx]. */
  codes: number[];
  connectErrors: number;
  timeouts: number;
  retries: number;
  /** Request body bytes sent to the origin, response body bytes received from it (Content-Length when present). */
  bytesSent: number;
  bytesReceived: number;
  /** Responses by latency bucket, not cumulative: [i] counts latencies in (LATENCY_BOUNDS_MS[i-1], LATENCY_BOUNDS_MS[i]]; the last is above every bound. */
  latency: number[];
  /** Sum of the responses' latencies (ms). */
  latencySumMs: number;
}

/** Counts of one origin of one pool, as reports carry them and LbState totals them. */
export interface OriginTraffic extends TrafficCounts {
  poolId: string;
  origin: string;
}

export function emptyCounts(): TrafficCounts {
  return {
    codes: new Array<number>(CODE_CLASSES).fill(0),
    connectErrors: 0,
    timeouts: 0,
    retries: 0,
    bytesSent: 0,
    bytesReceived: 0,
    latency: new Array<number>(LATENCY_BUCKETS).fill(0),
    latencySumMs: 0,
  };
}

/** The bucket of a latency (ms): the first bound it does not exceed, else the +Inf bucket. */
export function bucketOf(ms: number): number {
  let i = 0;
  while (i < LATENCY_BOUNDS_MS.length && ms > LATENCY_BOUNDS_MS[i]!) i++;
  return i;
}

/**
 * Counts one attempt into `c`: `status` of the response, or CONNECT_ERROR / TIMEOUT; `ms` to
 * response headers; `sent` / `received` body bytes (0 = unknown); `retry` when it is not the
 * request's first attempt. Allocates nothing (the hot path calls it once per attempt).
 */
export function countAttempt(c: TrafficCounts, status: number, ms: number, sent: number, received: number, retry: boolean): void {
  if (retry) c.retries++;
  c.bytesSent += sent;
  if (status === CONNECT_ERROR) c.connectErrors++;
  else if (status === TIMEOUT) c.timeouts++;
  else {
    const cls = Math.floor(status / 100);
    c.codes[cls >= 1 && cls <= CODE_CLASSES ? cls - 1 : CODE_CLASSES - 1]!++;
    c.latency[bucketOf(ms)]!++;
    c.latencySumMs += ms;
    c.bytesReceived += received;
  }
}

/** Adds `b` into `a` (histograms bucket by bucket); answers `a`. */
export function addInto(a: TrafficCounts, b: TrafficCounts): TrafficCounts {
  for (let i = 0; i < CODE_CLASSES; i++) a.codes[i]! += b.codes[i] ?? 0;
  for (let i = 0; i < LATENCY_BUCKETS; i++) a.latency[i]! += b.latency[i] ?? 0;
  a.connectErrors += b.connectErrors;
  a.timeouts += b.timeouts;
  a.retries += b.retries;
  a.bytesSent += b.bytesSent;
  a.bytesReceived += b.bytesReceived;
  a.latencySumMs += b.latencySumMs;
  return a;
}

/** Attempts counted: responses, connect errors and timeouts. */
export const attempts = (c: TrafficCounts): number => c.codes.reduce((n, x) => n + x, 0) + c.connectErrors + c.timeouts;
/** Failed attempts: 5xx responses, connect errors and timeouts. */
export const failures = (c: TrafficCounts): number => c.codes[CODE_CLASSES - 1]! + c.connectErrors + c.timeouts;

const COUNT_FIELDS = ['connectErrors', 'timeouts', 'retries', 'bytesSent', 'bytesReceived', 'latencySumMs'] as const;
const count = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

/**
 * Whether `x` is well-formed counts (an RPC payload is checked before it is added): arrays of the
 * right length and every number finite and not negative.
 */
export function isCounts(x: unknown): x is TrafficCounts {
  if (!x || typeof x !== 'object') return false;
  const c = x as Record<string, unknown>;
  const arr = (v: unknown, n: number) => Array.isArray(v) && v.length === n && v.every(count);
  return arr(c.codes, CODE_CLASSES) && arr(c.latency, LATENCY_BUCKETS) && COUNT_FIELDS.every((k) => count(c[k]));
}

/**
 * An isolate's counts for one load balancer until its next report: per pool object and origin
 * index, so counting an attempt allocates nothing once the origin has been seen. A config change
 * brings new pool objects; `drain` sums entries by pool id and origin name.
 */
export class TrafficBatch<P extends { id: string; origins: readonly { name: string }[] }> {
  readonly #pools = new Map<P, (TrafficCounts | undefined)[]>();

  /** countAttempt on origin `originIndex` of `pool`. */
  count(pool: P, originIndex: number, status: number, ms: number, sent: number, received: number, retry: boolean): void {
    let row = this.#pools.get(pool);
    if (!row) this.#pools.set(pool, (row = []));
    countAttempt((row[originIndex] ??= emptyCounts()), status, ms, sent, received, retry);
  }

  get empty(): boolean {
    return this.#pools.size === 0;
  }

  /** What was counted, one entry per pool id and origin name; the batch starts empty again. */
  drain(): OriginTraffic[] {
    const out = new Map<string, OriginTraffic>();
    for (const [pool, row] of this.#pools) {
      row.forEach((c, i) => {
        const origin = pool.origins[i]?.name;
        if (!c || origin === undefined) return;
        const key = `${pool.id}/${origin}`;
        const seen = out.get(key);
        if (seen) addInto(seen, c);
        else out.set(key, { poolId: pool.id, origin, ...c });
      });
    }
    this.#pools.clear();
    return [...out.values()];
  }
}
