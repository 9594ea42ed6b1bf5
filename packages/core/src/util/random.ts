/**
 * A small seeded PRNG (sfc32) whose whole state is four 32-bit numbers, so a checkpoint can store
 * it and a resumed run draws exactly the numbers an uninterrupted one would.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Fisher–Yates in place; returns the array. */
  shuffle<T extends { [i: number]: unknown; length: number }>(a: T): T;
  getState(): number[];
  setState(s: readonly number[]): void;
}

export function createRng(seed: number): Rng {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0;
  const raw = (): number => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (a + b + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 15; i++) raw(); // warm up so nearby seeds diverge
  const rng: Rng = {
    next: () => raw() / 4294967296,
    normal: () => {
      const u = 1 - rng.next(), v = rng.next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    int: (n) => Math.floor(rng.next() * n),
    uniform: (lo, hi) => lo + (hi - lo) * rng.next(),
    shuffle: (arr) => {
      for (let i = arr.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = arr[i];
        arr[i] = arr[j];
        arr[j] = t;
      }
      return arr;
    },
    getState: () => [a >>> 0, b >>> 0, c >>> 0, d >>> 0],
    setState: (s) => {
      [a, b, c, d] = s.map((v) => v >>> 0) as [number, number, number, number];
    },
  };
  return rng;
}

/** A seed for a sub-stream (e.g. epoch 7's shuffle) that does not depend on how many numbers were drawn before. */
export function deriveSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h ^= p >>> 0;
    h = Math.imul(h, 0x01000193) >>> 0;
    h ^= h >>> 15;
  }
  return h >>> 0;
}
