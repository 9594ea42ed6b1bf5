import { readIdLookup, readKaggleTest } from '../data/index.js';
import type { FaceSet } from '../data/types.js';
import { ExitCode, InputError, UserError } from '../errors.js';
import { predictFaceSet } from '../predict/index.js';
import { keypointModelOf } from '../predict/model.js';
import type { ModelSource } from '../predict/model.js';
import { writeFileAtomic } from '../util/atomic.js';

export interface Evaluation {
  /** RMSE in pixels over every present coordinate (x and y counted separately, as Kaggle scores). */
  rmse: number;
  /** Present coordinates scored. */
  count: number;
  rows: number;
  perKeypoint: Record<string, { rmse: number; count: number }>;
}

/** The model's keypoints must be the data's, in any order; returns data column -> model output index. */
export function matchKeypoints(model: readonly string[], data: readonly string[], source: string): number[] {
  const missing = model.filter((n) => !data.includes(n));
  const extra = data.filter((n) => !model.includes(n));
  if (missing.length || extra.length) {
    const list = (names: readonly string[]) => (names.length > 20 ? `${names.slice(0, 20).join(', ')}, … (${names.length - 20} more)` : names.join(', '));
    // When the sets share names, say which differ; when they share none, the two lists say it all.
    const shared = missing.length < model.length;
    throw new UserError(
      `${source}: its keypoints do not match the model's.\n  model (${model.length}): ${list(model)}\n  data (${data.length}): ${list(data)}` +
        (shared && missing.length ? `\n  missing in the data: ${list(missing)}` : '') +
        (shared && extra.length ? `\n  not in the model: ${list(extra)}` : ''),
      ExitCode.input,
    );
  }
  return data.map((n) => model.indexOf(n));
}

/** RMSE of predictions against labels, both row-major count × K × 2 in pixels; NaN labels are skipped. */
export function scorePredictions(pred: Float32Array, set: FaceSet, modelIndexOf: number[], modelK: number): Evaluation {
  const K = set.keypoints.length;
  const se = new Float64Array(K), n = new Int32Array(K);
  for (let r = 0; r < set.count; r++) {
    for (let k = 0; k < K; k++) {
      const m = modelIndexOf[k]!;
      for (let c = 0; c < 2; c++) {
        const truth = set.coords[(r * K + k) * 2 + c]!;
        if (Number.isNaN(truth)) continue;
        const d = pred[(r * modelK + m) * 2 + c]! - truth;
        se[k] += d * d;
        n[k]++;
      }
    }
  }
  let total = 0, count = 0;
  const perKeypoint: Evaluation['perKeypoint'] = {};
  set.keypoints.forEach((name, k) => {
    total += se[k]!;
    count += n[k]!;
    perKeypoint[name] = { rmse: n[k] ? Math.sqrt(se[k]! / n[k]!) : NaN, count: n[k]! };
  });
  return { rmse: count ? Math.sqrt(total / count) : NaN, count, rows: set.count, perKeypoint };
}

/** RMSE in the data's own pixels, overall and per keypoint, of a run (or any model) on a labelled set. */
export async function evaluateModel(source: ModelSource, set: FaceSet): Promise<Evaluation> {
  const model = keypointModelOf(source);
  const index = matchKeypoints(model.keypoints, set.keypoints, set.source);
  if (set.count === 0) throw new InputError({ file: set.source }, 'no rows to evaluate');
  const pred = await predictFaceSet(model, set);
  const ev = scorePredictions(pred, set, index, model.keypoints.length);
  if (ev.count === 0) throw new InputError({ file: set.source }, 'no labelled keypoints to score (every coordinate is blank)');
  return ev;
}

export const evaluateRun = evaluateModel;

/**
 * Kaggle's submission: for every (ImageId, FeatureName) the lookup table asks for, the predicted
 * coordinate clipped to the image, as `RowId,Location`.
 */
export async function writeSubmission(opts: { model?: ModelSource; run?: ModelSource; testCsv: string; lookupCsv: string; out: string }): Promise<{ rows: number }> {
  const given = opts.run ?? opts.model;
  if (!given) throw new UserError('writeSubmission: no model given');
  const model = keypointModelOf(given);
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
