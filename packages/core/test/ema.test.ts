import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/backend/index.ts';
import { createWeightAverage, emaDecayAt } from '../src/train/ema.ts';

before(async () => {
  await initBackend('wasm');
});

/** A dense layer with batch norm: trainable weights and moving statistics, all averaged. */
function tinyModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [3] });
  const out = tfl.layers.batchNormalization().apply(tfl.layers.dense({ units: 2 }).apply(input)) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

const flat = (ts: tf.Tensor[]) => ts.map((t) => Array.from(t.dataSync()));
const setAll = (m: tfl.LayersModel, f: (i: number, j: number) => number) => m.setWeights(m.getWeights().map((w, i) => tf.tensor(Array.from({ length: w.size }, (_, j) => f(i, j)), w.shape)));

describe('weight average (train.ema)', () => {
  it('follows avg ← d·avg + (1 − d)·w with the ramped decay, over every weight (a hand-run reference)', async () => {
    const model = tinyModel();
    setAll(model, (i, j) => i + j / 10);
    const ref = flat(model.getWeights());
    const avg = createWeightAverage(model, 0.9);
    for (let step = 1; step <= 5; step++) {
      setAll(model, (i, j) => Math.sin(step * 7 + i * 3 + j)); // what an optimizer step left
      avg.update(step);
      const d = Math.min(0.9, step / (9 + step));
      const now = flat(model.getWeights());
      ref.forEach((r, i) => r.forEach((v, j) => (r[j] = d * v + (1 - d) * now[i]![j]!)));
    }
    const got = await avg.values();
    ref.forEach((r, i) => r.forEach((v, j) => assert.ok(Math.abs(got[i]![j]! - v) < 1e-5, `weight ${i}[${j}]: ${got[i]![j]} vs ${v}`)));
    assert.equal(emaDecayAt(0.9, 0), 0.1);
    assert.equal(emaDecayAt(0.9, 1000), 0.9);
    avg.dispose();
  });

  it('withAveraged runs on the average and puts the trained weights back (also when it throws)', async () => {
    const model = tinyModel();
    setAll(model, () => 1);
    const avg = createWeightAverage(model, 0.5);
    setAll(model, () => 3);
    avg.update(100); // decay 0.5: the average is 2
    const seen = await avg.withAveraged(async () => flat(model.getWeights()));
    assert.ok(seen.every((w) => w.every((v) => Math.abs(v - 2) < 1e-6)));
    assert.ok(flat(model.getWeights()).every((w) => w.every((v) => v === 3)));
    await assert.rejects(avg.withAveraged(async () => { throw new Error('boom'); }), /boom/);
    assert.ok(flat(model.getWeights()).every((w) => w.every((v) => v === 3)));
    assert.ok((await avg.values()).every((w) => w.every((v) => Math.abs(v - 2) < 1e-6)));
    avg.restore((await avg.values()).map((w) => w.map(() => 7)));
    assert.ok((await avg.values()).every((w) => w.every((v) => v === 7)));
  });
});
