import type { FaceSet } from '../data/types.js';
import { InputError, UserError } from '../errors.js';
import { predictFaceSet } from '../predict/index.js';
import { keypointModelOf } from '../predict/model.js';
import type { ModelSource } from '../predict/model.js';
import { matchKeypoints, scorePredictions } from './score.js';
import type { Evaluation } from './score.js';

/** A global similarity transform of pixel coordinates: (x, y) → (a·x − b·y + tx, b·x + a·y + ty). */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/**
 * Least-squares similarity transform taking predictions to labels over every labelled point
 * (x and y both present) of `set`: the cheapest calibration of a model whose points are defined a
 * little differently from the data's (face-api's iBUG points vs Kaggle's). Fit it on training
 * rows only, never on the rows it is then scored on. `modelIndexOf[k]` is the prediction index of
 * data keypoint k (as matchKeypoints gives), `modelK` the predictions' keypoint count.
 */
export function fitSimilarity(pred: Float32Array, set: FaceSet, modelIndexOf: number[], modelK: number): Similarity {
  const K = set.keypoints.length;
  // Normal equations of the 4 unknowns; rows: [x, −y, 1, 0] → X and [y, x, 0, 1] → Y.
  const A = Array.from({ length: 4 }, () => new Float64Array(4));
  const rhs = new Float64Array(4);
  let n = 0;
  const addRow = (r: number[], t: number) => {
    for (let i = 0; i < 4; i++) {
      rhs[i] += r[i]! * t;
      for (let j = 0; j < 4; j++) A[i]![j] += r[i]! * r[j]!;
    }
  };
  for (let row = 0; row < set.count; row++) {
    for (let k = 0; k < K; k++) {
      const X = set.coords[(row * K + k) * 2]!, Y = set.coords[(row * K + k) * 2 + 1]!;
      if (Number.isNaN(X) || Number.isNaN(Y)) continue;
      const m = modelIndexOf[k]!;
      const x = pred[(row * modelK + m) * 2]!, y = pred[(row * modelK + m) * 2 + 1]!;
      addRow([x, -y, 1, 0], X);
      addRow([y, x, 0, 1], Y);
      n++;
    }
  }
  if (n < 2) throw new UserError(`${set.source}: too few labelled points (${n}) to calibrate on`);
  const [a, b, tx, ty] = solve4(A, rhs);
  return { a: a!, b: b!, tx: tx!, ty: ty! };
}

/** Gaussian elimination with partial pivoting (4×4, well conditioned for ≥ 2 distinct points). */
function solve4(A: Float64Array[], rhs: Float64Array): number[] {
  const M = A.map((r, i) => [...r, rhs[i]!]);
  for (let c = 0; c < 4; c++) {
    let p = c;
    for (let r = c + 1; r < 4; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = 0; r < 4; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / M[c]![c]!;
      for (let j = c; j < 5; j++) M[r]![j]! -= f * M[c]![j]!;
    }
  }
  return M.map((r, i) => r[4]! / r[i]!);
}

/** Applies `s` to every (x, y) pair of a prediction array, in place. */
export function applySimilarity(pred: Float32Array, s: Similarity): Float32Array {
  for (let i = 0; i < pred.length; i += 2) {
    const x = pred[i]!, y = pred[i + 1]!;
    pred[i] = s.a * x - s.b * y + s.tx;
    pred[i + 1] = s.b * x + s.a * y + s.ty;
  }
  return pred;
}

/** The same faces with only the named keypoints (in that order): to score a model that knows fewer. */
export function keepKeypoints(set: FaceSet, names: readonly string[]): FaceSet {
  const K = set.keypoints.length, idx = names.map((n) => set.keypoints.indexOf(n));
  if (idx.some((i) => i < 0)) throw new Error(`keepKeypoints: ${names.filter((_, j) => idx[j]! < 0).join(', ')} not in ${set.source}`);
  const coords = new Float32Array(set.count * names.length * 2);
  for (let r = 0; r < set.count; r++)
    idx.forEach((k, j) => {
      coords[(r * names.length + j) * 2] = set.coords[(r * K + k) * 2]!;
      coords[(r * names.length + j) * 2 + 1] = set.coords[(r * K + k) * 2 + 1]!;
    });
  return { ...set, keypoints: [...names], coords };
}

/**
 * Scores `model` on `set` after a similarity transform fitted on `fit` (training rows, disjoint
 * from `set`): how good the model's points are once a global offset, scale and rotation between
 * its definition of a keypoint and the data's is taken out.
 */
export async function evaluateCalibrated(source: ModelSource, fit: FaceSet, set: FaceSet): Promise<Evaluation & { similarity: Similarity; fitRows: number }> {
  return (await scoreCalibrated(source, fit, set)).evaluation;
}

/** evaluateCalibrated with the calibrated predictions it scored (row-major rows × model keypoints × 2). */
export async function scoreCalibrated(source: ModelSource, fit: FaceSet, set: FaceSet): Promise<{ evaluation: Evaluation & { similarity: Similarity; fitRows: number }; predictions: Float32Array; index: number[]; modelK: number }> {
  const model = keypointModelOf(source);
  const K = model.keypoints.length;
  const fitIndex = matchKeypoints(model.keypoints, fit.keypoints, fit.source);
  const similarity = fitSimilarity(await predictFaceSet(model, fit), fit, fitIndex, K);
  const index = matchKeypoints(model.keypoints, set.keypoints, set.source);
  if (set.count === 0) throw new InputError({ file: set.source }, 'no rows to evaluate');
  const predictions = applySimilarity(await predictFaceSet(model, set), similarity);
  return { evaluation: { ...scorePredictions(predictions, set, index, K), similarity, fitRows: fit.count }, predictions, index, modelK: K };
}
