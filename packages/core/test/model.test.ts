import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildModel, forwardTrain, modelCost, modelFlops, modelParams, regularisedWeights } from '../src/model/index.ts';
import { resolveConfig } from '../src/config/resolve.ts';
import type { ModelConfig } from '../src/config/schema.ts';
import { registerKeypointsKernels } from '../src/backend/register.ts';

before(async () => {
  await registerKeypointsKernels();
  await tf.setBackend('cpu');
});

const seedCfg = () => resolveConfig({ preset: 'seed' }).model;

describe('model: seed network', () => {
  it('has the seed script\'s layers, output shape and parameter count', () => {
    const m = buildModel(seedCfg(), { imageSize: 96, outputs: 30, seed: 1 });
    try {
      assert.deepEqual(m.inputs[0]!.shape, [null, 96, 96, 1]);
      assert.deepEqual(m.outputs[0]!.shape, [null, 30]);
      // conv 5×5×1×32 + 32, conv 5×5×32×64 + 64, dense 24·24·64→512, 512→512, 512→30.
      const expected = 5 * 5 * 32 + 32 + 5 * 5 * 32 * 64 + 64 + 36864 * 512 + 512 + 512 * 512 + 512 + 512 * 30 + 30;
      assert.equal(m.countParams(), expected);
      assert.equal(modelParams(seedCfg(), 96, 30), expected);
      const kinds = m.layers.map((l) => l.getClassName());
      assert.deepEqual(kinds, ['Conv2D', 'ReLU', 'MaxPooling2D', 'Conv2D', 'ReLU', 'MaxPooling2D', 'Flatten', 'Dense', 'Dense', 'Dropout', 'Dense']);
    } finally {
      m.dispose();
    }
  });

  it('costs ≈288 MFLOP per image, 236 of them in conv 2', () => {
    const cost = modelCost(seedCfg(), 96, 30);
    const conv2 = cost.find((l) => l.name === 'conv2')!;
    assert.equal(conv2.flops, 2 * 48 * 48 * 64 * 5 * 5 * 32);
    assert.ok(Math.abs(conv2.flops / 1e6 - 236) < 0.5, `conv2 ${conv2.flops / 1e6} MFLOP`);
    const total = modelFlops(seedCfg(), 96, 30) / 1e6;
    assert.ok(total > 287 && total < 290, `total ${total} MFLOP`);
  });
});

describe('model: default preset', () => {
  it('costs a tenth of the seed network or less, and builds', () => {
    const cfg = resolveConfig({ preset: 'default' }).model;
    const flops = modelFlops(cfg, 96, 30), seed = modelFlops(seedCfg(), 96, 30);
    assert.ok(flops < seed / 10, `default ${flops / 1e6} MFLOP vs seed ${seed / 1e6}`);
    assert.ok(cfg.conv.every((c) => c.batchNorm), 'batch norm in every conv block');
    const m = buildModel(cfg, { imageSize: 96, outputs: 30, seed: 1 });
    try {
      assert.equal(m.countParams(), modelParams(cfg, 96, 30));
      assert.deepEqual(m.outputs[0]!.shape, [null, 30]);
    } finally {
      m.dispose();
    }
  });
});

