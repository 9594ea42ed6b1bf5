// The model predict uses before any training: face-api's network moved by a fixed calibration.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { applySimilarity, FACE_API_INIT, faceApiZeroShot, initBackend, KAGGLE_KEYPOINTS, openPredictModel, READY_CALIBRATION, READY_MODEL, readyModel, withModel } from '../src/index.ts';
import { tempDir } from './fixtures/files.ts';

const dir = tempDir('kp-ready-');
after(() => rmSync(dir, { recursive: true, force: true }));
before(() => initBackend('wasm'));

test('the ready model answers face-api\'s mapped points moved by READY_CALIBRATION', async () => {
  const x = Float32Array.from({ length: 2 * 96 * 96 }, (_, i) => ((i * 7919) % 256) / 255);
  const base = faceApiZeroShot(KAGGLE_KEYPOINTS, 96), ready = readyModel();
  try {
    const want = applySimilarity(Float32Array.from(await base.predict(x, 2)), READY_CALIBRATION);
    const got = await ready.predict(x, 2);
    assert.deepEqual(ready.keypoints, [...KAGGLE_KEYPOINTS]);
    assert.equal(got.length, 2 * 15 * 2);
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-4, `${i}: ${got[i]} vs ${want[i]}`);
    // The calibration is a real move (about a pixel), not the identity.
    const raw = await base.predict(x, 2);
    assert.ok(Math.abs(got[1]! - raw[1]!) > 0.5);
  } finally {
    base.dispose();
    ready.dispose();
  }
});

test('openPredictModel: no run in the folder gives the ready model without refine passes; face-api-68 by name is uncalibrated', async () => {
  const r = await openPredictModel(undefined, dir);
  assert.deepEqual([r.name, r.origin, r.refine, r.tta], [READY_MODEL, 'ready', false, 'none']);
  r.model.dispose();
  const f = await openPredictModel(FACE_API_INIT, dir);
  assert.deepEqual([f.name, f.origin, f.refine, f.tta], [FACE_API_INIT, 'given', false, 'none']);
  f.model.dispose();
});

test('withModel disposes of the model after its use, also when the use throws', async () => {
  let disposed = 0;
  const opening = () => Promise.resolve({ model: { dispose: () => void disposed++ } });
  assert.equal(await withModel(opening(), async () => 7), 7);
  assert.equal(disposed, 1);
  await assert.rejects(withModel(opening(), async () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(disposed, 2);
});
