import { asKeypointModel } from '../train/run-folder.js';
import type { LoadedRun } from '../train/run-folder.js';

/**
 * What predict and evaluate need of a trained network, apart from how it is stored or run:
 * keypoint names, the input size, and a batch function returning pixel coordinates
 * (n × keypoints × 2, in the size×size input's pixels).
 */
export interface KeypointModel {
  readonly keypoints: readonly string[];
  readonly imageSize: number;
  /** The raw answers: no flip averaging, no offsets (withTta adds both). */
  predict(x: Float32Array, n: number): Float32Array | Promise<Float32Array>;
  /** Offsets a trained run fitted on its training faces (predict/offsets.ts); withTta subtracts them. */
  readonly offsets?: OutputOffsets;
}

/** Per TTA mode, keypoints × 2 pixel offsets (x, y each, in the model's input pixels) to subtract from its answers. */
export interface OutputOffsets {
  flip: number[];
  none: number[];
  /** Training faces they were fitted on. */
  faces: number;
}

/** A loaded run folder (`loadRun`) or anything that predicts like one (tests use small fakes). */
export type ModelSource = KeypointModel | LoadedRun;

export function keypointModelOf(m: ModelSource): KeypointModel {
  return 'predict' in m ? m : asKeypointModel(m);
}
