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
 * become missing. planBatch + renderBatch on this thread (data/prefetch.ts renders on another).
 */
export function makeBatch(
  set: FaceSet,
  indices: ArrayLike<number>,
  opts: { augment?: AugmentConfig; rng?: Rng; pairs?: ReadonlyArray<readonly [number, number]>; perm?: Int32Array } = {},
): Batch {
  const plan = planBatch(set, indices, opts);
  return { size: plan.size, x: renderBatch(set.pixels, set.width, set.height, plan), y: plan.y, mask: plan.mask };
}

/**
 * A batch before its pixels: targets and mask done, and per image the source row and the
 * resampling it needs (WARP floats, see warpImage), so the pixels can be drawn on any thread that
 * sees the set's pixels. Every random number the batch takes is drawn here, in makeBatch's order.
 */
export interface BatchPlan {
  size: number;
  y: Float32Array;
  mask: Float32Array;
  /** Source row of each image. */
  rows: Int32Array;
  /** size × WARP: warpImage's parameters; all zero where the image is copied unchanged. */
  warps: Float64Array;
}

/** Parameters per image in BatchPlan.warps: the inverse map (4), the shift (2), gain and offset, and 1 when resampled. */
export const WARP = 9;

export function planBatch(
  set: FaceSet,
  indices: ArrayLike<number>,
  opts: { augment?: AugmentConfig; rng?: Rng; pairs?: ReadonlyArray<readonly [number, number]>; perm?: Int32Array } = {},
): BatchPlan {
  const W = set.width, H = set.height, K = set.keypoints.length, n = indices.length;
  const y = new Float32Array(n * K * 2), mask = new Float32Array(n * K * 2), rows = Int32Array.from(indices), warps = new Float64Array(n * WARP);
  const aug = augmentActive(opts.augment) ? opts.augment : undefined;
  if (aug && !opts.rng) throw new Error('makeBatch: augmentation needs an rng');
  const perm = aug?.flip ? (opts.perm ?? permFromPairs(K, opts.pairs) ?? flipPermutation(set.keypoints)) : undefined;
  for (let i = 0; i < n; i++) {
    const r = indices[i]!;
    const coords = set.coords.subarray(r * K * 2, (r + 1) * K * 2);
    if (!aug) {
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
    warps.set([a22 / det, -a12 / det, -a21 / det, a11 / det, tx, ty, contrast, 0.5 - 0.5 * contrast + bright, 1], i * WARP);
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
  return { size: n, y, mask, rows, warps };
}

/** A plan's pixels from a set's (W × H images, row-major), into `out` (a new array by default). */
export function renderBatch(pixels: Float32Array, W: number, H: number, plan: Pick<BatchPlan, 'size' | 'rows' | 'warps'>, out: Float32Array = new Float32Array(plan.size * W * H)): Float32Array {
  const S = W * H;
  for (let i = 0; i < plan.size; i++) {
    const r = plan.rows[i]!;
    warpImage(pixels, r * S, out, i * S, W, H, plan.warps, i * WARP);
  }
  return out;
}

/**
 * One image of a batch: a copy of src[s0..s0+W·H), or, when p[q+8] is 1, its bilinear resampling
 * through the inverse affine map p[q..q+4) about the centre after the shift p[q+4..q+6), edge
 * pixels replicated, then gain p[q+6] and offset p[q+7], clamped to [0, 1]. Self-contained (no
 * names from outside it): data/prefetch.ts runs its source text in a worker thread.
 */
export function warpImage(src: Float32Array, s0: number, dst: Float32Array, d0: number, W: number, H: number, p: Float64Array, q: number): void {
  if (p[q + 8] !== 1) {
    dst.set(src.subarray(s0, s0 + W * H), d0);
    return;
  }
  const i11 = p[q]!, i12 = p[q + 1]!, i21 = p[q + 2]!, i22 = p[q + 3]!, tx = p[q + 4]!, ty = p[q + 5]!, gain = p[q + 6]!, offset = p[q + 7]!;
  const cx = W / 2, cy = H / 2;
  // Per output row, the source position's row terms once; per pixel the column terms (this loop
  // was ~10 % of a default-network training step on the training thread).
  for (let oy = 0; oy < H; oy++) {
    const dy = oy + 0.5 - cy - ty;
    const rowX = i12 * dy + cx - 0.5, rowY = i22 * dy + cy - 0.5;
    const out = d0 + oy * W;
    for (let ox = 0; ox < W; ox++) {
      const dx = ox + 0.5 - cx - tx;
      // Source position in pixel-centre coordinates, clamped to the image (edge replication).
      let sx = i11 * dx + rowX, sy = i21 * dx + rowY;
      sx = sx < 0 ? 0 : sx > W - 1 ? W - 1 : sx;
      sy = sy < 0 ? 0 : sy > H - 1 ? H - 1 : sy;
      const x0 = sx | 0, y0 = sy | 0; // floor: both are ≥ 0
      const x1 = x0 + 1 < W ? x0 + 1 : x0, r0 = s0 + y0 * W, r1 = y0 + 1 < H ? r0 + W : r0;
      const fx = sx - x0, fy = sy - y0;
      const p00 = src[r0 + x0]!, p10 = src[r1 + x0]!;
      const top = p00 + (src[r0 + x1]! - p00) * fx;
      const bot = p10 + (src[r1 + x1]! - p10) * fx;
      const v = (top + (bot - top) * fy) * gain + offset;
      dst[out + ox] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
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
