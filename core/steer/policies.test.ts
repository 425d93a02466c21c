import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MaglevPolicy, RandomPolicy, RendezvousPolicy, SmoothRoundRobinPolicy, FirstPolicy, LeastLoadPolicy, buildMaglev } from './policies.ts';
import { seeded } from './seeded.ts';

const all = () => true;
const names = (n: number) => Array.from({ length: n }, (_, i) => `origin-${i}`);

describe('smooth weighted round robin (nginx)', () => {
  it("produces nginx's sequence for weights 5, 1, 1", () => {
    const p = new SmoothRoundRobinPolicy([5, 1, 1]);
    const seq = Array.from({ length: 7 }, () => 'abc'[p.first({ random: Math.random }, all)]).join('');
    expect(seq).toBe('aabacaa');
  });

  it('matches the textbook O(n) loop for any weights, over more than a period', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 9 }), (units) => {
        const weights = units.map((u) => u / 10);
        const p = new SmoothRoundRobinPolicy(weights);
        const ref = nginxLoop(units);
        const steps = 3 * units.reduce((a, b) => a + b, 0) + 5;
        for (let k = 0; k < steps; k++) expect(p.first({ random: Math.random }, all)).toBe(ref());
      }),
      { numRuns: 200, seed: 20261121 },
    );
  });

  it('skips a refused origin: the others keep their exact weighted shares', () => {
    const p = new SmoothRoundRobinPolicy([3, 2, 1]);
    const counts = [0, 0, 0];
    for (let k = 0; k < 400; k++) counts[p.first({ random: Math.random }, (i) => i !== 1)]!++;
    expect(counts).toEqual([300, 0, 100]);
    expect(p.first({ random: Math.random }, () => false)).toBe(-1);
  });
});

/** nginx's loop as written in ngx_http_upstream_get_peer: every peer gains its weight, the largest pays the total. */
function nginxLoop(weights: number[]): () => number {
  const current = weights.map(() => 0);
  return () => {
    let best = -1;
    let total = 0;
    weights.forEach((w, i) => {
      if (w <= 0) return;
      current[i]! += w;
      total += w;
      if (best < 0 || current[i]! > current[best]!) best = i;
    });
    if (best >= 0) current[best]! -= total;
    return best;
  };
}

describe('weighted random', () => {
  it('keeps shares within a chi-square bound (p > 0.001)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.05, max: 1, noNaN: true }), { minLength: 2, maxLength: 6 }), fc.integer(), (weights, seed) => {
        const p = new RandomPolicy(weights);
        const ctx = { random: seeded(seed) };
        const N = 6000;
        const counts = new Array(weights.length).fill(0);
        for (let k = 0; k < N; k++) counts[p.first(ctx, all)]++;
        const total = weights.reduce((a, b) => a + b, 0);
        const chi2 = weights.reduce((s, w, i) => s + (counts[i] - (N * w) / total) ** 2 / ((N * w) / total), 0);
        const critical = [0, 10.83, 13.82, 16.27, 18.47, 20.52][weights.length - 1]!; // p = 0.001
        expect(chi2).toBeLessThan(critical);
      }),
      { numRuns: 25, seed: 20261121 },
    ); // statistical: a fixed seed keeps the 0.1% false alarm out of CI
  });
});

describe('consistent hashing', () => {
  for (const [label, make] of [
    ['maglev', (w: number[], n: string[]) => new MaglevPolicy(w, n)],
    ['rendezvous', (w: number[], n: string[]) => new RendezvousPolicy(w, n)],
  ] as const) {
    it(`${label}: when one of N origins leaves, at most 1/N of keys (+ margin) move`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 3, max: 12 }), fc.nat(), (n, leaveSeed) => {
          const leave = leaveSeed % n;
          const w = new Array(n).fill(1);
          const before = make(w, names(n));
          const after = make(
            w.map((x, i) => (i === leave ? 0 : x)),
            names(n),
          );
          let moved = 0;
          const keys = 3000;
          for (let k = 0; k < keys; k++) {
            const key = `client-${k}`;
            if (before.first({ random: Math.random, key }, all) !== after.first({ random: Math.random, key }, all)) moved++;
          }
          expect(moved / keys).toBeLessThanOrEqual(1 / n + 0.03);
        }),
        { numRuns: 15, seed: 20261121 },
      );
    });

    it(`${label}: the same key always reaches the same origin`, () => {
      const p = make([1, 1, 1, 1], names(4));
      const pick = () => p.first({ random: Math.random, key: '203.0.113.7' }, all);
      expect(new Set(Array.from({ length: 50 }, pick)).size).toBe(1);
    });
  }

  it('maglev: max/mean load at most 1.05 over the table', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 200 }), (n) => {
        const table = buildMaglev(new Array(n).fill(1), names(n), 65537);
        const counts = new Array(n).fill(0);
        for (const i of table) counts[i]++;
        expect(Math.max(...counts) / (table.length / n)).toBeLessThanOrEqual(1.05);
      }),
      { numRuns: 20, seed: 20261121 },
    );
  });

  it('maglev: weighted shares follow weights', () => {
    const table = buildMaglev([1, 0.5, 0.25], names(3), 65537);
    const counts = [0, 0, 0];
    for (const i of table) counts[i]!++;
    expect(counts.map((c) => +(c / table.length).toFixed(2))).toEqual([0.57, 0.29, 0.14]);
  });
});

describe('least load (power of two choices)', () => {
  it('prefers the origin with fewer requests under way, per weight', () => {
    const p = new LeastLoadPolicy([1, 1], 'requests');
    const stats = { outstanding: (i: number) => (i === 0 ? 10 : 0), latencyMs: () => undefined };
    const picks = Array.from({ length: 200 }, (_, k) => p.first({ random: seeded(k), stats }, all));
    expect(picks.filter((i) => i === 1).length).toBeGreaterThan(140); // picked whenever sampled
  });

  it('least_response_time prefers the faster origin', () => {
    const p = new LeastLoadPolicy([1, 1, 1], 'response_time');
    const stats = { outstanding: () => 0, latencyMs: (i: number) => [50, 5, 80][i] };
    const picks = Array.from({ length: 300 }, (_, k) => p.first({ random: seeded(k), stats }, all));
    expect(picks.filter((i) => i === 1).length).toBeGreaterThan(150);
    expect(picks.filter((i) => i === 2).length).toBeLessThan(40);
  });
});

describe('first', () => {
  it('takes the first usable origin in order', () => {
    const p = new FirstPolicy([1, 1, 1]);
    expect(p.first({ random: Math.random }, (i) => i !== 0)).toBe(1);
    expect([...p.rest({ random: Math.random }, all, 0)]).toEqual([1, 2]);
  });
});
