/** `evaluate` as one request (a run folder or face-api-68 zero-shot; all rows or the run's train/val split; optional calibration; photos through a framing stage; pictures): the CLI's command and the server call it. */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { readFaceSet } from '../data/read.js';
import { labelledPhotos } from '../data/read-folder.js';
import type { DetectorName } from '../detect/weights.js';
import type { FaceSet } from '../data/types.js';
import { throwIfCancelled, UserError } from '../errors.js';
import type { KeypointModel } from '../predict/model.js';
import { openModel, withModel } from '../predict/ready.js';
import { withTta, type Tta } from '../predict/tta.js';
import { resolveConfig } from '../config/resolve.js';
import { splitForTraining } from '../train/data.js';
import type { EVALUATION_PICTURES } from '../report/evaluation.js';
import { scoreModel, type Scored } from './index.js';
import { evaluatePhotoFolder, PHOTO_FRAMINGS, type PhotoFraming } from './photos.js';
import { photoTiles, setTiles, writePictures } from './pictures.js';
import type { Evaluation } from './score.js';
import { keepKeypoints, scoreCalibrated, type Similarity } from './zero-shot.js';

export interface EvaluateRequest {
  /** A run folder, or FACE_API_INIT: face-api's pretrained network with no training, on the keypoints it knows. */
  model: string;
  /** Labelled faces (Kaggle CSV or an image folder with keypoints.csv). */
  data: string;
  /** Rows to score: all, or the training run's train / validation split. */
  split?: 'all' | 'train' | 'val';
  /** Split seed and validation size; default the run's (else the schema's). */
  seed?: number;
  validation?: number;
  /** With split val: fit a similarity transform on the training rows' predictions first. */
  calibrate?: boolean;
  /**
   * A photo folder scored as `predict` meets photos, in the photos' pixels: each face cut from the
   * crop its true points imply (truth), the detector's box (detector), or that box refined
   * (refined). Without it a photo folder is read as crops framed from the true points, scored in
   * the crops' pixels, as training reads it.
   */
  framing?: PhotoFraming;
  detector?: DetectorName;
  minScore?: number;
  /** Write per-keypoint.png, ced.png and worst.png into this folder. */
  pictures?: string;
  /** Stops the data read, and the request before it predicts (a cancelled server request). */
  signal?: AbortSignal;
  /** Test-time augmentation; default the model's own (openModel: flip averaging for a run, none for face-api's net). */
  tta?: Tta;
}

/** What a photo evaluation found, beside the scores. */
export interface PhotoSummary {
  framing: PhotoFraming;
  photos: number;
  found: number;
  extra: number;
  /** Photos whose labelled face no detection matched. */
  missedFiles: string[];
}

export interface EvaluateResult {
  evaluation: Evaluation & { similarity?: Similarity };
  /** What was scored, in sentences (zero-shot keypoints, the split, the calibration). */
  notes: string[];
  /** The test-time augmentation the model ran with. */
  tta: Tta;
  photos?: PhotoSummary;
  /** The pictures written, when asked for. */
  pictures?: EvaluationPictures;
}

/** Paths of per-keypoint.png, ced.png and worst.png. */
export type EvaluationPictures = Record<keyof typeof EVALUATION_PICTURES, string>;

