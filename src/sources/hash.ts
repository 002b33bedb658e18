/**
 * Stateless integer hashing for random-access noise: the value for (seed, stream, index) is computed
 * on its own, so any minute of a synthetic workload can be read without replaying earlier ones.
 * MurmurHash3's mixing steps over 32-bit words.
 */

const TWO_32 = 4_294_967_296;
// Bound once: under jest's vm contexts every lookup of the global `Math` is slow, and these run per minute.
const { imul, sqrt, log, cos, PI, floor } = Math;

function mix(h: number, k: number): number {
  k = imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of (seed, stream, index); `index` may be any safe integer (e.g. an epoch minute). */
export function hash32(seed: number, stream: number, index: number): number {
  const lo = index >>> 0;
  // Keep the high word so indices 2^32 apart (or negative ones) do not collide.
  const hi = floor(index / TWO_32) | 0;
  let h = mix(seed | 0, stream | 0);
  h = mix(h, lo);
  h = mix(h, hi);
  return finish(h ^ 12);
}

/** Uniform in [0, 1). */
export function uniform(seed: number, stream: number, index: number): number {
  return hash32(seed, stream, index) / TWO_32;
}

/** Standard normal via Box–Muller from two independent hashed uniforms. */
export function normal(seed: number, stream: number, index: number): number {
  const u1 = 1 - uniform(seed, stream, index); // (0, 1]: log stays finite
  const u2 = uniform(seed, stream + 0x9e3779b9, index);
  return sqrt(-2 * log(u1)) * cos(2 * PI * u2);
}
