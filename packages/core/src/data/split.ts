import { InputError } from '../errors.js';
import { createRng } from '../util/random.js';
import type { FaceSet } from './types.js';

/** A seeded split: `validation` < 1 is a fraction of the rows, >= 1 a row count. */
export function splitIndices(count: number, validation: number, seed: number): { train: Int32Array; val: Int32Array } {
  const nVal = validation < 1 ? Math.round(count * validation) : Math.min(count, Math.floor(validation));
  const order = createRng(seed ^ 0x5eed).shuffle(Int32Array.from({ length: count }, (_, i) => i));
  const val = order.slice(0, nVal).sort();
  const train = order.slice(nVal).sort();
  return { train, val };
}

/**
 * A run's pixels in shared memory where there is some, so the batch worker (data/prefetch.ts)
 * reads them in place instead of a copy.
 */
function sharedFloats(n: number): Float32Array {
  return typeof SharedArrayBuffer === 'undefined' ? new Float32Array(n) : new Float32Array(new SharedArrayBuffer(4 * n));
}

export function subset(set: FaceSet, indices: ArrayLike<number>): FaceSet {
  const S = set.width * set.height, K2 = set.keypoints.length * 2, n = indices.length;
  const pixels = sharedFloats(n * S), coords = new Float32Array(n * K2), rows = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = indices[i]!;
    pixels.set(set.pixels.subarray(r * S, (r + 1) * S), i * S);
    coords.set(set.coords.subarray(r * K2, (r + 1) * K2), i * K2);
    rows[i] = set.rows[r]!;
  }
  return { ...set, count: n, pixels, coords, rows };
}

export function isComplete(set: FaceSet, r: number): boolean {
  const K2 = set.keypoints.length * 2;
  for (let i = r * K2; i < (r + 1) * K2; i++) if (Number.isNaN(set.coords[i]!)) return false;
  return true;
}

/** Only rows with every keypoint labelled (the seed script's way with missing values). */
export function dropIncomplete(set: FaceSet): FaceSet {
  const keep: number[] = [];
  for (let r = 0; r < set.count; r++) if (isComplete(set, r)) keep.push(r);
  if (keep.length === 0) throw new InputError({ file: set.source }, `no complete rows after dropping rows with missing keypoints (${set.count} rows read); use --missing mask to train on partial labels`);
  return subset(set, keep);
}

/** How many rows miss each keypoint: for dataset previews and reports. */
export function missingCounts(set: FaceSet): Record<string, number> {
  const K = set.keypoints.length, out: Record<string, number> = {};
  set.keypoints.forEach((name, k) => {
    let n = 0;
    for (let r = 0; r < set.count; r++) if (Number.isNaN(set.coords[(r * K + k) * 2]!) || Number.isNaN(set.coords[(r * K + k) * 2 + 1]!)) n++;
    out[name] = n;
  });
  return out;
}
