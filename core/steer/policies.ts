/**
 * The origin steering policies. Weights are the origins' `weight` (0 = no traffic; disabled or
 * draining origins come in as 0). Each policy follows the named system's semantics:
 * - random: weighted random (Cloudflare's `random`).
 * - round_robin: smooth weighted round robin, nginx's algorithm (ngx_http_upstream_round_robin.c).
 * - hash / consistent: Maglev (Eisenbud et al., NSDI 2016; Envoy's weighted variant) or weighted
 *   rendezvous hashing (Thaler & Ravishankar 1998; Resch's weighted score w / -ln(u)).
 * - least_outstanding_requests / least_connections: Envoy's least request, power of two choices
 *   (Mitzenmacher 2001) on (outstanding + 1) / weight. Workers see requests, not connections, so
 *   least_connections counts requests under way too.
 * - least_response_time: power of two choices on EWMA latency x (outstanding + 1) / weight
 *   (nginx plus `least_time` in spirit); an origin with no sample yet scores 0, so it gets tried.
 * - first: the first usable origin in list order (HAProxy `first`).
 */
import { WeightedSelector } from '../select/weighted.ts';
import { fmix32, hash32 } from './hash.ts';
import { scanFrom, weightedRest, type DecisionContext, type OriginPolicy } from './policy.ts';

export class RandomPolicy implements OriginPolicy {
  readonly weights: readonly number[];
  readonly #selector: WeightedSelector;
  constructor(weights: readonly number[]) {
    this.weights = weights;
    this.#selector = new WeightedSelector(weights);
  }
  first(ctx: DecisionContext, accept: (i: number) => boolean): number {
    const i = this.#selector.pick(ctx.random());
    if (i >= 0 && accept(i)) return i;
    return weightedRest(this.weights, ctx, accept, -1).next().value ?? -1;
  }
  rest(ctx: DecisionContext, accept: (i: number) => boolean, first: number): Iterable<number> {
    return weightedRest(this.weights, ctx, accept, first);
  }
}

/**
 * nginx's smooth weighted round robin (ngx_http_upstream_get_peer), computed per weight class.
 * After t picks nginx's current_weight of origin i is t·w_i − T·c_i (T the total weight, c_i the
 * picks of i), and ties go to the lower index. Within a class of equal weight that maximum is the
 * member with the fewest picks, lowest index first, so members take turns in list order and a
 * decision compares one candidate per distinct weight: O(classes), not O(origins).
 *
 * Weights are taken in steps of 1e-4 (Cloudflare's are in 0.01 steps) and reduced by their gcd,
 * so the sequence repeats exactly every T picks. An origin that `accept` refuses loses its turn:
 * the others keep their exact weighted shares (nginx instead re-interleaves without it). After
 * `origins` refused turns in a row the list is scanned instead.
 */
