/**
 * Landmark metrics beyond RMSE, as landmark papers report them: the normalised mean error (NME:
 * point-to-point distance ÷ the face's outer-eye-corner distance) per keypoint and per face, the
 * cumulative error distribution (CED) of the faces' NMEs, and the worst faces.
 */

/** What a face's errors were divided by (see faceNormaliser). */
export type Normaliser = 'outer-eye-corners' | 'eye-centres' | 'points-box';

/**
 * Outer-eye-corner distance ÷ eye-centre distance: median 1.374 (p10 1.330, p90 1.419) over the
 * 3,461 fully labelled faces of faces96's train-full-labels.csv.gz. Used when a face's outer
 * corners are not labelled (most rows of Kaggle's file keep only the eye centres).
 */
export const OUTER_CORNERS_PER_EYE_CENTRES = 1.374;

/** Outer eye corners and eye centres by name: Kaggle's, and iBUG 68's (p36 and p45 are the outer corners). */
const OUTER_CORNERS: ReadonlyArray<readonly [string, string]> = [
  ['left_eye_outer_corner', 'right_eye_outer_corner'],
  ['p45', 'p36'],
];
const EYE_CENTRES: ReadonlyArray<readonly [string, string]> = [['left_eye_center', 'right_eye_center']];

/**
 * The length a face's errors are divided by, from its true points (`truth[2k]`, `truth[2k+1]` for
 * keypoint k of `names`, NaN when not labelled), in order of preference:
 * 1. the outer-eye-corner distance (the 300-W convention), when both corners are labelled;
 * 2. else the eye-centre distance × OUTER_CORNERS_PER_EYE_CENTRES, so the two agree on average;
 * 3. else √(w·h) of the box of the labelled points (point sets without eyes), at least 2 points.
 * Undefined when none applies (or the length is 0): that face gets no NME.
 */
