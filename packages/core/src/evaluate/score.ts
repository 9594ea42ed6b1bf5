/** Scoring predictions against labels: RMSE in pixels and NME, overall and per keypoint; CED; worst faces. */
import type { FaceSet } from '../data/types.js';
import { ExitCode, UserError } from '../errors.js';
import { landmarkScores, type LandmarkScores } from './landmarks.js';

export interface Evaluation extends Omit<LandmarkScores, 'perKeypointNme'> {
  /** RMSE in pixels over every present coordinate (x and y counted separately, as Kaggle scores). */
  rmse: number;
  /** Present coordinates scored. */
  count: number;
  rows: number;
  /** RMSE in pixels (per coordinate), NME (per point, see landmarks.ts) and labelled coordinates. */
  perKeypoint: Record<string, { rmse: number; nme: number; count: number }>;
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

/** RMSE and NME of predictions against labels, both row-major count × K × 2 in pixels; NaN labels are skipped. */
export function scorePredictions(pred: Float32Array, set: FaceSet, modelIndexOf: number[], modelK: number, missed = 0): Evaluation {
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
  const { perKeypointNme, ...landmarks } = landmarkScores(pred, set.coords, set.keypoints, set.count, modelIndexOf, modelK, missed);
  const perKeypoint: Evaluation['perKeypoint'] = {};
  set.keypoints.forEach((name, k) => {
    total += se[k]!;
    count += n[k]!;
    perKeypoint[name] = { rmse: n[k] ? Math.sqrt(se[k]! / n[k]!) : NaN, nme: perKeypointNme[name]!, count: n[k]! };
  });
  return { rmse: count ? Math.sqrt(total / count) : NaN, count, rows: set.count, perKeypoint, ...landmarks };
}
