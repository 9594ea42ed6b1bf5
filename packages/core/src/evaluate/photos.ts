/**
 * Scoring a model on a folder of photos with a keypoints.csv the way `predict` meets photos, in
 * each photo's own pixels, at three stages of framing: the crop the true points imply (what a
 * perfect face box would give), the face detector's box alone, and that box refined by the model's
 * own points (what `keypoints predict` does). The gap between stages is what each one loses.
 */
import type { Tta } from '../predict/tta.js';
import { labelledPhotos } from '../data/read-folder.js';
import type { FaceSet } from '../data/types.js';
import type { DetectOptions } from '../detect/detector.js';
import type { FaceBox } from '../detect/nms.js';
import { InputError, UserError } from '../errors.js';
import { ibug68Sources, IBUG68_NAMES } from '../model/face-api.js';
import { keypointModelOf, predictImages, trainingCrop, type ModelSource, type PredictInput, type PredictedPoint } from '../predict/index.js';
import { scorePredictions, type Evaluation } from './score.js';

export type PhotoFraming = 'truth' | 'detector' | 'refined';
export const PHOTO_FRAMINGS: readonly PhotoFraming[] = ['truth', 'detector', 'refined'];

export interface PhotoEvaluateOptions extends DetectOptions {
  /** Default 'refined' (as `keypoints predict`). */
  framing?: PhotoFraming;
  /** Photos predicted together (default 16): bounds the memory decoded photos take. */
  chunk?: number;
  /** Test-time augmentation of every crop, as predict runs it (default flip averaging). */
  tta?: Tta;
}

/** One scored face, enough to draw it: the photo, the true and predicted points, the region the model saw. */
export interface PhotoFace {
  file: string;
  row: number;
  truth: PredictedPoint[];
  predicted?: PredictedPoint[];
  box?: { x: number; y: number; size: number };
}

export interface PhotoEvaluation extends Evaluation {
  framing: PhotoFraming;
  photos: number;
  /** Labelled faces with a matching detection (all of them for 'truth'). */
  found: number;
  /** Detections matching no labelled face. */
  extra: number;
  /** The faces in `rows` order of the scores (found ones; `worst[i].face` indexes this). */
  scored: PhotoFace[];
  /** Labelled faces the detector did not find. */
  missedFaces: PhotoFace[];
}

/**
 * For each model keypoint, the data columns whose mean is its true position: the same name, or
 * (68-point data, names p00…p67) the iBUG points Kaggle's name is the mean of. A model keypoint
 * with neither is an error that lists both sets.
 */
export function truthSources(model: readonly string[], data: readonly string[], source: string): number[][] {
  const ibug = ibug68Sources(model);
  return model.map((name, k) => {
    const same = data.indexOf(name);
    if (same >= 0) return [same];
    const cols = ibug[k]?.map((i) => data.indexOf(IBUG68_NAMES[i]!));
    if (cols && cols.every((c) => c >= 0)) return cols;
    throw new UserError(`${source}: the model's keypoint ${name} is not in the data (${data.slice(0, 6).join(', ')}${data.length > 6 ? ', …' : ''}) and does not map to its points`);
  });
}

function meanPoints(raw: Float64Array, sources: number[][], names: readonly string[]): PredictedPoint[] {
  return sources.map((cols, k) => {
    let x = 0, y = 0;
    for (const c of cols) [x, y] = [x + raw[2 * c]!, y + raw[2 * c + 1]!];
    return { name: names[k]!, x: x / cols.length, y: y / cols.length };
  });
}

/** The box of the labelled points as a FaceBox, and their centroid. */
function pointsBox(points: PredictedPoint[]): { box: FaceBox; cx: number; cy: number } | undefined {
  const ok = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (ok.length < 2) return undefined;
  const xs = ok.map((p) => p.x), ys = ok.map((p) => p.y);
  const x0 = Math.min(...xs), y0 = Math.min(...ys);
  const box = { x: x0, y: y0, width: Math.max(...xs) - x0, height: Math.max(...ys) - y0, score: 1 };
  return { box, cx: xs.reduce((a, b) => a + b) / ok.length, cy: ys.reduce((a, b) => a + b) / ok.length };
}

/**
 * A detection is a labelled face's when it holds the points' centroid and at least half their box,
 * and is no more than 4 times the box's size (√area): the box of a few points (Kaggle's 15 span
 * brows to lip) is much smaller than a detector's, so IoU alone would refuse good matches.
 * The best-covering detection wins; the others count as extra.
 */
