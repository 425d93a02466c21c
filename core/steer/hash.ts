/**
 * 32-bit string hashing for consistent hashing: FNV-1a over UTF-16 code units, finished with
 * MurmurHash3's fmix32 avalanche (FNV alone clusters short, similar keys). Not cryptographic.
 */
export function hash32(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
