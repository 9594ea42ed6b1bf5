/** Evaluating a model on labelled faces, and Kaggle submissions. */
import { readIdLookup, readKaggleTest } from '../data/index.js';
import type { FaceSet } from '../data/types.js';
import { ExitCode, InputError, UserError } from '../errors.js';
import { predictFaceSet } from '../predict/index.js';
import { keypointModelOf } from '../predict/model.js';
import type { ModelSource } from '../predict/model.js';
import { withTta, type Tta } from '../predict/tta.js';
import { writeFileAtomic } from '../util/atomic.js';
import { matchKeypoints, scorePredictions, type Evaluation } from './score.js';

export { matchKeypoints, scorePredictions, type Evaluation } from './score.js';

/** A set's scores and the predictions they came from (row-major rows × model keypoints × 2; `index` maps data keypoint → model's). */
export interface Scored {
  evaluation: Evaluation;
  predictions: Float32Array;
  index: number[];
  modelK: number;
}

/**
 * RMSE in the data's own pixels and NME, overall and per keypoint, of a run (or any model) on a
 * labelled set, with its predictions; `tta` as predict runs it (default flip averaging, predict/tta.ts).
 */
export async function scoreModel(source: ModelSource, set: FaceSet, opts: { tta?: Tta } = {}): Promise<Scored> {
  const model = withTta(keypointModelOf(source), opts.tta);
  const index = matchKeypoints(model.keypoints, set.keypoints, set.source);
  if (set.count === 0) throw new InputError({ file: set.source }, 'no rows to evaluate');
  const predictions = await predictFaceSet(model, set);
  const evaluation = scorePredictions(predictions, set, index, model.keypoints.length);
  if (evaluation.count === 0) throw new InputError({ file: set.source }, 'no labelled keypoints to score (every coordinate is blank)');
  return { evaluation, predictions, index, modelK: model.keypoints.length };
}

/** RMSE in the data's own pixels and NME, overall and per keypoint, of a run (or any model) on a labelled set. */
export async function evaluateModel(source: ModelSource, set: FaceSet, opts: { tta?: Tta } = {}): Promise<Evaluation> {
  return (await scoreModel(source, set, opts)).evaluation;
}

export const evaluateRun = evaluateModel;

/**
 * Kaggle's submission: for every (ImageId, FeatureName) the lookup table asks for, the predicted
 * coordinate clipped to the image, as `RowId,Location`.
 */
export async function writeSubmission(opts: { model?: ModelSource; run?: ModelSource; testCsv: string; lookupCsv: string; out: string; tta?: Tta }): Promise<{ rows: number }> {
  const given = opts.run ?? opts.model;
  if (!given) throw new UserError('writeSubmission: no model given');
  const model = withTta(keypointModelOf(given), opts.tta);
  const [{ imageIds, set }, lookup] = await Promise.all([readKaggleTest(opts.testCsv), readIdLookup(opts.lookupCsv)]);
  const pred = await predictFaceSet(model, set);
  const rowOf = new Map<number, number>();
  imageIds.forEach((id, r) => rowOf.set(id, r));
  const K = model.keypoints.length;
  const lines = ['RowId,Location'];
  for (const [i, q] of lookup.entries()) {
    const where = { file: opts.lookupCsv, row: i + 2 };
    const r = rowOf.get(q.imageId);
    if (r === undefined) throw new InputError({ ...where, field: 'ImageId' }, `image ${q.imageId} is not in ${opts.testCsv}`);
    const m = /^(.*)_([xy])$/.exec(q.featureName);
    const k = m ? model.keypoints.indexOf(m[1]!) : -1;
    if (!m || k < 0) throw new InputError({ ...where, field: 'FeatureName' }, `"${q.featureName}" is not one of the model's keypoints (${model.keypoints.join(', ')}) with _x or _y`);
    const v = pred[(r * K + k) * 2 + (m[2] === 'x' ? 0 : 1)]!;
    const limit = m[2] === 'x' ? set.width : set.height;
    lines.push(`${q.rowId},${Math.min(limit, Math.max(0, v)).toFixed(4)}`);
  }
  await writeFileAtomic(opts.out, lines.join('\n') + '\n');
  return { rows: lookup.length };
}

export * from './zero-shot.js';
export * from './landmarks.js';
export * from './photos.js';
