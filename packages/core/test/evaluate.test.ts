import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { encodePng, evaluateModel, evaluateRequest, evaluateRun, ExitCode, FACE_API_INIT, initBackend, KAGGLE_KEYPOINTS, matchKeypoints, READY_MODEL, saveModel, UserError, writeSubmission } from '../src/index.ts';
import type { FaceSet, KeypointModel, Tta } from '../src/index.ts';
import { kaggleCsv, tempDir, writeText } from './fixtures/files.ts';

const dir = tempDir('kp-evaluate-');
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A model whose answer for a row is looked up by the row's first pixel (row r has pixels r/100), so
 * tests can hand it exact predictions. Outputs are in input pixels, as KeypointModel says.
 */
function tableModel(keypoints: string[], byRow: number[][], imageSize = 96): KeypointModel {
  return {
    keypoints,
    imageSize,
    predict(x, n) {
      const out = new Float32Array(n * keypoints.length * 2);
      for (let b = 0; b < n; b++) out.set(byRow[Math.round(x[b * imageSize * imageSize]! * 100)]!, b * keypoints.length * 2);
      return out;
    },
  };
}

function labelledSet(keypoints: string[], coords: number[], side = 96): FaceSet {
  const count = coords.length / (keypoints.length * 2);
  const pixels = new Float32Array(count * side * side);
  for (let r = 0; r < count; r++) pixels.fill(r / 100, r * side * side, (r + 1) * side * side);
  return { source: 'labels.csv', width: side, height: side, keypoints, count, pixels, coords: Float32Array.from(coords), rows: Int32Array.from({ length: count }, (_, i) => i + 2) };
}

describe('evaluateModel', () => {
  test('RMSE over present coordinates, overall and per keypoint, matching a hand computation', async () => {
    // Data columns a, b; the model outputs b then a (order differs on purpose).
    const set = labelledSet(['a', 'b'], [10, 20, 30, NaN, /* row 2 */ NaN, NaN, 50, 60]);
    const model = tableModel(['b', 'a'], [
      [33, 0, 13, 24], // a: errors 3, 4; b: x error 3 (y missing)
      [50, 52, 99, 99], // a: all missing; b: errors 0, -8
    ]);
    const ev = await evaluateModel(model, set);
    // a: (9 + 16) / 2; b: (9 + 0 + 64) / 3; overall: 98 / 5.
    assert.ok(Math.abs(ev.perKeypoint.a!.rmse - Math.sqrt(12.5)) < 1e-6, String(ev.perKeypoint.a!.rmse));
    assert.equal(ev.perKeypoint.a!.count, 2);
    assert.ok(Math.abs(ev.perKeypoint.b!.rmse - Math.sqrt(73 / 3)) < 1e-6);
    assert.equal(ev.perKeypoint.b!.count, 3);
    assert.ok(Math.abs(ev.rmse - Math.sqrt(19.6)) < 1e-6);
    assert.equal(ev.count, 5);
    assert.equal(ev.rows, 2);
    assert.equal(evaluateRun, evaluateModel);
  });

  test('data of another size is scored in its own pixels', async () => {
    // A 48 px set; the model sees it resized to 96 and answers in 96 px: (40, 40) there is (20, 20) here.
    const set = labelledSet(['a'], [20, 23], 48);
    const ev = await evaluateModel(tableModel(['a'], [[40, 40]]), set);
    assert.ok(Math.abs(ev.rmse - Math.sqrt(9 / 2)) < 1e-6, String(ev.rmse));
  });

  test('a keypoint set that does not match the model is a user error naming both sets', async () => {
    const set = labelledSet(['left_eye_center', 'nose_tip'], [1, 2, 3, 4]);
    await assert.rejects(evaluateModel(tableModel(['left_eye_center', 'mouth_center_bottom_lip'], [[0, 0, 0, 0]]), set), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.exitCode, ExitCode.input);
      assert.match(e.message, /labels\.csv: its keypoints do not match the model's/);
      assert.match(e.message, /model \(2\): left_eye_center, mouth_center_bottom_lip/);
      assert.match(e.message, /data \(2\): left_eye_center, nose_tip/);
      assert.match(e.message, /missing in the data: mouth_center_bottom_lip/);
      assert.match(e.message, /not in the model: nose_tip/);
      return true;
    });
    assert.deepEqual(matchKeypoints(['x', 'y', 'z'], ['z', 'x', 'y'], 's'), [2, 0, 1]);
    // Disjoint sets (a 68-point file for a 15-point model): the two lists, long ones shortened.
    const p68 = Array.from({ length: 68 }, (_, i) => `p${String(i).padStart(2, '0')}`);
    assert.throws(() => matchKeypoints(['a', 'b'], p68, 'photos'), (e: Error) => {
      assert.equal(e.message, `photos: its keypoints do not match the model's.\n  model (2): a, b\n  data (68): ${p68.slice(0, 20).join(', ')}, … (48 more)`);
      return true;
    });
  });

  test('a set with no labelled coordinate is an input error, not a NaN', async () => {
    await assert.rejects(evaluateModel(tableModel(['a'], [[1, 1]]), labelledSet(['a'], [NaN, NaN])), /labels\.csv: no labelled keypoints to score/);
  });
});

