/** `evaluate` as one request (a run folder or face-api-68 zero-shot; all rows or the run's train/val split; optional calibration): the CLI's command and any other shell call it. */
import { readFaceSet } from '../data/read.js';
import type { FaceSet } from '../data/types.js';
import { UserError } from '../errors.js';
import { FACE_API_INIT, faceApiZeroShot } from '../model/face-api.js';
import type { KeypointModel } from '../predict/model.js';
import { withTta, type Tta } from '../predict/tta.js';
import { resolveConfig } from '../config/resolve.js';
import { splitForTraining } from '../train/data.js';
import { asKeypointModel, loadRun } from '../train/run-folder.js';
import { evaluateModel } from './index.js';
import type { Evaluation } from './score.js';
import { evaluateCalibrated, keepKeypoints, type Similarity } from './zero-shot.js';

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
  /** A run's test-time augmentation (default flip averaging); face-api-68 zero-shot always predicts once, as npm ships it. */
  tta?: Tta;
}

export interface EvaluateResult {
  evaluation: Evaluation & { similarity?: Similarity };
  /** What was scored, in sentences (zero-shot keypoints, the split, the calibration). */
  notes: string[];
}

export async function evaluateRequest(req: EvaluateRequest): Promise<EvaluateResult> {
  const split = req.split ?? 'all';
  if (req.calibrate && split !== 'val') throw new UserError('--calibrate fits on the training rows and scores the validation rows: use it with --split val');
  const run = req.model === FACE_API_INIT ? undefined : await loadRun(req.model);
  const notes: string[] = [];
  // RMSE is in the data's own pixels: images of another size are resized for the model, not the labels.
  let set: FaceSet = await readFaceSet(req.data);
  let model: KeypointModel & { dispose(): void };
  if (run) model = { ...withTta(asKeypointModel(run), req.tta), dispose: () => run.model.dispose() };
  else {
    model = faceApiZeroShot(set.keypoints, set.width === set.height ? set.width : 96);
    if (model.keypoints.length < set.keypoints.length) notes.push(`${FACE_API_INIT} knows ${model.keypoints.length} of the data's ${set.keypoints.length} keypoints; scoring those`);
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
  try {
    const evaluation = req.calibrate ? await evaluateCalibrated(model, fit!, set) : await evaluateModel(model, set, { tta: 'none' }); // a run's TTA is in `model` already
    const s = (evaluation as { similarity?: Similarity }).similarity;
    if (req.calibrate && s) notes.push(`calibrated on ${fit!.count} training rows (scale ${Math.hypot(s.a, s.b).toFixed(4)}, rotation ${((Math.atan2(s.b, s.a) * 180) / Math.PI).toFixed(2)}°, shift ${s.tx.toFixed(2)}, ${s.ty.toFixed(2)} px)`);
    return { evaluation, notes };
  } finally {
    model.dispose();
  }
}
