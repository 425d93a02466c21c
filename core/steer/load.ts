/**
 * Per-isolate load of each pool's origins, for the least_* policies: requests under way and an
 * exponentially weighted moving average of response time (time to response headers, ms).
 * Indices are origin positions in the pool; a pool whose origin count changes starts afresh.
 */
import { EWMA_ALPHA, type LoadStats } from './policy.ts';

class PoolLoad implements LoadStats {
  readonly inFlight: Int32Array;
  readonly ewma: Float64Array;
  constructor(size: number) {
    this.inFlight = new Int32Array(size);
    this.ewma = new Float64Array(size).fill(-1);
  }
  outstanding(i: number): number {
    return this.inFlight[i] ?? 0;
  }
  latencyMs(i: number): number | undefined {
    const v = this.ewma[i] ?? -1;
    return v < 0 ? undefined : v;
  }
}

export class LoadTracker {
  readonly #pools = new Map<string, PoolLoad>();

  /** The stats of `poolId` with `size` origins. */
  stats(poolId: string, size: number): PoolLoad {
    let p = this.#pools.get(poolId);
    if (!p || p.inFlight.length !== size) this.#pools.set(poolId, (p = new PoolLoad(size)));
    return p;
  }

  /** Requests under way to any origin of `poolId` (pool steering by least requests). */
  poolOutstanding(poolId: string): number {
    const p = this.#pools.get(poolId);
    if (!p) return 0;
    let n = 0;
    for (const v of p.inFlight) n += v;
    return n;
  }

  start(poolId: string, size: number, i: number): void {
    this.stats(poolId, size).inFlight[i]! += 1;
  }

  /** Ends a request; `latencyMs` undefined when it failed (the average is left alone). */
  end(poolId: string, size: number, i: number, latencyMs?: number): void {
    const p = this.stats(poolId, size);
    p.inFlight[i] = Math.max(0, p.inFlight[i]! - 1);
    if (latencyMs === undefined) return;
    const prev = p.ewma[i]!;
    p.ewma[i] = prev < 0 ? latencyMs : prev + EWMA_ALPHA * (latencyMs - prev);
  }
}
