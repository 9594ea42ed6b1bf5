// NME, CED and worst faces against hand computations; photo evaluation on photos whose true points are known.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { cedCurve, decodeImage, encodePng, evaluatePhotoFolder, faceNormaliser, initBackend, landmarkScores, OUTER_CORNERS_PER_EYE_CENTRES, writeEvaluationPictures } from '../src/index.ts';
import type { KeypointModel } from '../src/index.ts';
import { FACES96, tempDir } from './fixtures/files.ts';

const dir = tempDir('kp-landmarks-');
after(() => rmSync(dir, { recursive: true, force: true }));
const close = (a: number, b: number, what: string, tol = 1e-9) => assert.ok(Math.abs(a - b) < tol, `${what}: ${a} vs ${b}`);

const NAMES = ['left_eye_center', 'right_eye_center', 'left_eye_outer_corner', 'right_eye_outer_corner', 'nose_tip'];

describe('landmark scores', () => {
  test('normaliser: outer corners, else eye centres × 1.374, else the points box (iBUG names too)', () => {
    assert.deepEqual(faceNormaliser(NAMES, [60, 40, 30, 40, 70, 40, 20, 40, 45, 60]), { value: 50, kind: 'outer-eye-corners' });
    const c = faceNormaliser(NAMES, [60, 40, 40, 40, NaN, NaN, NaN, NaN, 50, 60])!;
    assert.equal(c.kind, 'eye-centres');
    close(c.value, 20 * OUTER_CORNERS_PER_EYE_CENTRES, 'eye centres');
    const ibug = Array.from({ length: 68 }, (_, i) => `p${String(i).padStart(2, '0')}`);
    const pts = new Array(136).fill(50);
    [pts[72], pts[73], pts[90], pts[91]] = [10, 20, 40, 60]; // p36 (10, 20), p45 (40, 60): 50 apart
    assert.deepEqual(faceNormaliser(ibug, pts), { value: 50, kind: 'outer-eye-corners' });
    assert.deepEqual(faceNormaliser(['a', 'b', 'c'], [0, 0, 8, 2, NaN, 1]), { value: 4, kind: 'points-box' }); // √(8·2)
    assert.equal(faceNormaliser(['a', 'b'], [1, 1, NaN, NaN]), undefined, 'one point has no box');
  });

  test('per keypoint and per face NME, CED, AUC, failures and worst faces, as computed by hand', () => {
    const truth = [
      [60, 40, 30, 40, 70, 40, 20, 40, 45, 60], // outer corners 50 apart
      [60, 40, 40, 40, NaN, NaN, NaN, NaN, 50, 60], // eye centres 20 apart: 27.48
      [NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, 50, 60], // one point: no normaliser, not scored
    ].flat();
    const pred = [
      [63, 44, 30, 40, 70, 40, 20, 40, 45, 70], // errors 5, 0, 0, 0, 10
      [60, 40, 46, 48, 0, 0, 0, 0, 50, 60], // errors 0, 10, -, -, 0
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ].flat();
    const s = landmarkScores(pred, truth, NAMES, 3, [0, 1, 2, 3, 4], 5, 1);
    const n1 = 20 * 1.374;
    const face0 = 15 / 5 / 50, face1 = 10 / 3 / n1;
    close(s.nme, (face0 + face1) / 2, 'mean NME');
    assert.equal(s.faces, 2);
    assert.deepEqual(s.normalisers, { 'outer-eye-corners': 1, 'eye-centres': 1 });
    close(s.perKeypointNme.left_eye_center!, (5 / 50 + 0) / 2, 'left eye');
    close(s.perKeypointNme.right_eye_center!, (0 + 10 / n1) / 2, 'right eye');
    close(s.perKeypointNme.left_eye_outer_corner!, 0, 'corner');
    close(s.perKeypointNme.nose_tip!, (10 / 50 + 0) / 2, 'nose');
    assert.deepEqual(s.worst.map((w) => [w.face, w.normaliser, w.points]), [[1, 'eye-centres', 3], [0, 'outer-eye-corners', 5]]);
    close(s.worst[1]!.meanError, 3, 'mean error in px');
    // CED over 3 faces (2 scored + 1 missed): face 0 at 6 %, face 1 at 12.1 % (past the 10 % limit).
    const at = (t: number) => s.ced.fractions[s.ced.thresholds.findIndex((x) => Math.abs(x - t) < 1e-12)]!;
    assert.equal(s.ced.thresholds.length, 51);
    assert.equal(at(0.05), 0);
    assert.equal(at(0.07), 1 / 3);
    assert.equal(at(0.1), 1 / 3);
    close(s.ced.auc, (0.1 - face0) / (0.1 * 3), 'AUC@10%');
    close(s.ced.failureRate, 2 / 3, 'failures');
    assert.deepEqual(cedCurve([], 0), { thresholds: cedCurve([], 0).thresholds, fractions: new Array(51).fill(0), auc: 0, failureRate: 0 });
  });

  test('the three pictures are PNGs; the worst faces come 4 to a row', async () => {
    const img = { width: 32, height: 32, data: new Uint8Array(32 * 32 * 4).fill(128) };
    const pts = [{ name: 'nose_tip', x: 16, y: 16 }];
    const out = await writeEvaluationPictures(dir, {
      title: 'test',
      perKeypoint: { nose_tip: { rmse: 1, nme: 0.05, count: 2 }, mouth: { rmse: NaN, nme: NaN, count: 0 } },
      ced: { name: 'faces', ...cedCurve([0.02, 0.05], 1) },
      worst: Array.from({ length: 5 }, (_, i) => ({ image: img, truth: pts, predicted: i ? pts : undefined, caption: `face ${i}` })),
    });
    assert.deepEqual(Object.values(out).map((f) => path.basename(f)), ['per-keypoint.png', 'ced.png', 'worst.png']);
    const worst = decodeImage(readFileSync(out.worst), 'worst.png');
    assert.equal(worst.width, 4 * 208 + 8);
    assert.equal(worst.height, 44 + 2 * (200 + 18 + 8) + 8, 'two rows for 5 faces');
  });
});

