// What each stage of framing costs on a folder of labelled photos (default faces96's 120):
//   node --import tsx bench/photo-stages.mts MODEL [tiny|ssd] [truth,detector,refined] [second-look: on|off] [photo folder]
// MODEL: a run folder, face-api-68 (mapped to Kaggle's 15 keypoints, as predict uses it) or face-api-68-calibrated (the ready model).
// One JSON line per stage: mean NME (%), RMSE in photo px, faces found / missed, extra detections.
import path from 'node:path';
import { evaluatePhotoFolder, initBackend, openPredictModel } from '../packages/core/src/index.ts';
import type { PhotoFraming } from '../packages/core/src/index.ts';

const [which = 'face-api-68', detector = 'tiny', stages = 'truth,detector,refined', look = 'on', photos = path.resolve(import.meta.dirname, '../../shared/data/faces96/photos')] = process.argv.slice(2);
await initBackend('auto');
const { model } = await openPredictModel(which, 'runs');
for (const framing of stages.split(',') as PhotoFraming[]) {
  const ev = await evaluatePhotoFolder(model, photos, { framing, detector: detector as 'tiny' | 'ssd', ...(look === 'off' && { secondLook: false as const }) });
  console.log(JSON.stringify({ model: which, detector, framing, secondLook: look, nmePct: +(ev.nme * 100).toFixed(2), rmsePx: +ev.rmse.toFixed(2), found: ev.found, missed: ev.missed, extra: ev.extra, auc10: +ev.ced.auc.toFixed(3), failures10: +ev.ced.failureRate.toFixed(3), missedFiles: ev.missedFaces.map((f) => path.basename(f.file)), worst: ev.worst.slice(0, 5).map((w) => `${path.basename(ev.scored[w.face]!.file)} ${(w.nme * 100).toFixed(1)}%`) }));
}
