import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/backend/index.ts';
import { resolveConfig } from '../src/config/resolve.ts';
import { KAGGLE_KEYPOINTS } from '../src/data/schema.ts';
import { splitIndices, subset } from '../src/data/split.ts';
import { syntheticFaceSet } from '../src/data/synthetic.ts';
import { UserError } from '../src/errors.ts';
import { evaluateModel } from '../src/evaluate/index.ts';
import { combineModels } from '../src/model/combine.ts';
import { asKeypointModel, listRuns, loadRun } from '../src/train/run-folder.ts';
import { DEFAULT_SPECIALIST_GROUPS, groupRows, specialistGroups, trainRun } from '../src/train/specialists.ts';

before(async () => {
  await initBackend('wasm');
});

const root = mkdtempSync(path.join(tmpdir(), 'kp-specialists-test-'));

/** A network that ignores its input and outputs `values` (zero kernel, the values as bias). */
function constant(values: number[]): tfl.LayersModel {
  const m = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [4, 4, 1] }), tfl.layers.dense({ units: values.length, name: 'output' })] });
  const [k, b] = m.getWeights();
  m.setWeights([tf.zerosLike(k!), tf.tensor1d(values)]);
  return m;
}

describe('specialists', () => {
  it('combineModels puts every part\'s points where the order names them', () => {
    const model = combineModels([{ model: constant([1, 2, 3, 4]), keypoints: ['b', 'd'] }, { model: constant([5, 6, 7, 8]), keypoints: ['a', 'c'] }], ['a', 'b', 'c', 'd']);
    const y = (model.predict(tf.zeros([2, 4, 4, 1])) as tf.Tensor).arraySync() as number[][];
    assert.deepEqual(y[0], [5, 6, 1, 2, 7, 8, 3, 4]);
    assert.deepEqual(y[1], [5, 6, 1, 2, 7, 8, 3, 4]);
    model.dispose();
  });

  it('default groups cover Kaggle\'s 15 keypoints once; named groups are checked against the data', () => {
    const groups = specialistGroups(KAGGLE_KEYPOINTS, undefined, 'config');
    assert.deepEqual(groups.flatMap((g) => g.keypoints).sort(), [...KAGGLE_KEYPOINTS].sort());
    assert.throws(() => specialistGroups(['a', 'b'], [{ name: 'one', keypoints: ['a'] }], 'x.json'), (e: Error) => e instanceof UserError && /x\.json: specialists\.groups: b in no group/.test(e.message));
    assert.throws(() => specialistGroups(['a', 'b'], [{ name: 'one', keypoints: ['a', 'z'] }], 'x.json'), /groups\[0\] \(one\): "z" is not a keypoint/);
    assert.throws(() => specialistGroups(['a', 'b'], [{ name: 'one', keypoints: ['a', 'b'] }, { name: 'two', keypoints: ['b'] }], 'x.json'), /"b" is already in group one/);
    assert.throws(() => specialistGroups(['p00', 'p01'], undefined, 'config'), /default specialist groups.*"left_eye_center" is not a keypoint/);
  });

  it('a group trains on the rows that have all its keypoints', () => {
    const set = syntheticFaceSet({ count: 6, seed: 1, size: 32 });
    const K = set.keypoints.length, nose = set.keypoints.indexOf('nose_tip'), eye = set.keypoints.indexOf('left_eye_center');
    set.coords[(1 * K + nose) * 2] = NaN; // row 1 lacks the nose
    set.coords[(2 * K + eye) * 2 + 1] = NaN; // row 2 lacks an eye coordinate
    const nosePart = groupRows(set, ['nose_tip']);
    assert.equal(nosePart.count, 5);
    assert.deepEqual([...nosePart.rows], [...set.rows].filter((_, r) => r !== 1));
    assert.deepEqual(nosePart.keypoints, ['nose_tip']);
    assert.equal(groupRows(set, ['left_eye_center', 'right_eye_center']).count, 5);
  });

  it('trains one run folder per group, loads as one model whose points come from each group\'s net in the data\'s order, and evaluates per keypoint', async () => {
    const all = syntheticFaceSet({ count: 120, seed: 4, size: 32 });
    const sp = splitIndices(all.count, 0.25, 1);
    const data = { train: subset(all, sp.train), val: subset(all, sp.val) };
    const config = resolveConfig({ preset: 'tiny', backend: 'wasm', seed: 3, model: { conv: [{ filters: 4, kernel: 3 }], dense: [8] }, train: { epochs: 1, batchSize: 32 }, specialists: {} });
    const runDir = path.join(root, 'spec');
    const summary = await trainRun({ runDir, config, data });
    for (const g of DEFAULT_SPECIALIST_GROUPS) assert.ok(existsSync(path.join(runDir, g.name, 'model.json')), `${g.name} has a model`);
    const manifest = JSON.parse(await readFile(path.join(runDir, 'specialists.json'), 'utf8'));
    assert.deepEqual(manifest.keypoints, [...KAGGLE_KEYPOINTS]);
    // A group's config.json is an ordinary run's (no specialists section: it must not train specialists itself).
    assert.equal(JSON.parse(await readFile(path.join(runDir, 'nose', 'config.json'), 'utf8')).specialists, undefined);

    const run = await loadRun(runDir);
    assert.deepEqual(run.keypoints, [...KAGGLE_KEYPOINTS]);
    const x = data.val.pixels.subarray(0, 3 * 32 * 32);
    const combined = await asKeypointModel(run).predict(x, 3);
    for (const g of DEFAULT_SPECIALIST_GROUPS) {
      const part = await loadRun(path.join(runDir, g.name));
      const own = await asKeypointModel(part).predict(x, 3);
      for (let i = 0; i < 3; i++) {
        g.keypoints.forEach((name, j) => {
          const k = KAGGLE_KEYPOINTS.indexOf(name as (typeof KAGGLE_KEYPOINTS)[number]);
          for (let c = 0; c < 2; c++) assert.ok(Math.abs(combined[(i * 15 + k) * 2 + c]! - own[(i * g.keypoints.length + j) * 2 + c]!) < 1e-4, `${name} of image ${i} comes from ${g.name}`);
        });
      }
      part.model.dispose();
    }

    const ev = await evaluateModel(run, data.val, { tta: 'none' }); // summary.json scores one prediction per face, as the trainer validates
    run.model.dispose();
    assert.deepEqual(Object.keys(ev.perKeypoint), [...KAGGLE_KEYPOINTS]);
    for (const k of KAGGLE_KEYPOINTS) assert.ok(Number.isFinite(ev.perKeypoint[k]!.rmse) && ev.perKeypoint[k]!.count > 0, k);
    const saved = JSON.parse(await readFile(path.join(runDir, 'summary.json'), 'utf8'));
    assert.ok(Math.abs(saved.bestValRmse - ev.rmse) < 1e-3, 'summary.json scores the combined model on the validation rows');
    assert.equal(summary.bestValRmse, saved.bestValRmse);
    assert.ok(Math.abs(saved.perKeypoint.nose_tip.rmse - ev.perKeypoint.nose_tip!.rmse) < 1e-3);
    assert.equal(saved.specialists.length, 6);
    // The groups' time breakdowns add up, as their seconds do.
    const t = saved.timeBreakdownSeconds as Record<string, number>;
    assert.ok(Math.abs(Object.values(t).reduce((x, y) => x + y, 0) - saved.seconds) < 1e-6 && t.step! > 0, JSON.stringify(t));
    // The newest-model lookup (predict/evaluate without --model, the server) sees it as a model.
    assert.equal((await listRuns(root)).find((r) => r.dir === runDir)?.hasModel, true);

    // --init: a general run whose network differs is refused by name.
    const general = path.join(root, 'general');
    await trainRun({ runDir: general, config: resolveConfig({ preset: 'tiny', backend: 'wasm', model: { conv: [{ filters: 6, kernel: 3 }], dense: [8] }, train: { epochs: 1, batchSize: 32 } }), data });
    await assert.rejects(trainRun({ runDir: path.join(root, 'spec-init'), config: { ...config, specialists: { init: general } }, data }), (e: Error) => e instanceof UserError && e.message.startsWith(`${general}: its network differs`));
  });
});
