import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { markRanks, nextRank, PrefixTrie, rankSet } from './ranks.ts';

const ranksOf = (bits: Uint32Array) => {
  const out: number[] = [];
  for (let r = nextRank(bits, 0); r >= 0; r = nextRank(bits, r + 1)) out.push(r);
  return out;
};

describe('rank sets', () => {
  it('yield the ranks marked, ascending and once each, across word boundaries', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }).chain((n) => fc.tuple(fc.constant(n), fc.array(fc.integer({ min: 0, max: n - 1 })))),
        ([n, ranks]) => {
          const bits = rankSet(n);
          markRanks(bits, ranks);
          expect(ranksOf(bits)).toEqual([...new Set(ranks)].sort((a, b) => a - b));
        },
      ),
      { numRuns: 1000 },
    );
    const bits = rankSet(96);
    markRanks(bits, [0, 31, 32, 63, 95]);
    expect([nextRank(bits, 1), nextRank(bits, 32), nextRank(bits, 33), nextRank(bits, 64), nextRank(bits, 96)]).toEqual([31, 32, 63, 95, -1]);
  });
});

describe('PrefixTrie', () => {
  it('marks exactly the ranks of the prefixes a string starts with (edges split and shared)', () => {
    const text = fc.array(fc.constantFrom('a', 'b', '/', 'ab', 'é'), { maxLength: 5 }).map((p) => p.join(''));
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 30 }), fc.array(text, { minLength: 1, maxLength: 10 }), (prefixes, strings) => {
        const trie = new PrefixTrie();
        prefixes.forEach((p, rank) => trie.add(p, rank));
        for (const s of strings) {
          const bits = rankSet(prefixes.length);
          trie.mark(s, bits);
          expect(ranksOf(bits)).toEqual(prefixes.flatMap((p, rank) => (s.startsWith(p) ? [rank] : [])));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('marks exactly the ranks of the strings a string contains (markContained), the same trie serving both', () => {
    const text = fc.array(fc.constantFrom('a', 'b', '=', 'ab', 'é'), { maxLength: 5 }).map((p) => p.join(''));
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 30 }), fc.array(text, { minLength: 1, maxLength: 10 }), (needles, strings) => {
        const trie = new PrefixTrie();
        needles.forEach((n, rank) => trie.add(n, rank));
        for (const s of strings) {
          const bits = rankSet(needles.length);
          trie.markContained(s, bits);
          expect(ranksOf(bits)).toEqual(needles.flatMap((n, rank) => (s.includes(n) ? [rank] : [])));
          bits.fill(0);
          trie.mark(s, bits);
          expect(ranksOf(bits)).toEqual(needles.flatMap((n, rank) => (s.startsWith(n) ? [rank] : [])));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
