/**
 * Output offsets: a trained model's mean signed error per coordinate on its own training faces,
 * taken off its answers. Labels are not mirror-symmetric (on faces96 the answers of a model trained
 * with flips sit 0.3–0.9 px left of the labels, on the training faces as on held-out ones and on
 * photos), and training with flips cannot learn what a flip reverses; flip averaging makes the
 * answers fully symmetric, so the offset grows (−0.55 px in x there). Fitted once after training,
 * for each way predict can run (see tta.ts), and stored in model.json.
 */
import { flipPairs } from '../data/schema.js';
import { subset } from '../data/split.js';
import type { FaceSet } from '../data/types.js';
import { predictFaceSet } from './index.js';
import type { KeypointModel, OutputOffsets } from './model.js';
import { averageWithMirror, mirrorImages } from './tta.js';

export type { OutputOffsets } from './model.js';

/** At most this many training faces are predicted (evenly spread): a mean of a few hundred is within ±0.05 px. */
export const OFFSET_FACES = 512;

/** Mean of pred − truth per coordinate over the labelled ones; 0 where a coordinate is never labelled. */
export function meanSignedError(pred: Float32Array, truth: Float32Array, n: number, K2: number): number[] {
  const sum = new Float64Array(K2), count = new Float64Array(K2);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < K2; j++) {
      const t = truth[i * K2 + j]!;
      if (Number.isNaN(t)) continue;
      sum[j]! += pred[i * K2 + j]! - t;
      count[j]!++;
    }
  }
  return Array.from(sum, (s, j) => (count[j] ? s / count[j]! : 0));
}

/**
 * Fits the offsets of `model` (its raw answers, no offsets) on up to `maxFaces` faces of `set`,
 * which must be the model's own input size and keypoints (the trainer's training set).
 */
export async function fitOutputOffsets(model: KeypointModel, set: FaceSet, maxFaces = OFFSET_FACES): Promise<OutputOffsets> {
  const n = Math.min(set.count, maxFaces);
  const step = set.count / n;
  const faces = subset(set, Int32Array.from({ length: n }, (_, i) => Math.floor(i * step)));
  const K2 = model.keypoints.length * 2;
  const plain = await predictFaceSet(model, faces);
  const none = meanSignedError(plain, faces.coords, n, K2);
  // Without left/right pairs flip averaging is not run (tta.ts), so its offsets are the plain ones.
  if (!flipPairs(model.keypoints).length) return { flip: none, none, faces: n };
  // The plain answers are half of the flip average: only the mirrors are predicted again.
  const S = model.imageSize;
  const mirrored = await predictFaceSet({ ...model, predict: (x, m) => model.predict(mirrorImages(x, m, S), m) }, faces);
  return { flip: meanSignedError(averageWithMirror(plain, mirrored, n, model.keypoints, S), faces.coords, n, K2), none, faces: n };
}
