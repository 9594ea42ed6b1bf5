import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/index.ts';
import { reluMaxPool2 } from '../src/backend/ops/relu-pool.ts';
import { resolveConfig } from '../src/config/resolve.ts';
import { buildModel, forwardInfer, forwardTrain } from '../src/model/index.ts';
import { l2Penalty } from '../src/train/loss.ts';

function maxRel(a: Float32Array, b: Float32Array): number {
  let scale = 1e-12, worst = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst / scale;
}

describe('training forward pass (first conv without the images gradient, fused ReLU + max-pool)', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`on ${backend}: same output and weight gradients as the layers themselves`, async () => {
      await initBackend(backend);
      // The seed network's shape at a small size: conv 5×5 + bias, ReLU, pool 2; twice; dense.
      const cfg = resolveConfig({ preset: 'seed', model: { dense: [16], dropout: 0 } }, 'test').model;
      const model = buildModel(cfg, { imageSize: 20, outputs: 6, seed: 3 });
      const x = tf.randomUniform([3, 20, 20, 1], 0, 1, 'float32', 5);
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const grads = (f: () => tf.Scalar) => {
        const { value, grads } = tf.variableGrads(f, vars);
        return { value: value.dataSync()[0]!, g: vars.map((v) => grads[v.name]!.dataSync() as Float32Array) };
      };
      const ours = grads(() => tf.sum(tf.square(forwardTrain(model, x, 0))) as tf.Scalar);
      const layers = grads(() => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar);
      assert.ok(Math.abs(ours.value - layers.value) <= 1e-5 * Math.abs(layers.value), `loss ${ours.value} vs ${layers.value}`);
      vars.forEach((v, i) => assert.ok(maxRel(ours.g[i]!, layers.g[i]!) < 1e-4, `${v.name}: error ${maxRel(ours.g[i]!, layers.g[i]!)}`));
      assert.ok(ours.g.every((g) => g.some((e) => e !== 0)), 'every weight gets a gradient');
      tf.dispose([x]);
      model.dispose();
    });

    it(`on ${backend}: forwardInfer equals model.predict (moving batch-norm statistics, no dropout)`, async () => {
      await initBackend(backend);
      const cfg = resolveConfig({ preset: 'default' }, 'test').model;
      const model = buildModel(cfg, { imageSize: 32, outputs: 6, seed: 4 });
      // Non-trivial moving statistics, so inference batch norm really differs from training mode.
      for (const w of model.weights) {
        if (/moving_(mean|variance)$/.test(w.originalName)) w.write(tf.randomUniform(w.shape as number[], 0.2, 1.5, 'float32', 7));
      }
      const x = tf.randomUniform([40, 32, 32, 1], 0, 1, 'float32', 6); // > 32: predict's own loop splits it
      const a = forwardInfer(model, x), b = model.predict(x) as tf.Tensor;
      assert.deepEqual(a.shape, b.shape);
      assert.ok(maxRel(a.dataSync() as Float32Array, b.dataSync() as Float32Array) < 1e-5, `error ${maxRel(a.dataSync() as Float32Array, b.dataSync() as Float32Array)}`);
      // Batch norm is folded into the convolutions once; new weights (as training writes them) are seen.
      const tensors = tf.memory().numTensors;
      tf.dispose(forwardInfer(model, x));
      assert.equal(tf.memory().numTensors, tensors, 'a second call makes no new tensors');
      for (const w of model.weights) {
        if (/(moving_mean|kernel)$/.test(w.originalName)) w.write(tf.randomUniform(w.shape as number[], -0.5, 0.5, 'float32', 8));
      }
      const c = forwardInfer(model, x), d = model.predict(x) as tf.Tensor;
      assert.ok(maxRel(c.dataSync() as Float32Array, d.dataSync() as Float32Array) < 1e-5, `after new weights: error ${maxRel(c.dataSync() as Float32Array, d.dataSync() as Float32Array)}`);
      tf.dispose([x, a, b, c, d]);
      model.dispose();
    });

    it(`on ${backend}: the L2 penalty is coef·Σw² with gradient 2·coef·w`, async () => {
      await initBackend(backend);
      const a = tf.variable(tf.randomNormal([30, 7], 0, 1, 'float32', 9)), b = tf.variable(tf.randomNormal([5], 0, 1, 'float32', 10));
      const { value, grads } = tf.variableGrads(() => l2Penalty([a, b], 0.3), [a, b]);
      const expect = 0.3 * (tf.sum(tf.square(a)).dataSync()[0]! + tf.sum(tf.square(b)).dataSync()[0]!);
      assert.ok(Math.abs(value.dataSync()[0]! - expect) < 1e-5 * expect);
      for (const v of [a, b]) assert.ok(maxRel(grads[v.name]!.dataSync() as Float32Array, tf.mul(v, 0.6).dataSync() as Float32Array) < 1e-6, v.name);
      tf.dispose([a, b, value, ...Object.values(grads)]);
    });

    it(`on ${backend}: reluMaxPool2 gradient equals ReLU then max-pool, ties and odd sizes included`, async () => {
      await initBackend(backend);
      for (const [shape, seed] of [[[2, 6, 8, 4], 1], [[1, 7, 5, 3], 2], [[2, 5, 5, 8], 3], [[4, 80, 100, 12], 4], [[3, 41, 40, 8], 5]] as const) {
        // Rounded values make ties (and all-negative windows) common.
        const x = tf.tidy(() => tf.round(tf.mul(tf.randomNormal(shape as unknown as number[], 0, 1, 'float32', seed), 2)));
        const dy = tf.randomNormal([shape[0], shape[1] >> 1, shape[2] >> 1, shape[3]], 0, 1, 'float32', seed + 10);
        const fused = tf.grad((t: tf.Tensor) => reluMaxPool2(t as tf.Tensor4D))(x, dy);
        const plain = tf.grad((t: tf.Tensor) => tf.maxPool(tf.relu(t as tf.Tensor4D), 2, 2, 'valid'))(x, dy);
        // + 0 turns −0 (ReLU's gradient as dy·0) into 0: the same value.
        assert.deepEqual(Array.from(fused.dataSync(), (v) => v + 0), Array.from(plain.dataSync(), (v) => v + 0), `shape ${shape}`);
        assert.deepEqual(Array.from(reluMaxPool2(x as tf.Tensor4D).dataSync()), Array.from(tf.maxPool(tf.relu(x as tf.Tensor4D), 2, 2, 'valid').dataSync()));
        tf.dispose([x, dy, fused, plain]);
      }
    });
  }
});
