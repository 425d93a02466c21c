/**
 * Origin steering: one interface, several policies (pingora's selection: a policy returns ordered
 * candidates, health filters them through `accept`). A policy is built once per pool per config
 * version; per-request inputs come in a DecisionContext.
 */
/**
 * Weight of one sample in every exponentially weighted moving average of latency: per-origin
 * response time (least_response_time) and per-pool latency (dynamic_latency). Cloudflare's
 * dynamic latency is an EWMA too.
 */
export const EWMA_ALPHA = 0.3;

export interface LoadStats {
  /** Requests under way to origin `i` of the pool, from this isolate. */
  outstanding(i: number): number;
  /** Exponentially weighted response time (ms) of origin `i`, or undefined with no sample yet. */
  latencyMs(i: number): number | undefined;
}

export interface DecisionContext {
  /** Uniform numbers in [0, 1). */
  random: () => number;
  /** The hash key of the request (client IP, URI, header or cookie value) for hash policies. */
  key?: string;
  stats?: LoadStats;
}

export interface OriginPolicy {
  /** The first candidate among accepted origins with weight > 0, or -1 when none. O(1)-ish: the hot path. */
  first(ctx: DecisionContext, accept: (i: number) => boolean): number;
  /** Every accepted origin with weight > 0 after `first`, distinct, in attempt order (retries only). */
  rest(ctx: DecisionContext, accept: (i: number) => boolean, first: number): Iterable<number>;
}

/** Accepted, positive-weight indices other than `first`, in weighted random order (a shared fallback for `rest`). */
export function* weightedRest(weights: readonly number[], ctx: DecisionContext, accept: (i: number) => boolean, first: number): Generator<number> {
  const left: number[] = [];
  for (let i = 0; i < weights.length; i++) if (i !== first && weights[i]! > 0 && accept(i)) left.push(i);
  let total = left.reduce((s, i) => s + weights[i]!, 0);
  while (left.length) {
    let target = ctx.random() * total;
    let k = 0;
    while (k < left.length - 1 && target >= weights[left[k]!]!) target -= weights[left[k++]!]!;
    const [index] = left.splice(k, 1) as [number];
    total -= weights[index]!;
    yield index;
  }
}

/** The first accepted positive-weight index scanning from `start` (wrapping), or -1. */
export function scanFrom(weights: readonly number[], start: number, accept: (i: number) => boolean): number {
  const n = weights.length;
  for (let k = 0; k < n; k++) {
    const i = (start + k) % n;
    if (weights[i]! > 0 && accept(i)) return i;
  }
  return -1;
}
