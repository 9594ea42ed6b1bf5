import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createGradientEngine, initBackend, type GradientEngine } from '../src/backend/index.ts';
import { forwardTrain, regularisedWeights } from '../src/model/index.ts';
import { l2Penalty, maskedMse } from '../src/train/loss.ts';

function model(): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(tfl.layers.conv2d({ inputShape: [20, 20, 1], filters: 4, kernelSize: 5, padding: 'same', activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 8, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }));
  m.add(tfl.layers.dense({ units: 6, kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }));
  return m;
}

const L2 = { dense: 1e-2, conv: 1e-3 };

describe('data-parallel gradient engine', () => {
  let m: tfl.LayersModel;
  let two: GradientEngine;
  let one: GradientEngine;
  let x: tf.Tensor;
  let y: tf.Tensor;
  let mask: tf.Tensor;
  before(async () => {
    await initBackend('wasm');
    m = model();
    // 7 rows: shards of 4 and 3, so the split is uneven.
    x = tf.randomUniform([7, 20, 20, 1], 0, 1, 'float32', 1);
    y = tf.randomUniform([7, 6], -1, 1, 'float32', 2);
    mask = tf.cast(tf.greater(tf.randomUniform([7, 6], 0, 1, 'float32', 3), 0.3), 'float32');
    two = await createGradientEngine({ model: m, threads: 2, l2: L2 });
    one = await createGradientEngine({ model: m, threads: 1, l2: L2 });
  });
  after(async () => {
    await two.dispose();
    await one.dispose();
    tf.dispose([x, y, mask]);
    m.dispose();
  });

  it('starts a worker', () => {
    assert.equal(two.threads, 2, two.note);
    assert.match(two.note, /main \+ 1 wasm worker/);
    assert.equal(one.threads, 1);
  });

  it('gives the full-batch masked-MSE loss and gradients (regularisation included once)', async () => {
    const a = await two.computeGradients(x, y, mask);
    const b = await one.computeGradients(x, y, mask);
    // Independent reference: the masked loss written out directly.
    // Reference: the trainer's loss on the whole batch, on this thread.
    const w = regularisedWeights(m);
    const ref = tf.variableGrads(() => tf.addN([maskedMse(forwardTrain(m, x, 0), y, mask), l2Penalty(w.dense, L2.dense), l2Penalty(w.conv, L2.conv)]) as tf.Scalar);
    const refLoss = (await ref.value.data())[0];
    assert.ok(Math.abs(a.loss - refLoss) < 1e-5 * refLoss, `${a.loss} vs ${refLoss}`);
    assert.ok(Math.abs(b.loss - refLoss) < 1e-5 * refLoss);
    assert.deepEqual(Object.keys(a.grads).sort(), Object.keys(ref.grads).sort());
    for (const k of Object.keys(ref.grads)) {
      const r = await ref.grads[k].data();
      const scale = Math.max(...Array.from(r, Math.abs));
      for (const g of [a.grads[k], b.grads[k]]) {
        const v = await g.data();
        const worst = Math.max(...Array.from(v, (e, i) => Math.abs(e - r[i])));
        assert.ok(worst <= 1e-5 * scale, `${k}: ${worst} vs scale ${scale}`);
      }
    }
    tf.dispose([ref.value, ...Object.values(ref.grads), ...Object.values(a.grads), ...Object.values(b.grads)]);
  });

  it('trains with applyGradients without leaking tensors', async () => {
    const opt = tf.train.adam(1e-2);
    const counts: number[] = [];
    const losses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const { loss, grads } = await two.computeGradients(x, y, mask);
      opt.applyGradients(grads as Parameters<typeof opt.applyGradients>[0]);
      tf.dispose(grads);
      losses.push(loss);
      counts.push(tf.memory().numTensors);
    }
    assert.equal(new Set(counts.slice(1)).size, 1, `tensor counts ${counts.join(',')}`);
    assert.ok(losses[7] < losses[0], `loss ${losses[0]} -> ${losses[7]}`);
    opt.dispose();
  });
});