export function faceNormaliser(names: readonly string[], truth: ArrayLike<number>): { value: number; kind: Normaliser } | undefined {
  const dist = (pairs: ReadonlyArray<readonly [string, string]>) => {
    for (const [a, b] of pairs) {
      const i = names.indexOf(a), j = names.indexOf(b);
      if (i < 0 || j < 0) continue;
      const d = Math.hypot(truth[2 * i]! - truth[2 * j]!, truth[2 * i + 1]! - truth[2 * j + 1]!);
      if (d > 0) return d; // NaN (unlabelled) fails the test too
    }
    return undefined;
  };
  const outer = dist(OUTER_CORNERS);
  if (outer) return { value: outer, kind: 'outer-eye-corners' };
  const centres = dist(EYE_CENTRES);
  if (centres) return { value: centres * OUTER_CORNERS_PER_EYE_CENTRES, kind: 'eye-centres' };
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, n = 0;
  for (let k = 0; k < names.length; k++) {
    const x = truth[2 * k]!, y = truth[2 * k + 1]!;
    if (Number.isNaN(x) || Number.isNaN(y)) continue;
    [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    n++;
  }
  const box = Math.sqrt((x1 - x0) * (y1 - y0));
  return n >= 2 && box > 0 ? { value: box, kind: 'points-box' } : undefined;
}

/** The CED is drawn and its area taken up to this NME (10 %, as 300-W's AUC@0.1). */
export const CED_LIMIT = 0.1;
/** Faces shown in the worst-faces picture and listed in `worst`. */
export const WORST_FACES = 16;

export interface FaceError {
  /** The face's row in the scored set (0-based). */
  face: number;
  /** Mean over its labelled points of point error ÷ normaliser. */
  nme: number;
  /** Mean point error in pixels. */
  meanError: number;
  points: number;
  normaliser: Normaliser;
}

/** The cumulative error distribution: the fraction of faces (missed ones included, as never good enough) with NME ≤ t. */
export interface Ced {
  thresholds: number[];
  fractions: number[];
  /** Area under the curve up to CED_LIMIT, ÷ CED_LIMIT (1 = every face perfect). */
  auc: number;
  /** Faces above CED_LIMIT, or missed, ÷ all faces. */
  failureRate: number;
}

export interface LandmarkScores {
  /** Mean of the faces' NMEs. */
  nme: number;
  /** Faces with an NME (a normaliser and at least one labelled point). */
  faces: number;
  /** Faces no prediction was made for (photos: no face found there); counted as failures in the CED. */
  missed: number;
  /** Per keypoint: mean of point error ÷ normaliser over the faces where it is labelled. */
  perKeypointNme: Record<string, number>;
  /** How many faces used each normaliser. */
  normalisers: Partial<Record<Normaliser, number>>;
  ced: Ced;
  /** Up to WORST_FACES faces, highest NME first. */
  worst: FaceError[];
}

/** The CED of per-face NMEs on a grid up to `limit` (51 points), with `missed` faces never reaching it. */
export function cedCurve(nmes: readonly number[], missed = 0, limit = CED_LIMIT, steps = 50): Ced {
  const total = nmes.length + missed;
  const thresholds = Array.from({ length: steps + 1 }, (_, i) => (limit * i) / steps);
  const fractions = thresholds.map((t) => (total ? nmes.filter((e) => e <= t).length / total : 0));
  // Exact area: each face contributes (limit − e) for e below the limit.
  const auc = total ? nmes.reduce((s, e) => s + Math.max(0, limit - e), 0) / (limit * total) : 0;
  const failureRate = total ? (nmes.filter((e) => !(e <= limit)).length + missed) / total : 0;
  return { thresholds, fractions, auc, failureRate };
}

/**
 * NME per face and per keypoint, CED and worst faces of `pred` against `truth`, both row-major
 * rows × K × 2 in the same pixels, keypoint k of truth being `modelIndexOf[k]` of pred (which has
 * `modelK` keypoints). A point counts when both its true x and y are labelled.
 */
export function landmarkScores(pred: ArrayLike<number>, truth: ArrayLike<number>, names: readonly string[], rows: number, modelIndexOf: readonly number[], modelK: number, missed = 0): LandmarkScores {
  const K = names.length;
  const kSum = new Float64Array(K), kN = new Int32Array(K);
  const faces: FaceError[] = [];
  const normalisers: LandmarkScores['normalisers'] = {};
  for (let r = 0; r < rows; r++) {
    const t = Array.from({ length: 2 * K }, (_, i) => truth[r * 2 * K + i]!);
    const norm = faceNormaliser(names, t);
    if (!norm) continue;
    let sum = 0, n = 0;
    for (let k = 0; k < K; k++) {
      if (Number.isNaN(t[2 * k]!) || Number.isNaN(t[2 * k + 1]!)) continue;
      const m = modelIndexOf[k]!;
      const e = Math.hypot(pred[(r * modelK + m) * 2]! - t[2 * k]!, pred[(r * modelK + m) * 2 + 1]! - t[2 * k + 1]!);
      sum += e;
      n++;
      kSum[k] += e / norm.value;
      kN[k]++;
    }
    if (!n) continue;
    faces.push({ face: r, nme: sum / n / norm.value, meanError: sum / n, points: n, normaliser: norm.kind });
    normalisers[norm.kind] = (normalisers[norm.kind] ?? 0) + 1;
  }
  const perKeypointNme = Object.fromEntries(names.map((name, k) => [name, kN[k] ? kSum[k]! / kN[k]! : NaN]));
  const nmes = faces.map((f) => f.nme);
  return {
    nme: faces.length ? nmes.reduce((a, b) => a + b, 0) / faces.length : NaN,
    faces: faces.length,
    missed,
    perKeypointNme,
    normalisers,
    ced: cedCurve(nmes, missed),
    worst: [...faces].sort((a, b) => b.nme - a.nme).slice(0, WORST_FACES),
  };
}
