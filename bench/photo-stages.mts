import { evaluatePhotoFolder, faceApiZeroShot, initBackend, KAGGLE_KEYPOINTS, loadRun, asKeypointModel } from '../packages/core/src/index.ts';
await initBackend('auto');
const PH = '/work/shared/data/faces96/photos';
const which = process.argv[2] ?? 'face-api-68';
const detector = (process.argv[3] ?? 'tiny') as 'tiny' | 'ssd';
const framings = (process.argv[4] ?? 'truth,detector,refined').split(',');
const model = which === 'face-api-68' ? faceApiZeroShot(KAGGLE_KEYPOINTS, 96) : asKeypointModel(await loadRun(which));
for (const framing of framings) {
  const ev = await evaluatePhotoFolder(model, PH, { framing: framing as 'truth', detector });
  console.log(JSON.stringify({ which, detector, framing, nme: +(ev.nme * 100).toFixed(2), median: +(ev.scored.length ? [...ev.worst].length : 0), rmse: +ev.rmse.toFixed(2), found: ev.found, missed: ev.missed, extra: ev.extra, auc: +ev.ced.auc.toFixed(3), fail: +ev.ced.failureRate.toFixed(3), norm: ev.normalisers, missedFiles: ev.missedFaces.map((f) => f.file.split('/').pop()) }));
}
