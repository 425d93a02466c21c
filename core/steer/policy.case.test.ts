/**
 * The contract every origin steering policy passes (Hono's router tests, unstorage's driver
 * tests): never an unusable origin when a usable one exists, every usable origin exactly once
 * across first + rest, never a zero weight, deterministic for a fixed seed and key.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FirstPolicy, LeastLoadPolicy, MaglevPolicy, RandomPolicy, RendezvousPolicy, SmoothRoundRobinPolicy } from './policies.ts';
import type { DecisionContext, OriginPolicy } from './policy.ts';
import { seeded } from './seeded.ts';

export const POLICIES: Record<string, (weights: number[], names: string[]) => OriginPolicy> = {
  random: (w) => new RandomPolicy(w),
  round_robin: (w) => new SmoothRoundRobinPolicy(w),
  maglev: (w, n) => new MaglevPolicy(w, n, 1031),
  rendezvous: (w, n) => new RendezvousPolicy(w, n),
  least_outstanding_requests: (w) => new LeastLoadPolicy(w, 'requests'),
  least_response_time: (w) => new LeastLoadPolicy(w, 'response_time'),
  first: (w) => new FirstPolicy(w),
};

const ctxOf = (seed: number, key: string): DecisionContext => ({
  random: seeded(seed),
  key,
  stats: { outstanding: (i) => (i * 7) % 3, latencyMs: (i) => (i % 2 ? 10 + i : undefined) },
});

const pools = fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0.01, max: 1, noNaN: true })), { minLength: 1, maxLength: 12 });

for (const [name, make] of Object.entries(POLICIES)) {
  describe(`origin policy contract: ${name}`, () => {
    it('returns only accepted, positive-weight origins, each once, and all of them across first + rest', () => {
      fc.assert(
        fc.property(pools, fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), fc.integer(), fc.string(), (weights, mask, seed, key) => {
          const names = weights.map((_, i) => `o${i}`);
          const policy = make(weights, names);
          const accept = (i: number) => mask[i]!;
          const expected = weights.flatMap((w, i) => (w > 0 && mask[i] ? [i] : []));
          const ctx = ctxOf(seed, key);
          const first = policy.first(ctx, accept);
          if (!expected.length) {
            expect(first).toBe(-1);
            return;
          }
          const all = [first, ...policy.rest(ctx, accept, first)];
          expect([...all].sort((a, b) => a - b)).toEqual(expected);
        }),
      );
    });

    it('is deterministic for a fixed seed and key', () => {
      const weights = [1, 0.5, 0.25, 1, 0];
      const names = weights.map((_, i) => `o${i}`);
      const run = () => {
        const policy = make(weights, names);
        const ctx = ctxOf(42, 'client-1');
        return Array.from({ length: 20 }, () => policy.first(ctx, () => true));
      };
      expect(run()).toEqual(run());
    });
  });
}
