/** Damaged or hostile run folders (issue 14): one-line errors naming the file, weight paths kept inside the folder. */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/backend/index.ts';
import { InputError } from '../src/errors.ts';
import { loadCheckpoint, loadRun, readMetrics, saveCheckpoint, saveModel } from '../src/train/run-folder.ts';
import { tempDir, writeText } from './fixtures/files.ts';

const META = { keypoints: ['a'], imageSize: 4, preset: 'test', epoch: 1, valRmse: 1 };

/** A run folder holding a tiny model (4 inputs, 2 outputs) and a valid config.json. */
async function runFolder(): Promise<string> {
  const dir = tempDir('kp-run-');
  const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [4] })] });
  await saveModel(model, dir, META);
  writeText(dir, 'config.json', '{}');
  return dir;
}

function oneLine(re: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof InputError, `an InputError, got ${(err as Error)?.stack}`);
    assert.doesNotMatch(err.message, /[\u0000-\u001f]/);
    assert.match(err.message, re);
    return true;
  };
}

before(async () => {
  await initBackend('cpu');
});

describe('model.json weight paths stay inside the run folder', () => {
  const setPaths = (dir: string, paths: string[]) => {
    const file = path.join(dir, 'model.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.weightsManifest[0].paths = paths;
    writeFileSync(file, JSON.stringify(json));
  };

  test('a valid folder loads', async () => {
    const run = await loadRun(await runFolder());
    assert.deepEqual(run.keypoints, ['a']);
  });

  test('../, an absolute path and /dev/zero are refused by name, even when they hold matching weights', async () => {
    const dir = await runFolder(), other = tempDir('kp-other-');
    copyFileSync(path.join(dir, 'weights.bin'), path.join(other, 'w.bin'));
    setPaths(dir, [path.relative(dir, path.join(other, 'w.bin'))]);
    await assert.rejects(loadRun(dir), oneLine(/model\.json, field "weightsManifest\.paths": weights file "\.\.\/.*w\.bin" points outside .*only files inside the folder are read/));
    setPaths(dir, ['/etc/passwd']);
    await assert.rejects(loadRun(dir), oneLine(/weights file "\/etc\/passwd" points outside/));
    setPaths(dir, ['../../../../../../../../dev/zero']);
    await assert.rejects(loadRun(dir), oneLine(/weights file "\.\.\/.*dev\/zero" points outside/));
  });
});

describe('damaged run folders give one-line errors naming the file', () => {
  test('config.json and summary.json that are not JSON objects', async () => {
    const dir = await runFolder();
    writeText(dir, 'config.json', '{"epochs": 3,');
    await assert.rejects(loadRun(dir), oneLine(/config\.json: not valid JSON \(.*\); the file is damaged/));
    writeText(dir, 'config.json', '{}');
    writeText(dir, 'summary.json', '[1, 2]');
    await assert.rejects(loadRun(dir), oneLine(/summary\.json: not valid JSON: expected an object, found an array/));
  });

  test('a bad metrics.jsonl line names its row', async () => {
    const dir = tempDir('kp-run-');
    writeText(dir, 'metrics.jsonl', '{"epoch":1}\n{"epoch":2,"trainLoss":\n');
    await assert.rejects(readMetrics(dir), oneLine(/metrics\.jsonl, row 2: not a JSON line/));
    writeText(dir, 'metrics.jsonl', '{"epoch":1}\n\n{"epoch":2}\n');
    assert.equal((await readMetrics(dir)).length, 2);
  });

  const checkpoint = async () => {
    const dir = tempDir('kp-ck-');
    const w = [Float32Array.of(1, 2, 3, 4, 5, 6)], shape = [[2, 3]];
    await saveCheckpoint(dir, {
      state: { version: 2, epoch: 1, step: 3, plannedEpochs: 2, elapsedSeconds: 1, bestValLoss: 0.5, bestEpoch: 1, sinceBest: 0, shapes: { weights: shape, best: shape, optimizer: shape }, optimizer: 'adam', optimizerStep: 3 },
      weights: w,
      best: [Float32Array.of(6, 5, 4, 3, 2, 1)],
      optimizer: [Float32Array.of(0, 0, 0, 0, 0, 1)],
    });
    return dir;
  };

  test('checkpoint: a .bin of odd length, state.json without shapes, a missing optimizer.bin', async () => {
    const ok = await checkpoint();
    assert.deepEqual([...(await loadCheckpoint(ok)).weights[0]!], [1, 2, 3, 4, 5, 6]);

    const odd = await checkpoint();
    truncateSync(path.join(odd, 'checkpoint', 'best.bin'), 23);
    await assert.rejects(loadCheckpoint(odd), oneLine(/best\.bin, field "checkpoint files\.best": holds other bytes than the checkpoint recorded/));
    // The version 3 layout (no `files`, no fingerprints): the size itself is checked.
    const oddFile = path.join(odd, 'checkpoint', 'state.json'), v3 = JSON.parse(readFileSync(oddFile, 'utf8'));
    delete v3.files;
    writeFileSync(oddFile, JSON.stringify({ ...v3, version: 3 }));
    await assert.rejects(loadCheckpoint(odd), oneLine(/best\.bin: 23 bytes is not a whole number of 32-bit floats: the checkpoint is damaged/));

    const noShapes = await checkpoint(), stateFile = path.join(noShapes, 'checkpoint', 'state.json');
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    delete state.shapes;
    writeFileSync(stateFile, JSON.stringify(state));
    await assert.rejects(loadCheckpoint(noShapes), oneLine(/state\.json, field "shapes\.weights": missing or not a list of tensor shapes/));
    writeFileSync(stateFile, 'null');
    await assert.rejects(loadCheckpoint(noShapes), oneLine(/state\.json: not valid JSON: expected an object, found null/));

    const noOpt = await checkpoint();
    rmSync(path.join(noOpt, 'checkpoint', 'optimizer.bin'));
    await assert.rejects(loadCheckpoint(noOpt), oneLine(/optimizer\.bin: the file does not exist/));

    // Version 4 names each list's file and its SHA-256: another file's bytes, or a path out of the folder, are refused.
    const swapped = await checkpoint();
    writeFileSync(path.join(swapped, 'checkpoint', 'best.bin'), Buffer.from(Float32Array.of(1, 1, 1, 1, 1, 1).buffer));
    await assert.rejects(loadCheckpoint(swapped), oneLine(/best\.bin, field "checkpoint files\.best": holds other bytes than the checkpoint recorded \(SHA-256 differs\)/));
    const outside = await checkpoint(), outFile = path.join(outside, 'checkpoint', 'state.json');
    const st = JSON.parse(readFileSync(outFile, 'utf8'));
    st.files.weights.file = '../../../etc/passwd';
    writeFileSync(outFile, JSON.stringify(st));
    await assert.rejects(loadCheckpoint(outside), oneLine(/state\.json, field "files\.weights": not one of the checkpoint's files/));
  });
});
