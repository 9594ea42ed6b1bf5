/** The run folder's val-faces.png: the best model's predictions on the first validation faces. */
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { FaceSet } from '../data/types.js';
import { predictOnBackend } from '../model/forward.js';
import { renderValFaces } from '../report/val-faces.js';
import { writeFileAtomic } from '../util/atomic.js';

export const VAL_FACES_COUNT = 16;

export async function writeValFaces(runDir: string, model: tfl.LayersModel, val: FaceSet): Promise<void> {
  const n = Math.min(VAL_FACES_COUNT, val.count), S = val.width;
  const pred = await predictOnBackend(model, val.pixels.subarray(0, n * S * S), n, S);
  await writeFileAtomic(path.join(runDir, 'val-faces.png'), await renderValFaces(val, pred, { count: n }));
}
