/** The end of a run: output offsets fitted on the training faces and saved with the best model (predict/offsets.ts). */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { FaceSet } from '../data/types.js';
import { scoreModel, scorePredictions } from '../evaluate/index.js';
import type { KeypointModel } from '../predict/model.js';
import { fitOutputOffsets, OFFSET_FACES } from '../predict/offsets.js';
import { DEFAULT_TTA } from '../predict/tta.js';
import { predictOnBackend, saveModel, type ModelMetadata } from './run-folder.js';

/**
 * Fits the offsets of `model` (holding the best weights) on `train`, rewrites model.json with them
 * (weights.bin gets the same bytes), and scores `val` as `keypoints evaluate --split val` will:
 * flip-averaged, offsets taken off. Returns that RMSE (NaN without validation rows) and a log line.
 */
export async function fitAndSaveOffsets(model: tfl.LayersModel, runDir: string, train: FaceSet, val: FaceSet, meta: ModelMetadata): Promise<{ valRmse: number; message: string }> {
  const raw: KeypointModel = { keypoints: meta.keypoints, imageSize: meta.imageSize, predict: (x, n) => predictOnBackend(model, x, n, meta.imageSize) };
  const offsets = await fitOutputOffsets(raw, train);
  await saveModel(model, runDir, { ...meta, offsets });
  let before = NaN, valRmse = NaN;
  if (val.count) {
    // One flip-averaged pass; the offsets are a constant per coordinate, taken off a copy of it.
    const scored = await scoreModel(raw, val, { tta: DEFAULT_TTA });
    const off = offsets[DEFAULT_TTA], K2 = off.length;
    const shifted = scored.predictions.map((p, i) => p - off[i % K2]!);
    before = scored.evaluation.rmse;
    valRmse = scorePredictions(shifted, val, scored.index, scored.modelK).rmse;
  }
  const mean = (v: number[], d: number) => v.filter((_, j) => j % 2 === d).reduce((a, b) => a + b, 0) / (v.length / 2);
  const o = offsets[DEFAULT_TTA];
  const scored = val.count ? `; validation RMSE flip-averaged ${before.toFixed(3)} px, with the offsets ${valRmse.toFixed(3)} px` : '';
  return { valRmse, message: `output offsets fitted on ${offsets.faces} training faces (mean x ${mean(o, 0).toFixed(2)} px, y ${mean(o, 1).toFixed(2)} px, flip-averaged)${scored}` };
}

/**
 * What fitAndSaveOffsets will take, from one validation pass's seconds over `valCount` faces: the
 * forward passes it runs (2 per training face fitted, 2 per validation face) at that pass's speed.
 * A time-limited run keeps this much of its budget for it.
 */
export function offsetsFitSeconds(trainCount: number, valCount: number, valSeconds: number): number {
  return ((2 * Math.min(trainCount, OFFSET_FACES) + 2 * valCount) / valCount) * valSeconds;
}
