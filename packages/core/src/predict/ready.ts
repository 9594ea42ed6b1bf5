/** Which model answers `predict`: the one asked for, else the newest trained run, else a model ready before any training. */
import { KAGGLE_KEYPOINTS } from '../data/schema.js';
import { applySimilarity, type Similarity } from '../evaluate/zero-shot.js';
import { FACE_API_INIT, faceApiZeroShot } from '../model/face-api.js';
import { asKeypointModel, listRuns, loadRun, type LoadedRun } from '../train/run-folder.js';
import type { KeypointModel } from './model.js';
import type { Tta } from './tta.js';

/**
 * The model that answers when no run is given and none is trained: face-api's 68-point landmark
 * network as npm ships it, mapped to Kaggle's 15 keypoints, then moved by READY_CALIBRATION.
 */
export const READY_MODEL = 'face-api-68-calibrated';

/**
 * The similarity transform (in the model's 96-pixel input) that takes face-api's mapped points to
 * where faces96's labels put Kaggle's keypoints: fitted by `keypoints evaluate --model face-api-68
 * --data faces96/train.csv.gz --split val --calibrate` on the 3,115 training rows (seed 42). It
 * took face-api's error on the 346 validation crops from 2.28 to 1.62 px, and on faces96's 120
 * photos (detector's box) from 6.73 % to 4.50 % mean NME: about a 2-epoch `pretrained` model.
 */
export const READY_CALIBRATION: Similarity = { a: 1.007831, b: -0.001934, tx: 0.982925, ty: 1.475734 };

/** face-api's network on Kaggle's 15 keypoints, its answers moved by READY_CALIBRATION. */
export function readyModel(): KeypointModel & { dispose(): void } {
  const base = faceApiZeroShot(KAGGLE_KEYPOINTS, 96);
  return { ...base, predict: async (x, n) => applySimilarity(Float32Array.from(await base.predict(x, n)), READY_CALIBRATION) };
}

/** A model opened by name with its own defaults: predict and evaluate both open theirs here. */
export interface OpenedModel {
  model: KeypointModel & { dispose(): void };
  /**
   * Whether to re-crop from the first prediction by default: yes for trained runs; not for
   * face-api's net, which reads the detector's crop well (on faces96's photos 6.7 % NME from the
   * box, 7.5 % refined; calibrated 4.5 and 4.7 %).
   */
  refine: boolean;
  /** Test-time augmentation by default: flip averaging for trained runs; none for face-api's net (it answers as npm ships it). */
  tta: Tta;
  /** The run folder, for a trained model (evaluate splits rows with its config). */
  run?: LoadedRun;
}

export interface PredictModel extends OpenedModel {
  /** A run folder's path, READY_MODEL or FACE_API_INIT. */
  name: string;
  /** How it was chosen: named by the caller, the newest run under the runs folder, or the ready model (no run). */
  origin: 'given' | 'newest-run' | 'ready';
}

/** What FACE_API_INIT answers: these keypoints (those it knows) for images of this size. */
export interface FaceApiTarget {
  keypoints: readonly string[];
  imageSize: number;
}

/**
 * Opens a run folder, READY_MODEL or FACE_API_INIT. `faceApi` is asked only for FACE_API_INIT
 * (evaluate answers its data's keypoints; default Kaggle's 15 at 96 px).
 */
export async function openModel(name: string, faceApi: () => FaceApiTarget | Promise<FaceApiTarget> = () => ({ keypoints: KAGGLE_KEYPOINTS, imageSize: 96 })): Promise<OpenedModel> {
  if (name === READY_MODEL) return { model: readyModel(), refine: false, tta: 'none' };
  if (name === FACE_API_INIT) {
    const { keypoints, imageSize } = await faceApi();
    return { model: faceApiZeroShot(keypoints, imageSize), refine: false, tta: 'none' };
  }
  const run = await loadRun(name);
  return { model: { ...asKeypointModel(run), dispose: () => run.model.dispose() }, refine: true, tta: 'flip', run };
}

/** Runs `use` on a model as it opens, and disposes of the model after (also when `use` throws). */
export async function withModel<O extends { model: { dispose(): void } }, T>(opening: Promise<O>, use: (opened: O) => Promise<T>): Promise<T> {
  const opened = await opening;
  try {
    return await use(opened);
  } finally {
    opened.model.dispose();
  }
}

/** Opens the model for predict: `given` (a run folder, READY_MODEL or FACE_API_INIT), else the newest run with a model in `runsFolder`, else READY_MODEL. */
export async function openPredictModel(given: string | undefined, runsFolder: string): Promise<PredictModel> {
  let name = given, origin: PredictModel['origin'] = 'given';
  if (!name) {
    const newest = (await listRuns(runsFolder)).find((r) => r.hasModel);
    [name, origin] = newest ? [newest.dir, 'newest-run'] : [READY_MODEL, 'ready'];
  }
  return { name, origin, ...(await openModel(name)) };
}

/** Model names that are no run folder (nothing to write pictures into, nothing to load from disk but face-api's weights). */
export function isBuiltInModel(name: string): boolean {
  return name === READY_MODEL || name === FACE_API_INIT;
}