describe('model: config variants', () => {
  const cfg: ModelConfig = {
    conv: [
      { filters: 4, kernel: 3, stride: 2, pool: 1, batchNorm: true, padding: 'same' },
      { filters: 6, kernel: 3, stride: 1, pool: 2, batchNorm: false, padding: 'valid' },
    ],
    globalPool: 'avg',
    dense: [8, 8],
    dropout: 0.5,
    l2: 1e-4,
    l2Conv: 1e-5,
  };

  it('computes shapes and parameters the way the built model has them', () => {
    const m = buildModel(cfg, { imageSize: 32, outputs: 10, seed: 3 });
    try {
      assert.equal(m.countParams(), modelParams(cfg, 32, 10));
      // 32 -stride 2-> 16 -valid 3×3-> 14 -pool 2-> 7
      assert.deepEqual(modelCost(cfg, 32, 10)[1]!.shape, [7, 7, 6]);
      const pool = m.layers.find((l) => l.name === 'pool2')!;
      assert.deepEqual(pool.outputShape, [null, 7, 7, 6]);
      assert.deepEqual(m.outputs[0]!.shape, [null, 10]);
      const bn = m.layers.find((l) => l.name === 'bn1');
      assert.ok(bn, 'batch norm layer present');
      // No conv bias when batch norm follows it (beta does that job).
      assert.equal(m.layers.find((l) => l.name === 'conv1')!.trainableWeights.length, 1);
      const { dense, conv } = regularisedWeights(m);
      assert.equal(dense.length, 3); // two hidden + output kernels
      assert.equal(conv.length, 2);
    } finally {
      m.dispose();
    }
  });

  it('rejects a network whose feature map shrinks to nothing, naming the layer', () => {
    const bad: ModelConfig = { ...cfg, conv: [{ filters: 4, kernel: 5, stride: 1, pool: 8, batchNorm: false, padding: 'valid' }] };
    assert.throws(() => modelCost(bad, 8, 10), /model\.conv\[0\]/);
  });

  it('initialises from the seed: same seed same weights, another seed other weights', () => {
    const w = (seed: number) => {
      const m = buildModel(cfg, { imageSize: 32, outputs: 10, seed });
      const v = m.getWeights().map((t) => Array.from(t.dataSync()));
      m.dispose();
      return v;
    };
    const a = w(5), b = w(5), c = w(6);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a[0], c[0]);
    // He-normal: conv1's kernel std ≈ sqrt(2 / fanIn) = sqrt(2/9) (truncated normal shrinks it a little).
    const k = a[0]!;
    const std = Math.sqrt(k.reduce((s, v) => s + v * v, 0) / k.length);
    assert.ok(std > 0.2 && std < 0.7, `std ${std}`);
  });

  it('applies dropout only in training, reproducibly from the step seed', () => {
    const m = buildModel(cfg, { imageSize: 32, outputs: 10, seed: 1 });
    try {
      const x = tf.randomUniform([4, 32, 32, 1], 0, 1, 'float32', 9);
      const run = (seed: number) => tf.tidy(() => Array.from(forwardTrain(m, x, seed).dataSync()));
      const a = run(11), b = run(11), c = run(12);
      assert.deepEqual(a, b);
      assert.notDeepEqual(a, c);
      const p1 = Array.from((m.predict(x) as tf.Tensor).dataSync());
      const p2 = Array.from((m.predict(x) as tf.Tensor).dataSync());
      assert.deepEqual(p1, p2);
      x.dispose();
    } finally {
      m.dispose();
    }
  });

  it('trains batch norm exactly like the tfjs-layers layer (output and moving statistics)', () => {
    const bnCfg: ModelConfig = { conv: [{ filters: 5, kernel: 3, stride: 1, pool: 2, batchNorm: true, padding: 'same' }], globalPool: 'none', dense: [], dropout: 0, l2: 0, l2Conv: 0 };
    const a = buildModel(bnCfg, { imageSize: 12, outputs: 4, seed: 2 });
    const b = buildModel(bnCfg, { imageSize: 12, outputs: 4, seed: 2 });
    try {
      const x = tf.randomUniform([6, 12, 12, 1], 0, 1, 'float32', 4);
      // Non-trivial gamma/beta so the scale-and-shift form is really checked.
      for (const m of [a, b]) {
        const bn = m.getLayer('bn1');
        bn.setWeights([tf.tensor([0.5, 1, 1.5, 2, 3]), tf.tensor([0, 0.1, -0.2, 0.3, 1]), ...bn.getWeights().slice(2)]);
      }
      const ours = tf.tidy(() => Array.from(forwardTrain(a, x, 0).dataSync()));
      let h: tf.Tensor = x;
      for (const layer of b.layers) h = layer.apply(h, { training: true }) as tf.Tensor;
      const theirs = Array.from(h.dataSync());
      assert.equal(ours.length, theirs.length);
      ours.forEach((v, i) => assert.ok(Math.abs(v - theirs[i]!) < 1e-4, `output ${i}: ${v} vs ${theirs[i]}`));
      const stats = (m: typeof a) => m.getLayer('bn1').getWeights().slice(2).flatMap((t) => Array.from(t.dataSync()));
      const sa = stats(a), sb = stats(b);
      sa.forEach((v, i) => assert.ok(Math.abs(v - sb[i]!) < 1e-5, `moving stat ${i}: ${v} vs ${sb[i]}`));
      assert.ok(sa.some((v, i) => Math.abs(v - (i < 5 ? 0 : 1)) > 1e-3), 'moving statistics moved');
      x.dispose();
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('starts from the given output bias (the mean face) with small output weights', () => {
    const bias = Array.from({ length: 10 }, (_, i) => (i % 2 ? -0.2 : 0.05 * i));
    const m = buildModel(cfg, { imageSize: 32, outputs: 10, seed: 1, outputBias: bias });
    try {
      const x = tf.randomUniform([8, 32, 32, 1], 0, 1, 'float32', 3);
      const p = (m.predict(x) as tf.Tensor).arraySync() as number[][];
      for (const row of p) row.forEach((v, i) => assert.ok(Math.abs(v - bias[i]!) < 0.2, `output ${i}: ${v} vs bias ${bias[i]}`));
      x.dispose();
      assert.throws(() => buildModel(cfg, { imageSize: 32, outputs: 10, seed: 1, outputBias: [0] }), /outputBias/);
    } finally {
      m.dispose();
    }
  });
});
