/** Which model answers `predict`: the one asked for, else the newest trained run, else a model ready before any training. */
import { KAGGLE_KEYPOINTS } from '../data/schema.js';
import { FACE_API_INIT, faceApiZeroShot } from '../model/face-api.js';
import { asKeypointModel, listRuns, loadRun } from '../train/run-folder.js';
import type { KeypointModel } from './model.js';

/**
 * The model that answers when no run is given and none is trained: face-api's 68-point landmark
 * network as npm ships it, mapped to Kaggle's 15 keypoints. On faces96's 120 photos (tiny
 * detector) it scored 6.7 % mean NME, against 8.0 % for a `default` model trained 3 epochs even
 * with perfect face boxes (packages/core/README.md, "Predicting on photos").
 */
export const READY_MODEL = FACE_API_INIT;

export interface PredictModel {
  /** A run folder's path, or READY_MODEL. */
  name: string;
  /** How it was chosen: named by the caller, the newest run under the runs folder, or the ready model (no run). */
  origin: 'given' | 'newest-run' | 'ready';
  model: KeypointModel & { dispose(): void };
  /**
   * Whether to re-crop from the first prediction by default: yes for trained runs; not for
   * face-api's net, which reads the detector's crop well (6.7 % NME from the box, 7.5 % refined).
   */
  refine: boolean;
}

/** Opens the model for predict: `given` (a run folder or READY_MODEL), else the newest run with a model in `runsFolder`, else READY_MODEL. */
export async function openPredictModel(given: string | undefined, runsFolder: string): Promise<PredictModel> {
  let name = given, origin: PredictModel['origin'] = 'given';
  if (!name) {
    const newest = (await listRuns(runsFolder)).find((r) => r.hasModel);
    [name, origin] = newest ? [newest.dir, 'newest-run'] : [READY_MODEL, 'ready'];
  }
  if (name === FACE_API_INIT) return { name, origin, model: faceApiZeroShot(KAGGLE_KEYPOINTS, 96), refine: false };
  const run = await loadRun(name);
  return { name, origin, model: { ...asKeypointModel(run), dispose: () => run.model.dispose() }, refine: true };
}
