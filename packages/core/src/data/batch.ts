import type { AugmentConfig } from '../config/schema.js';
import type { Rng } from '../util/random.js';
import { flipPermutation } from './schema.js';
import type { FaceSet } from './types.js';

/** One training batch: network-ready arrays. */
export interface Batch {
  size: number;
  /** size × H × W pixels in [0, 1]. */
  x: Float32Array;
  /** size × K × 2 coordinates normalised to [-1, 1]; 0 where missing. */
  y: Float32Array;
  /** 1 where the coordinate is present, 0 where missing. */
  mask: Float32Array;
}

/** Pixel coordinate (origin at the top-left corner) -> [-1, 1], the network's output scale. */
export const toNormalized = (px: number, size: number): number => (px - size / 2) / (size / 2);
export const fromNormalized = (v: number, size: number): number => v * (size / 2) + size / 2;

function augmentActive(a: AugmentConfig | undefined): a is AugmentConfig {
  return !!a && (a.flip || a.shift > 0 || a.rotate > 0 || a.scale > 0 || a.brightness > 0);
}

/**
 * Copies rows into a batch, optionally augmented. Geometric augmentation is one affine map per image
 * (flip, rotation, scale about the centre, then shift) applied to the keypoints and, inverted, used
 * to resample the pixels bilinearly with edge replication. A flip also swaps left/right keypoints
 * keypoints: `pairs` (from flipPairs) or `perm` (from flipPermutation, precomputed once per run);
 * by default the pairs derived from the set's keypoint names. Keypoints pushed out of the frame
 * become missing.
 */
export function makeBatch(
  set: FaceSet,
  indices: ArrayLike<number>,
  opts: { augment?: AugmentConfig; rng?: Rng; pairs?: ReadonlyArray<readonly [number, number]>; perm?: Int32Array } = {},
): Batch {
  const W = set.width, H = set.height, S = W * H, K = set.keypoints.length, n = indices.length;
  const x = new Float32Array(n * S), y = new Float32Array(n * K * 2), mask = new Float32Array(n * K * 2);
  const aug = augmentActive(opts.augment) ? opts.augment : undefined;
  if (aug && !opts.rng) throw new Error('makeBatch: augmentation needs an rng');
  const perm = aug?.flip ? (opts.perm ?? permFromPairs(K, opts.pairs) ?? flipPermutation(set.keypoints)) : undefined;
  for (let i = 0; i < n; i++) {
    const r = indices[i]!;
    const src = set.pixels.subarray(r * S, (r + 1) * S);
    const dst = x.subarray(i * S, (i + 1) * S);
    const coords = set.coords.subarray(r * K * 2, (r + 1) * K * 2);
    if (!aug) {
      dst.set(src);
      for (let j = 0; j < K * 2; j++) {
        const v = coords[j]!;
        if (!Number.isNaN(v)) { y[i * K * 2 + j] = toNormalized(v, j % 2 ? H : W); mask[i * K * 2 + j] = 1; }
      }
      continue;
    }
    const rng = opts.rng!;
    const flip = aug.flip && rng.next() < 0.5;
    const theta = aug.rotate > 0 ? (rng.uniform(-aug.rotate, aug.rotate) * Math.PI) / 180 : 0;
    const scale = aug.scale > 0 ? 1 + rng.uniform(-aug.scale, aug.scale) : 1;
    const tx = aug.shift > 0 ? rng.uniform(-aug.shift, aug.shift) : 0;
    const ty = aug.shift > 0 ? rng.uniform(-aug.shift, aug.shift) : 0;
    const contrast = aug.brightness > 0 ? 1 + rng.uniform(-aug.brightness, aug.brightness) : 1;
    const bright = aug.brightness > 0 ? rng.uniform(-aug.brightness / 2, aug.brightness / 2) : 0;
    // Forward map p' = A·(p - c) + c + t, with A = scale·R(theta)·F (F mirrors x).
    const cx = W / 2, cy = H / 2;
    const f = flip ? -1 : 1;
    const cos = Math.cos(theta) * scale, sin = Math.sin(theta) * scale;
    const a11 = cos * f, a12 = -sin, a21 = sin * f, a22 = cos;
    // Inverse for sampling: p = A⁻¹·(p' - c - t) + c.
    const det = a11 * a22 - a12 * a21;
    const i11 = a22 / det, i12 = -a12 / det, i21 = -a21 / det, i22 = a11 / det;
    // Per output row, the source position's row terms once; per pixel the column terms (this loop
    // is ~10 % of a default-network training step, on the thread that also runs half the kernels).
    const gain = contrast, offset = 0.5 - 0.5 * contrast + bright;
    for (let oy = 0; oy < H; oy++) {
      const dy = oy + 0.5 - cy - ty;
      const rowX = i12 * dy + cx - 0.5, rowY = i22 * dy + cy - 0.5;
      const out = oy * W;
      for (let ox = 0; ox < W; ox++) {
        const dx = ox + 0.5 - cx - tx;
        // Source position in pixel-centre coordinates, clamped to the image (edge replication).
        let sx = i11 * dx + rowX, sy = i21 * dx + rowY;
        sx = sx < 0 ? 0 : sx > W - 1 ? W - 1 : sx;
        sy = sy < 0 ? 0 : sy > H - 1 ? H - 1 : sy;
        const x0 = sx | 0, y0 = sy | 0; // floor: both are ≥ 0
        const x1 = x0 + 1 < W ? x0 + 1 : x0, r0 = y0 * W, r1 = y0 + 1 < H ? r0 + W : r0;
        const fx = sx - x0, fy = sy - y0;
        const p00 = src[r0 + x0]!, p10 = src[r1 + x0]!;
        const top = p00 + (src[r0 + x1]! - p00) * fx;
        const bot = p10 + (src[r1 + x1]! - p10) * fx;
        const v = (top + (bot - top) * fy) * gain + offset;
        dst[out + ox] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
    for (let k = 0; k < K; k++) {
      const px = coords[2 * k]!, py = coords[2 * k + 1]!;
      if (Number.isNaN(px) || Number.isNaN(py)) continue;
      const qx = a11 * (px - cx) + a12 * (py - cy) + cx + tx;
      const qy = a21 * (px - cx) + a22 * (py - cy) + cy + ty;
      if (qx < 0 || qx > W || qy < 0 || qy > H) continue;
      const kk = flip ? perm![k]! : k;
      const o = i * K * 2 + 2 * kk;
      y[o] = toNormalized(qx, W);
      y[o + 1] = toNormalized(qy, H);
      mask[o] = mask[o + 1] = 1;
    }
  }
  return { size: n, x, y, mask };
}

function permFromPairs(K: number, pairs: ReadonlyArray<readonly [number, number]> | undefined): Int32Array | undefined {
  if (!pairs) return undefined;
  const perm = Int32Array.from({ length: K }, (_, i) => i);
  for (const [a, b] of pairs) {
    perm[a] = b;
    perm[b] = a;
  }
  return perm;
}