describe('evaluatePhotoFolder', () => {
  // A 300×300 photo whose true eye midpoint (148.4, 137.8) and bottom lip (148.6, 178.9) frame the
  // training crop exactly at (100, 100), side 96: the model's input is the photo's pixels 100…196,
  // so its answers land 100 px further on in the photo.
  const TRUTH = [168.4, 137.8, 128.4, 137.8, 178.4, 137.8, 118.4, 137.8, 148.6, 178.9];
  const names = [...NAMES.slice(0, 4), 'mouth_center_bottom_lip'];
  const constant = (answer: number[]): KeypointModel => ({ keypoints: names, imageSize: 96, predict: (_x, n) => Float32Array.from({ length: n * answer.length }, (_, i) => answer[i % answer.length]!) });

  test('framing truth: scored in the photo\'s pixels against its known points; detector: a blank photo is a missed face', async () => {
    await initBackend('cpu');
    const photos = path.join(dir, 'photos');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(photos);
    const wall = { width: 300, height: 300, data: new Uint8Array(300 * 300 * 4).fill(200) };
    writeFileSync(path.join(photos, 'face.png'), encodePng(wall));
    writeFileSync(path.join(photos, 'keypoints.csv'), `file,${names.flatMap((n) => [`${n}_x`, `${n}_y`]).join(',')}\nface.png,${TRUTH.join(',')}\n`);
    // In the crop: left eye 3, 4 px off (error 5), lip 6 px low, the rest exact.
    const answer = TRUTH.map((v) => v - 100);
    answer[0]! += 3;
    answer[1]! += 4;
    answer[9]! += 6;
    const ev = await evaluatePhotoFolder(constant(answer), photos, { framing: 'truth', tta: 'none' }); // a constant answer is no mirror image of itself
    assert.equal(ev.found, 1);
    assert.equal(ev.missed, 0);
    close(ev.scored[0]!.predicted![0]!.x, 171.4, 'left eye x in photo pixels', 1e-5); // the model's answers are float32
    close(ev.rmse, Math.sqrt((9 + 16 + 36) / 10), 'RMSE', 1e-5); // the model's answers are float32
    close(ev.nme, 11 / 5 / 60, 'NME: (5 + 6) / 5 points / 60 px between the outer corners', 1e-5); // the model's answers are float32
    close(ev.perKeypoint.mouth_center_bottom_lip!.nme, 6 / 60, 'lip NME', 1e-5); // the model's answers are float32
    assert.deepEqual(ev.scored[0]!.box, { x: 100, y: 100, size: 96 });

    const missed = await evaluatePhotoFolder(constant(answer), photos, { framing: 'detector' });
    assert.equal(missed.found, 0);
    assert.equal(missed.missed, 1);
    assert.equal(missed.ced.failureRate, 1);
    assert.equal(path.basename(missed.missedFaces[0]!.file), 'face.png');
  });

  test('real photos (faces96): a 68-point keypoints.csv scores a Kaggle-named model through the mapped points', { skip: existsSync(path.join(FACES96, 'photos')) ? false : 'no faces96 photos' }, async () => {
    const photos = path.join(dir, 'real');
    const { mkdirSync, copyFileSync } = await import('node:fs');
    mkdirSync(photos);
    const lines = readFileSync(path.join(FACES96, 'photos', 'keypoints.csv'), 'utf8').trim().split('\n');
    for (const l of lines.slice(1, 3)) copyFileSync(path.join(FACES96, 'photos', l.split(',')[0]!), path.join(photos, l.split(',')[0]!));
    writeFileSync(path.join(photos, 'keypoints.csv'), lines.slice(0, 3).join('\n') + '\n');
    // The model answers with the training framing's own eye and lip positions: with truth framing
    // those land on the true eye midpoint and lip, so the lip error is the placement's residual only.
    const kaggle = constant([48.4 + 10, 37.8, 48.4 - 10, 37.8, 48.4 + 18, 37.8, 48.4 - 18, 37.8, 48.6, 78.9]);
    const ev = await evaluatePhotoFolder(kaggle, photos, { framing: 'truth', tta: 'none' }); // a constant answer is no mirror image of itself
    assert.equal(ev.found, 2);
    assert.deepEqual(ev.normalisers, { 'outer-eye-corners': 2 });
    assert.ok(ev.perKeypoint.mouth_center_bottom_lip!.nme < 0.05, `lip lands on the truth: ${ev.perKeypoint.mouth_center_bottom_lip!.nme}`);
  });
});