export function faceMatch(detection: { x: number; y: number; width: number; height: number }, truth: { box: FaceBox; cx: number; cy: number }): number {
  const { box, cx, cy } = truth;
  if (!(cx >= detection.x && cx <= detection.x + detection.width && cy >= detection.y && cy <= detection.y + detection.height)) return 0;
  const w = Math.min(detection.x + detection.width, box.x + box.width) - Math.max(detection.x, box.x);
  const h = Math.min(detection.y + detection.height, box.y + box.height) - Math.max(detection.y, box.y);
  const area = Math.max(box.width * box.height, 1);
  if (Math.sqrt(detection.width * detection.height) > 4 * Math.sqrt(area)) return 0;
  const cover = Math.max(0, w) * Math.max(0, h) / area;
  return cover >= 0.5 ? cover : 0;
}

export async function evaluatePhotoFolder(source: ModelSource, dir: string, opts: PhotoEvaluateOptions = {}): Promise<PhotoEvaluation> {
  const model = keypointModelOf(source);
  const framing = opts.framing ?? 'refined';
  const names = model.keypoints;
  let sources: number[][] = [];
  const scored: PhotoFace[] = [], missedFaces: PhotoFace[] = [];
  let extra = 0, photos = 0;
  const rows = labelledPhotos(dir, undefined, (data) => (sources = truthSources(names, data, `${dir}/keypoints.csv`)));

  const flush = async (chunk: Array<{ path: string; row: number; image: PredictInput['image']; truth: PredictedPoint[] }>) => {
    // Rows naming one photo are its faces; the photo is predicted once.
    const byPhoto = new Map<string, typeof chunk>();
    for (const r of chunk) byPhoto.set(r.path, [...(byPhoto.get(r.path) ?? []), r]);
    const inputs: PredictInput[] = [...byPhoto.values()].map((faces) => ({
      file: faces[0]!.path,
      image: faces[0]!.image,
      ...(framing === 'truth' && { regions: faces.map((f) => trainingCrop(f.truth) ?? { x: 0, y: 0, size: Math.max(f.image.width, f.image.height) }) }),
    }));
    const results = await predictImages(model, inputs, { ...opts, detect: 'on', refine: framing === 'refined' });
    photos += results.length;
    results.forEach((res, i) => {
      const faces = [...byPhoto.values()][i]!;
      if (framing === 'truth') {
        faces.forEach((f, j) => scored.push({ file: f.path, row: f.row, truth: f.truth, predicted: res.faces[j]!.keypoints, box: res.faces[j]!.box }));
        return;
      }
      const free = new Set(res.faces.keys());
      for (const f of faces) {
        const pb = pointsBox(f.truth);
        let best = -1, bestCover = 0;
        for (const j of free) {
          const cover = pb ? faceMatch(res.faces[j]!.detection!, pb) : 0;
          if (cover > bestCover) [best, bestCover] = [j, cover];
        }
        if (best < 0) missedFaces.push({ file: f.path, row: f.row, truth: f.truth });
        else {
          free.delete(best);
          scored.push({ file: f.path, row: f.row, truth: f.truth, predicted: res.faces[best]!.keypoints, box: res.faces[best]!.box });
        }
      }
      extra += free.size;
    });
  };

  let chunk: Parameters<typeof flush>[0] = [];
  for await (const p of rows) {
    chunk.push({ path: p.path, row: p.row, image: p.image, truth: meanPoints(p.points, sources, names) });
    if (chunk.length < (opts.chunk ?? 16)) continue;
    await flush(chunk);
    chunk = [];
  }
  if (chunk.length) await flush(chunk);
  if (!scored.length && !missedFaces.length) throw new InputError({ file: dir }, 'no labelled faces to evaluate');

  const K = names.length;
  const coords = new Float32Array(scored.length * K * 2), pred = new Float32Array(scored.length * K * 2);
  scored.forEach((f, r) =>
    names.forEach((_, k) => {
      [coords[(r * K + k) * 2], coords[(r * K + k) * 2 + 1]] = [f.truth[k]!.x, f.truth[k]!.y];
      [pred[(r * K + k) * 2], pred[(r * K + k) * 2 + 1]] = [f.predicted![k]!.x, f.predicted![k]!.y];
    }),
  );
  const set: FaceSet = { source: dir, width: 0, height: 0, keypoints: [...names], count: scored.length, pixels: new Float32Array(0), coords, rows: Int32Array.from(scored.map((f) => f.row)) };
  const ev = scorePredictions(pred, set, names.map((_, k) => k), K, missedFaces.length);
  return { ...ev, framing, photos, found: scored.length, extra, scored, missedFaces };
}
