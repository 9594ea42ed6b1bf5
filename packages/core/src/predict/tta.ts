/** Test-time flip averaging: predict on the image and on its mirror, and average the two answers. */
import { flipPairs, flipPermutation } from '../data/schema.js';
import type { KeypointModel } from './model.js';

/** What predict and evaluate run: `flip` averages with the mirrored image, `none` predicts once. */
export type Tta = 'flip' | 'none';
export const TTA_MODES: readonly Tta[] = ['flip', 'none'];
export const DEFAULT_TTA: Tta = 'flip';

/** Each S×S image of the batch mirrored left to right (a fresh array). */
export function mirrorImages(x: Float32Array, n: number, S: number): Float32Array {
  const out = new Float32Array(n * S * S);
  for (let r = 0; r < n * S; r++) {
    const row = r * S;
    for (let c = 0; c < S; c++) out[row + c] = x[row + S - 1 - c]!;
  }
  return out;
}

/**
 * The model with flip averaging: each batch is predicted as it is and mirrored; the mirrored
 * answer has its left/right keypoints swapped back (the pairs training's flips use, from the
 * names) and its x unflipped (x → S − x, pixel corners at 0 and S), then the two are averaged.
 * A model whose keypoints have no left/right pairs is returned as it is: without pairs a mirror
 * cannot be mapped back.
 */
export function flipAveraged(model: KeypointModel): KeypointModel {
  if (!flipPairs(model.keypoints).length) return model;
  const S = model.imageSize;
  return {
    keypoints: model.keypoints,
    imageSize: S,
    async predict(x, n) {
      return averageWithMirror(await model.predict(x, n), await model.predict(mirrorImages(x, n, S), n), n, model.keypoints, S);
    },
  };
}

/**
 * The flip average of `a` (answers on n images) and `b` (answers on their mirrors), in an image of
 * size S: b's left/right keypoints swapped back and its x unflipped, then the two averaged. Callers
 * that already hold both answers (the output offsets' fit) combine them without predicting again.
 */
export function averageWithMirror(a: ArrayLike<number>, b: ArrayLike<number>, n: number, keypoints: readonly string[], S: number): Float32Array {
  const perm = flipPermutation(keypoints), K = keypoints.length;
  const out = new Float32Array(n * K * 2);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < K; k++) {
      // Keypoint k of the image is keypoint perm[k] of its mirror.
      const o = (i * K + k) * 2, m = (i * K + perm[k]!) * 2;
      out[o] = (a[o]! + (S - b[m]!)) / 2;
      out[o + 1] = (a[o + 1]! + b[m + 1]!) / 2;
    }
  }
  return out;
}

/** The model with `offsets` subtracted from every answer (a new model, without offsets of its own). */
export function withOffsets(model: KeypointModel, offsets: readonly number[]): KeypointModel {
  const K2 = model.keypoints.length * 2;
  if (offsets.length !== K2) throw new Error(`withOffsets: ${offsets.length} offsets for ${model.keypoints.length} keypoints`);
  return {
    keypoints: model.keypoints,
    imageSize: model.imageSize,
    async predict(x, n) {
      const out = Float32Array.from(await model.predict(x, n));
      for (let i = 0; i < n; i++) for (let j = 0; j < K2; j++) out[i * K2 + j]! -= offsets[j]!;
      return out;
    },
  };
}

/**
 * The model predict and evaluate run for a TTA mode: flip averaging on the raw answers, then the
 * run's output offsets for that mode (predict/offsets.ts) when it has them. The result carries no
 * offsets, so wrapping it again adds none.
 */
export function withTta(model: KeypointModel, tta: Tta = DEFAULT_TTA): KeypointModel {
  const averaged = tta === 'flip' ? flipAveraged(model) : model;
  const offsets = model.offsets?.[tta];
  return offsets ? withOffsets(averaged, offsets) : averaged;
}
