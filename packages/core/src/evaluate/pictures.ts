/** The evaluation pictures of a scored face set or photo folder: per-keypoint.png, ced.png, worst.png. */
import path from 'node:path';
import { decodeImage, grayToRgba } from '../data/image.js';
import type { FaceSet } from '../data/types.js';
import { readRegularFile } from '../util/paths.js';
import { trainingCrop } from '../predict/index.js';
import { cropTile, writeEvaluationPictures, type FaceTile } from '../report/evaluation.js';
import type { LabelledPoint } from '../report/overlay.js';
import { WORST_FACES } from './landmarks.js';
import type { PhotoEvaluation, PhotoFace } from './photos.js';
import type { Evaluation } from './score.js';

const nmeText = (v: number) => `NME ${(v * 100).toFixed(1)} %`;

/** Worst faces of a face set (its own crops), truth and prediction in the crop's pixels. */
export function setTiles(set: FaceSet, ev: Evaluation, predictions: Float32Array, index: number[], modelK: number): FaceTile[] {
  const K = set.keypoints.length, S = set.width * set.height;
  return ev.worst.map((w) => {
    const truth: LabelledPoint[] = set.keypoints.map((name, k) => ({ name, x: set.coords[(w.face * K + k) * 2]!, y: set.coords[(w.face * K + k) * 2 + 1]! }));
    const predicted = set.keypoints.map((name, k) => ({ name, x: predictions[(w.face * modelK + index[k]!) * 2]!, y: predictions[(w.face * modelK + index[k]!) * 2 + 1]! }));
    return { image: grayToRgba(set.pixels.subarray(w.face * S, (w.face + 1) * S), set.width, set.height), truth, predicted, caption: `row ${set.rows[w.face]} · ${nmeText(w.nme)}` };
  });
}

/** A photo's face, cut around the truth with a margin (so a prediction far off still shows). */
async function photoTile(face: PhotoFace, caption: string): Promise<FaceTile> {
  const image = decodeImage(await readRegularFile(face.file, { file: face.file }, 'the image'), face.file);
  const c = trainingCrop(face.truth) ?? { x: 0, y: 0, size: Math.max(image.width, image.height) };
  const grow = c.size * 0.15;
  const { image: tile, points } = cropTile(image, { x: c.x - grow, y: c.y - grow, size: c.size + 2 * grow }, face.truth, face.predicted);
  return { image: tile, truth: points[0]!, predicted: points[1], caption };
}

/** Missed faces first (nothing predicted), then the worst scored ones, up to WORST_FACES. */
export async function photoTiles(ev: PhotoEvaluation): Promise<FaceTile[]> {
  const tiles: FaceTile[] = [];
  for (const f of ev.missedFaces.slice(0, WORST_FACES)) tiles.push(await photoTile(f, `${path.basename(f.file)} · not found`));
  for (const w of ev.worst.slice(0, WORST_FACES - tiles.length)) tiles.push(await photoTile(ev.scored[w.face]!, `${path.basename(ev.scored[w.face]!.file)} · ${nmeText(w.nme)}`));
  return tiles;
}

export async function writePictures(dir: string, title: string, ev: Evaluation, tiles: FaceTile[]) {
  return writeEvaluationPictures(dir, { title, perKeypoint: ev.perKeypoint, ced: { name: 'faces', ...ev.ced }, worst: tiles });
}