async function isFolder(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

export async function evaluateRequest(req: EvaluateRequest): Promise<EvaluateResult> {
  const split = req.split ?? 'all';
  if (req.calibrate && split !== 'val') throw new UserError('--calibrate fits on the training rows and scores the validation rows: use it with --split val');
  if (req.framing !== undefined) {
    if (!PHOTO_FRAMINGS.includes(req.framing)) throw new UserError(`framing must be one of ${PHOTO_FRAMINGS.join(', ')}, not ${JSON.stringify(req.framing)}`);
    if (split !== 'all' || req.calibrate) throw new UserError('--framing scores every photo of the folder: leave out --split and --calibrate');
    if (!(await isFolder(req.data))) throw new UserError(`--framing is for a folder of photos with a keypoints.csv; ${req.data} is not a folder`);
    return evaluatePhotos(req);
  }
  const notes: string[] = [];
  // RMSE is in the data's own pixels: images of another size are resized for the model, not the labels.
  let set: FaceSet = await readFaceSet(req.data, { signal: req.signal });
  throwIfCancelled(req.signal, 'evaluate');
  // face-api's net answers the data's own keypoints (those it knows), at the data's size when square.
  return withModel(openModel(req.model, () => ({ keypoints: set.keypoints, imageSize: set.width === set.height ? set.width : 96 })), async ({ model, run, tta: own }) => {
    const tta = req.tta ?? own;
    notes.push(...offsetsNote(model, tta));
    // face-api's net is scored on the keypoints it has; other data keypoints would fail matchKeypoints, which names them.
    if (!run && model.keypoints.length < set.keypoints.length && model.keypoints.every((k) => set.keypoints.includes(k))) {
      notes.push(`${req.model} knows ${model.keypoints.length} of the data's ${set.keypoints.length} keypoints; scoring those`);
      set = keepKeypoints(set, model.keypoints);
    }
    let fit: FaceSet | undefined;
    if (split !== 'all') {
      const base = run?.config ?? resolveConfig({});
      const config = { seed: req.seed ?? base.seed, data: { ...base.data, validation: req.validation ?? base.data.validation } };
      const parts = splitForTraining(set, config);
      fit = parts.train;
      set = split === 'val' ? parts.val : parts.train;
      notes.push(`${split} split: ${set.count} of ${parts.all.count} rows (seed ${config.seed}, validation ${config.data.validation})`);
    }
    const scored: Scored & { evaluation: { similarity?: Similarity } } = req.calibrate ? await scoreCalibrated(withTta(model, tta), fit!, set) : await scoreModel(model, set, { tta });
    const { evaluation } = scored;
    const s = evaluation.similarity;
    if (req.calibrate && s) notes.push(`calibrated on ${fit!.count} training rows (scale ${Math.hypot(s.a, s.b).toFixed(4)}, rotation ${((Math.atan2(s.b, s.a) * 180) / Math.PI).toFixed(2)}°, shift ${s.tx.toFixed(2)}, ${s.ty.toFixed(2)} px)`);
    const pictures = req.pictures ? await writePictures(req.pictures, `${path.basename(req.model)} on ${path.basename(req.data)}`, evaluation, setTiles(set, evaluation, scored.predictions, scored.index, scored.modelK)) : undefined;
    return { evaluation, notes, tta, ...(pictures && { pictures }) };
  });
}

/** A photo folder through one framing stage, in the photos' pixels. */
async function evaluatePhotos(req: EvaluateRequest): Promise<EvaluateResult> {
  const framing = req.framing!;
  const notes: string[] = [];
  // face-api's net answers the photos' keypoints (p00…p67 as they are, Kaggle's mapped).
  const faceApi = async () => {
    let keypoints: string[] = [];
    for await (const _ of labelledPhotos(req.data, undefined, (names) => (keypoints = names))) break;
    return { keypoints, imageSize: 96 };
  };
  return withModel(openModel(req.model, faceApi), async ({ model, tta: own }) => {
    const tta = req.tta ?? own;
    notes.push(...offsetsNote(model, tta));
    const ev = await evaluatePhotoFolder(model, req.data, { framing, detector: req.detector, minScore: req.minScore, tta });
    const { scored, missedFaces, framing: _f, photos, found, extra, ...evaluation } = ev;
    notes.push(`${photos} photos, faces cut from ${framing === 'truth' ? 'the crop their true points imply' : framing === 'detector' ? `the ${req.detector ?? 'tiny'} detector's box` : `the ${req.detector ?? 'tiny'} detector's box, refined`}; ${found} faces scored in the photos' pixels, ${missedFaces.length} not found, ${extra} extra detections`);
    const pictures = req.pictures ? await writePictures(req.pictures, `${path.basename(req.model)} on ${path.basename(req.data)} (${framing})`, evaluation, await photoTiles(ev)) : undefined;
    return { evaluation, notes, tta, photos: { framing, photos, found, extra, missedFiles: missedFaces.map((f) => f.file) }, ...(pictures && { pictures }) };
  });
}

/** Says so when a run's output offsets (predict/offsets.ts) are taken off its answers. */
const offsetsNote = (model: KeypointModel, tta: Tta): string[] => (model.offsets ? [`output offsets of the run (fitted on ${model.offsets.faces} training faces, for --tta ${tta}) taken off every answer`] : []);