export class SmoothRoundRobinPolicy implements OriginPolicy {
  readonly weights: readonly number[];
  readonly #classes: { weight: number; members: number[]; picks: number }[];
  readonly #total: number;
  readonly #live: number;
  #t = 0;
  constructor(weights: readonly number[]) {
    this.weights = weights;
    const units = weights.map((w) => (w > 0 ? Math.max(1, Math.round(w * 1e4)) : 0));
    const g = units.reduce((a, u) => (u ? gcd(a, u) : a), 0) || 1;
    const byWeight = new Map<number, number[]>();
    units.forEach((u, i) => {
      if (!u) return;
      const members = byWeight.get(u / g);
      if (members) members.push(i);
      else byWeight.set(u / g, [i]);
    });
    this.#classes = [...byWeight].map(([weight, members]) => ({ weight, members, picks: 0 }));
    this.#total = this.#classes.reduce((s, c) => s + c.weight * c.members.length, 0);
    this.#live = units.filter((u) => u > 0).length;
  }
  /** The next origin in nginx's sequence (every positive-weight origin taking part). */
  #next(): number {
    const t = ++this.#t;
    let best: { weight: number; members: number[]; picks: number } | undefined;
    let bestCurrent = 0;
    let bestIndex = 0;
    for (const c of this.#classes) {
      const index = c.members[c.picks % c.members.length]!;
      const current = t * c.weight - this.#total * Math.floor(c.picks / c.members.length);
      if (!best || current > bestCurrent || (current === bestCurrent && index < bestIndex)) [best, bestCurrent, bestIndex] = [c, current, index];
    }
    best!.picks++;
    if (t === this.#total) {
      // A full period: every class is back where it started (c_i = w_i for all i).
      this.#t = 0;
      for (const c of this.#classes) c.picks = 0;
    }
    return bestIndex;
  }
  first(_ctx: DecisionContext, accept: (i: number) => boolean): number {
    for (let k = 0; k < this.#live; k++) {
      const i = this.#next();
      if (accept(i)) return i;
    }
    return scanFrom(this.weights, 0, accept);
  }
  *rest(_ctx: DecisionContext, accept: (i: number) => boolean, first: number): Iterable<number> {
    // Retries walk the list from the next origin: cheap, deterministic, never the same one twice.
    for (let k = 1; k < this.weights.length; k++) {
      const i = (first + k) % this.weights.length;
      if (this.weights[i]! > 0 && accept(i)) yield i;
    }
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Maglev lookup table: every entry names an origin; shares follow weights within ~1%. */
export class MaglevPolicy implements OriginPolicy {
  readonly weights: readonly number[];
  readonly table: Int32Array;
  constructor(weights: readonly number[], names: readonly string[], size = 65537) {
    this.weights = weights;
    this.table = buildMaglev(weights, names, size);
  }
  first(ctx: DecisionContext, accept: (i: number) => boolean): number {
    if (!this.table.length) return -1;
    const start = hash32(ctx.key ?? '') % this.table.length;
    for (let k = 0; k < this.table.length; k++) {
      const i = this.table[(start + k) % this.table.length]!;
      if (accept(i)) return i;
    }
    return -1;
  }
  *rest(ctx: DecisionContext, accept: (i: number) => boolean, first: number): Iterable<number> {
    if (!this.table.length) return;
    const seen = new Set([first]);
    const start = hash32(ctx.key ?? '') % this.table.length;
    for (let k = 0; k < this.table.length && seen.size <= this.weights.length; k++) {
      const i = this.table[(start + k) % this.table.length]!;
      if (!seen.has(i)) {
        seen.add(i);
        if (accept(i)) yield i;
      }
    }
  }
}

/**
 * Builds a Maglev table of prime `size` (Eisenbud et al. §3.4), weighted as Envoy does: in each
 * round an origin places an entry only while its count is below round × weight / max weight.
 */
export function buildMaglev(weights: readonly number[], names: readonly string[], size: number): Int32Array {
  const table = new Int32Array(size).fill(-1);
  const live = weights.map((w, i) => (w > 0 ? i : -1)).filter((i) => i >= 0);
  if (!live.length) return new Int32Array(0);
  const maxW = Math.max(...live.map((i) => weights[i]!));
  const offset = live.map((i) => hash32(names[i]!, 0x9e3779b9) % size);
  const skip = live.map((i) => (hash32(names[i]!, 0x85ebca6b) % (size - 1)) + 1);
  const next = new Array<number>(live.length).fill(0);
  const placed = new Array<number>(live.length).fill(0);
  let filled = 0;
  for (let round = 1; filled < size; round++) {
    for (let k = 0; k < live.length && filled < size; k++) {
      if (placed[k]! >= (round * weights[live[k]!]!) / maxW) continue;
      let c = (offset[k]! + next[k]! * skip[k]!) % size;
      while (table[c] !== -1) {
        next[k]! += 1;
        c = (offset[k]! + next[k]! * skip[k]!) % size;
      }
      table[c] = live[k]!;
      next[k]! += 1;
      placed[k]! += 1;
      filled++;
    }
  }
  return table;
}

/**
 * Weighted rendezvous hashing: origin i scores w_i / −ln(u_i) for the key (u_i uniform from
 * hash(key, origin)), the highest wins. Computed as the lowest t_i = −ln(u_i) / w_i, and since
 * −ln(u) ≥ 1 − u, an origin whose bound (1 − u_i) / w_i is already no better than the best so far
 * is skipped without its logarithm or its health check: at 1,000 origins a decision takes a few
 * dozen logarithms instead of 1,000.
 */
export class RendezvousPolicy implements OriginPolicy {
  readonly weights: readonly number[];
  readonly #seeds: Uint32Array;
  readonly #inverse: Float64Array;
  constructor(weights: readonly number[], names: readonly string[]) {
    this.weights = weights;
    this.#seeds = Uint32Array.from(names, (n) => hash32(n, 0x27d4eb2d));
    this.#inverse = Float64Array.from(weights, (w) => (w > 0 ? 1 / w : Infinity));
  }
  /** u_i in (0, 1) for the key: fmix32 of key hash ^ origin seed. */
  #u(keyHash: number, i: number): number {
    return (fmix32(keyHash ^ this.#seeds[i]!) + 0.5) / 4294967296;
  }
  first(ctx: DecisionContext, accept: (i: number) => boolean): number {
    const k = hash32(ctx.key ?? '');
    const inverse = this.#inverse;
    const seeds = this.#seeds;
    let best = -1;
    let bestT = Infinity;
    for (let i = 0; i < seeds.length; i++) {
      // fmix32 inlined: this loop is the whole cost of a decision, and the call measured ~8% slower.
      let h = k ^ seeds[i]!;
      h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
      const u = (((h ^ (h >>> 16)) >>> 0) + 0.5) / 4294967296;
      if ((1 - u) * inverse[i]! >= bestT) continue;
      const t = -Math.log(u) * inverse[i]!;
      if (t < bestT && accept(i)) {
        best = i;
        bestT = t;
      }
    }
    return best;
  }
  rest(ctx: DecisionContext, accept: (i: number) => boolean, first: number): Iterable<number> {
    const k = hash32(ctx.key ?? '');
    const ranked: [number, number][] = [];
    for (let i = 0; i < this.weights.length; i++)
      if (i !== first && this.weights[i]! > 0 && accept(i)) ranked.push([-Math.log(this.#u(k, i)) * this.#inverse[i]!, i]);
    return ranked.sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
  }
}

/** Power of two choices on a load score; lower wins. */
export class LeastLoadPolicy implements OriginPolicy {
  readonly weights: readonly number[];
  readonly by: 'requests' | 'response_time';
  readonly #selector: WeightedSelector;
  constructor(weights: readonly number[], by: 'requests' | 'response_time') {
    this.weights = weights;
    this.by = by;
    this.#selector = new WeightedSelector(weights.map((w) => (w > 0 ? 1 : 0)));
  }
  #score(ctx: DecisionContext, i: number): number {
    const outstanding = (ctx.stats?.outstanding(i) ?? 0) + 1;
    const load = this.by === 'requests' ? outstanding : (ctx.stats?.latencyMs(i) ?? 0) * outstanding;
    return load / this.weights[i]!;
  }
  first(ctx: DecisionContext, accept: (i: number) => boolean): number {
    let a = this.#selector.pick(ctx.random());
    let b = this.#selector.pick(ctx.random());
    if (a < 0 || !accept(a)) a = weightedRest(this.weights, ctx, accept, -1).next().value ?? -1;
    if (b < 0 || !accept(b)) b = a;
    if (a < 0) return -1;
    return this.#score(ctx, b) < this.#score(ctx, a) ? b : a;
  }
  rest(ctx: DecisionContext, accept: (i: number) => boolean, first: number): Iterable<number> {
    const left: number[] = [];
    for (let i = 0; i < this.weights.length; i++) if (i !== first && this.weights[i]! > 0 && accept(i)) left.push(i);
    return left.sort((x, y) => this.#score(ctx, x) - this.#score(ctx, y));
  }
}

export class FirstPolicy implements OriginPolicy {
  readonly weights: readonly number[];
  constructor(weights: readonly number[]) {
    this.weights = weights;
  }
  first(_ctx: DecisionContext, accept: (i: number) => boolean): number {
    return scanFrom(this.weights, 0, accept);
  }
  *rest(_ctx: DecisionContext, accept: (i: number) => boolean, first: number): Iterable<number> {
    for (let i = first + 1; i < this.weights.length; i++) if (this.weights[i]! > 0 && accept(i)) yield i;
  }
}
