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
  return fmix32(h);
}

/** MurmurHash3's fmix32 finalizer: every input bit affects every output bit. Unsigned 32-bit. */
export function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