describe('writeSubmission', () => {
  const row = (value: number) => Array.from({ length: 96 * 96 }, () => Math.round(value * 255)).join(' ');
  // Pixel value r/100 identifies the row for tableModel; 255 * r / 100 must round back to r.
  const testCsv = path.join(dir, 'test.csv');
  writeFileSync(testCsv, `ImageId,Image\n1,${row(0)}\n2,${row(0.01)}\n`);

  test("writes Kaggle's RowId,Location for each lookup row, clipped to [0, 96], atomically", async () => {
    const lookup = path.join(dir, 'IdLookupTable.csv');
    writeFileSync(lookup, 'RowId,ImageId,FeatureName,Location\n1,1,a_x,\n2,1,b_y,\n3,2,a_y,\n4,2,b_x,\n5,2,a_x,\n');
    const model = tableModel(['a', 'b'], [
      [10.123456, -3, 50, 120.5],
      [96.5, 47.25, 0.5, 33],
    ]);
    const out = path.join(dir, 'out', 'submission.csv');
    const { rows } = await writeSubmission({ run: model, testCsv, lookupCsv: lookup, out });
    assert.equal(rows, 5);
    assert.equal(readFileSync(out, 'utf8'), 'RowId,Location\n1,10.1235\n2,96.0000\n3,47.2500\n4,0.5000\n5,96.0000\n');
    assert.deepEqual(readdirSync(path.dirname(out)), ['submission.csv']);
  });

  test('a lookup row naming an unknown image or feature is an input error with its row', async () => {
    const model = tableModel(['a', 'b'], [[1, 1, 1, 1], [1, 1, 1, 1]]);
    const badImage = path.join(dir, 'lookup-image.csv');
    writeFileSync(badImage, 'RowId,ImageId,FeatureName,Location\n1,1,a_x,\n2,3,a_x,\n');
    await assert.rejects(writeSubmission({ model, testCsv, lookupCsv: badImage, out: path.join(dir, 's1.csv') }), /lookup-image\.csv, row 3, field "ImageId": image 3 is not in/);
    const badFeature = path.join(dir, 'lookup-feature.csv');
    writeFileSync(badFeature, 'RowId,ImageId,FeatureName,Location\n1,1,nose_tip_x,\n');
    await assert.rejects(writeSubmission({ model, testCsv, lookupCsv: badFeature, out: path.join(dir, 's2.csv') }), /lookup-feature\.csv, row 2, field "FeatureName": "nose_tip_x" is not one of the model's keypoints/);
  });
});

describe('evaluateRequest: each model\'s own TTA default, an explicit tta over it', () => {
  // Kaggle's 15 keypoints (the ready model answers those) about where its faces have them.
  const at: Record<string, [number, number]> = {
    left_eye_center: [66, 38], right_eye_center: [30, 38], left_eye_inner_corner: [59, 39], left_eye_outer_corner: [73, 39], right_eye_inner_corner: [37, 39], right_eye_outer_corner: [22, 39],
    left_eyebrow_inner_end: [57, 29], left_eyebrow_outer_end: [80, 30], right_eyebrow_inner_end: [39, 29], right_eyebrow_outer_end: [16, 30],
    nose_tip: [48, 62], mouth_left_corner: [63, 76], mouth_right_corner: [33, 76], mouth_center_top_lip: [48, 72], mouth_center_bottom_lip: [48, 82],
  };
  const names = [...KAGGLE_KEYPOINTS], truth = names.flatMap((n) => at[n]!);
  // Three 96 px faces of lopsided noise, so a mirrored face predicts something else.
  const grey = (r: number) => Array.from({ length: 96 * 96 }, (_, i) => ((i * 7919 + r * 104729) % 256) * ((i % 96) / 96));
  const csv = writeText(dir, 'tta.csv', kaggleCsv([0, 1, 2].map((r) => `${truth.join(',')},${grey(r).map(Math.round).join(' ')}`), names));
  const photos = path.join(dir, 'tta-photos');
  const run = path.join(dir, 'tta-run');
  before(async () => {
    await initBackend('cpu');
    mkdirSync(photos);
    for (const r of [0, 1]) writeText(photos, `p${r}.png`, encodePng({ width: 96, height: 96, data: Uint8Array.from(grey(r).flatMap((v) => [v, v, v, 255])) }));
    writeText(photos, 'keypoints.csv', `file,${names.flatMap((n) => [`${n}_x`, `${n}_y`]).join(',')}\np0.png,${truth.join(',')}\np1.png,${truth.join(',')}\n`);
    const model = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [96, 96, 1] }), tfl.layers.dense({ units: 30, kernelInitializer: 'glorotUniform' })] });
    await saveModel(model, run, { keypoints: names, imageSize: 96, preset: 'test', epoch: 1, valRmse: 1 });
    writeText(run, 'config.json', '{}');
  });

  for (const [model, own] of [[run, 'flip'], [READY_MODEL, 'none'], [FACE_API_INIT, 'none']] as const) {
    for (const framing of [undefined, 'truth'] as const) {
      test(`${model === run ? 'a run' : model}${framing ? ' on photos' : ''}: ${own} unless told`, async () => {
        const rmse = async (tta?: Tta) => {
          const r = await evaluateRequest({ model, data: framing ? photos : csv, framing, tta });
          assert.equal(r.tta, tta ?? own);
          return r.evaluation.rmse;
        };
        const [byDefault, flip, none] = [await rmse(), await rmse('flip'), await rmse('none')];
        assert.equal(byDefault, own === 'flip' ? flip : none);
        assert.notEqual(flip, none, 'flip averaging changes the answer: the explicit tta was used');
      });
    }
  }
});
