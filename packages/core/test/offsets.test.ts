import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/backend/index.ts';
import type { FaceSet } from '../src/data/types.ts';
import { InputError } from '../src/errors.ts';
import type { KeypointModel } from '../src/predict/model.ts';
import { fitOutputOffsets, meanSignedError } from '../src/predict/offsets.ts';
import { withTta } from '../src/predict/tta.ts';
import { asKeypointModel, loadRun, saveModel } from '../src/train/run-folder.ts';

before(async () => {
  await initBackend('wasm');
});

const S = 8;
const NAMES = ['left_eye_center', 'right_eye_center', 'nose_tip'];
/** Answers the same points for every image: flip averaging of it is easy to write out by hand. */
const constant: KeypointModel = { keypoints: NAMES, imageSize: S, predict: (_x, n) => Float32Array.from({ length: n * 6 }, (_, i) => [5, 3, 2, 3.5, 4, 6][i % 6]!) };

function faces(coords: number[][]): FaceSet {
  return { source: 'test', width: S, height: S, keypoints: NAMES, count: coords.length, pixels: new Float32Array(coords.length * S * S), coords: Float32Array.from(coords.flat()), rows: Int32Array.from(coords, (_, i) => i + 2) };
}

describe('output offsets', () => {
  it('meanSignedError: pred − truth per coordinate over the labelled ones, 0 where none are', () => {
    const pred = Float32Array.from([1, 2, 3, 4, 2, 2, 5, 4]);
    const truth = Float32Array.from([0, NaN, 1, NaN, 1, 3, 2, NaN]);
    assert.deepEqual(meanSignedError(pred, truth, 2, 4), [(1 + 1) / 2, -1, (2 + 3) / 2, 0]);
  });

  it('fitOutputOffsets: the plain and the flip-averaged mean errors, computed by hand', async () => {
    const set = faces([
      [4, 3, 3, 3, 4, 5],
      [6, 3, 1, 4, NaN, NaN],
    ]);
    const o = await fitOutputOffsets(constant, set);
    assert.equal(o.faces, 2);
    assert.deepEqual(o.none, [(1 - 1) / 2, 0, (-1 + 1) / 2, (0.5 - 0.5) / 2, 0, 1]);
    // Flip averaging (tta.ts): left eye x = (5 + (8 − 2)) / 2 = 5.5, y = (3 + 3.5) / 2 = 3.25; right eye
    // x = (2 + (8 − 5)) / 2 = 2.5, y 3.25; nose x = (4 + 4) / 2 = 4, y 6.
    assert.deepEqual(o.flip, [(1.5 - 0.5) / 2, 0.25, (-0.5 + 1.5) / 2, (0.25 - 0.75) / 2, 0, 1]);
  });

  it('withTta takes the offsets of its mode off after flip averaging, once', async () => {
    const offsets = { flip: [0.5, 0.25, 0.5, -0.25, 0, 1], none: [1, 0, 0, 0, 0, 2], faces: 2 };
    const m: KeypointModel = { ...constant, offsets };
    const x = new Float32Array(S * S);
    assert.deepEqual(Array.from(await withTta(m, 'none').predict(x, 1)), [4, 3, 2, 3.5, 4, 4]);
    assert.deepEqual(Array.from(await withTta(m, 'flip').predict(x, 1)), [5, 3, 2, 3.5, 4, 5]);
    // The wrapped model carries no offsets: wrapping it again subtracts nothing more.
    assert.deepEqual(Array.from(await withTta(withTta(m, 'flip'), 'none').predict(x, 1)), [5, 3, 2, 3.5, 4, 5]);
    // Without offsets nothing changes.
    assert.deepEqual(Array.from(await withTta(constant, 'none').predict(x, 1)), [5, 3, 2, 3.5, 4, 6]);
  });

  it('model.json carries them; loadRun reads them back and refuses malformed ones, naming the field', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kp-offsets-'));
    const net = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [S, S, 1] }), tfl.layers.dense({ units: 6 })] });
    const offsets = { flip: [0.5, 0.25, 0.5, -0.25, 0, 1], none: [1, 0, 0, 0, 0, 2], faces: 2 };
    await saveModel(net, dir, { keypoints: NAMES, imageSize: S, preset: 'tiny', epoch: 1, valRmse: 1, offsets });
    const run = await loadRun(dir);
    assert.deepEqual(asKeypointModel(run).offsets, offsets);
    run.model.dispose();
    const file = path.join(dir, 'model.json');
    const json = JSON.parse(await readFile(file, 'utf8'));
    json.userDefinedMetadata.keypoints.offsets.flip = [1, 2, 3];
    await writeFile(file, JSON.stringify(json));
    await assert.rejects(loadRun(dir), (e: Error) => e instanceof InputError && /offsets\.flip/.test(e.message) && /must be 6 finite numbers/.test(e.message) && e.message.includes(file));
  });
});
