/**
 * An open-loop load generator (after Gil Tene's wrk2): requests are scheduled at a constant rate
 * whatever the server does, and each latency is measured from the moment its request was
 * *scheduled*, not sent, so a stalled server is charged for every request it delayed (no
 * "coordinated omission").
 *
 * Why not autocannon's `overallRate`: each of its connections sends its per-second quota back to
 * back at the start of every second and then idles (lib/httpClient.js `reqsMadeThisSecond`), so
 * "50% load" is a saturated burst for half of each second, and its coordinated-omission
 * correction then assumes a 1 ms interval (`Math.ceil(1 / rate)`). Measured here: the
 * pass-through's p99 at "50%" was 84 ms against a 2 ms median.
 *
 * Requests go over an undici Pool of `connections` keep-alive connections; when all are busy,
 * later requests wait in the pool's queue, and that wait is part of their latency, as it would be
 * for real clients.
 */
import { build } from 'hdr-histogram-js';
import { Pool } from 'undici';

export interface OpenLoopOptions {
  /** Requests per second, scheduled evenly. */
  rate: number;
  seconds: number;
  connections: number;
  headers?: Record<string, string>;
  path?: string;
}

export interface OpenLoopResult {
  /** Completed requests per second. */
  rps: number;
  /** Latency from scheduled start to the end of the response body, ms. */
  p50: number;
  p99: number;
  p999: number;
  max: number;
  errors: number;
  non2xx: number;
}

/** Runs one open-loop load against `origin` (scheme://host:port); resolves when every scheduled request has ended. */
export async function openLoop(origin: string, opts: OpenLoopOptions): Promise<OpenLoopResult> {
  const pool = new Pool(origin, { connections: opts.connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const total = Math.round(opts.rate * opts.seconds);
  const interval = 1000 / opts.rate;
  let [sent, done, errors, non2xx] = [0, 0, 0, 0];
  const start = performance.now();
  let resolve!: () => void;
  const finished = new Promise<void>((r) => (resolve = r));
  const one = (scheduled: number) => {
    pool
      .request({ path: opts.path ?? '/', method: 'GET', headers: opts.headers })
      .then(async (res) => {
        await res.body.dump();
        if (res.statusCode < 200 || res.statusCode > 299) non2xx++;
      })
      .catch(() => errors++)
      .finally(() => {
        histogram.recordValue(Math.max(1, Math.round((performance.now() - scheduled) * 1000)));
        if (++done === total) resolve();
      });
  };
  // A 1 ms tick sends everything whose time has come (timers cannot fire every 1/rate ms).
  const tick = () => {
    const now = performance.now();
    while (sent < total && start + sent * interval <= now) one(start + sent++ * interval);
    if (sent < total) setTimeout(tick, 1);
  };
  tick();
  await finished;
  const elapsed = (performance.now() - start) / 1000;
  await pool.close();
  const ms = (q: number) => histogram.getValueAtPercentile(q) / 1000;
  return { rps: done / elapsed, p50: ms(50), p99: ms(99), p999: ms(99.9), max: histogram.maxValue / 1000, errors, non2xx };
}
