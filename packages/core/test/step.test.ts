import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/index.ts';
import { resolveConfig } from '../src/config/resolve.ts';
import { makeBatch } from '../src/data/batch.ts';
import { syntheticFaceSet } from '../src/data/synthetic.ts';
import { forwardTrain } from '../src/model/forward.ts';
import { createLearner } from '../src/train/learner.ts';
import { l2Penalty, maskedMse } from '../src/train/loss.ts';
import { trainStep } from '../src/train/step.ts';
import type { StepContext } from '../src/train/step.ts';
import type { Batch } from '../src/data/batch.ts';

/** The loss of one step (on wasm it is read back every step). */
async function stepLoss(ctx: StepContext, batch: Batch, lr: number, seed: number): Promise<number> {
  const r = await trainStep(ctx, batch, lr, seed);
  assert.equal(r?.steps, 1, 'a host backend reads every step');
  return r!.loss;
}

before(async () => {
  await initBackend('wasm');
});

/** A small network with batch norm, dropout and both L2 terms, on 24×24 synthetic faces with some labels missing. */
function setup(optimizer: 'sgd' | 'adam', clipNorm?: number) {
  const config = resolveConfig({
    preset: 'tiny',
    backend: 'wasm',
    seed: 4,
    model: { conv: [{ filters: 4, kernel: 3, batchNorm: true }, { filters: 8, kernel: 3 }], dense: [16], dropout: 0.2, l2: 1e-2, l2Conv: 1e-3 },
    train: { optimizer, batchSize: 8, clipNorm },
  });
  const set = syntheticFaceSet({ count: 16, seed: 9, size: 24 });
  for (let i = 0; i < set.coords.length; i += 7) set.coords[i] = NaN;
  const learner = createLearner(config, set, { fresh: true, freezeSteps: 0, log: () => {} });
  return { config, set, learner, batch: makeBatch(set, Array.from({ length: 8 }, (_, i) => i)) };
}

describe('trainStep (the step the trainer and the bench run)', () => {
  it('is one SGD update along the gradient of masked MSE + L2 written out on the tape', async () => {
    const { config, learner, batch } = setup('sgd');
    const { model, ctx } = learner;
    const lr = 0.05, seed = 17;
    // Reference first (moving averages are updated by a training forward, so snapshot them around it).
    const before = model.getWeights().map((w) => w.dataSync().slice());
    const ref = tf.tidy(() => {
      const x = tf.tensor4d(batch.x, [8, 24, 24, 1]), y = tf.tensor2d(batch.y, [8, 30]), mask = tf.tensor2d(batch.mask, [8, 30]);
      const { value, grads } = tf.variableGrads(() => tf.addN([maskedMse(forwardTrain(model, x, seed), y, mask), l2Penalty(ctx.l2.dense, config.model.l2), l2Penalty(ctx.l2.conv, config.model.l2Conv)]) as tf.Scalar);
      return { loss: value.dataSync()[0]!, expected: ctx.vars.map((v) => tf.sub(v, tf.mul(grads[v.name]!, lr)).dataSync().slice()) };
    });
    model.setWeights(before.map((w, i) => tf.tensor(w, model.getWeights()[i]!.shape)));
    const loss = await stepLoss(ctx, batch, lr, seed);
    assert.ok(Math.abs(loss - ref.loss) < 1e-5 * ref.loss, `${loss} vs ${ref.loss}`);
    ctx.vars.forEach((v, i) => {
      const got = v.dataSync(), want = ref.expected[i]!;
      const worst = Math.max(...Array.from(got, (g, j) => Math.abs(g - want[j]!)));
      assert.ok(worst < 1e-5, `${v.name}: off by ${worst}`);
    });
    learner.dispose();
  });

  it('clips the global gradient norm: a tiny clipNorm moves the weights by at most lr·clipNorm', async () => {
    const { learner, batch } = setup('sgd', 1e-3);
    const before = learner.ctx.vars.map((v) => v.dataSync().slice());
    await stepLoss(learner.ctx, batch, 1, 3);
    let sq = 0;
    learner.ctx.vars.forEach((v, i) => v.dataSync().forEach((w, j) => (sq += (w - before[i]![j]!) ** 2)));
    assert.ok(Math.sqrt(sq) <= 1e-3 * 1.0001 && sq > 0, `moved ${Math.sqrt(sq)}`);
    learner.dispose();
  });

  it('lowers the loss over steps with Adam and leaks no tensors', async () => {
    const { learner, batch } = setup('adam');
    const counts: number[] = [];
    const losses: number[] = [];
    for (let i = 0; i < 12; i++) {
      losses.push(await stepLoss(learner.ctx, batch, 1e-2, i));
      counts.push(tf.memory().numTensors);
    }
    assert.equal(new Set(counts.slice(1)).size, 1, `tensor counts ${counts.join(',')}`);
    assert.ok(losses[11]! < losses[0]!, `loss ${losses[0]} -> ${losses[11]}`);
    learner.dispose();
  });

  it('leaves the weights alone when the loss is not finite', async () => {
    const { learner, batch } = setup('sgd');
    const before = learner.ctx.vars.map((v) => v.dataSync().slice());
    const loss = await stepLoss(learner.ctx, { ...batch, y: batch.y.map(() => NaN) }, 0.1, 1);
    assert.ok(Number.isNaN(loss));
    learner.ctx.vars.forEach((v, i) => assert.deepEqual(v.dataSync(), before[i]));
    learner.dispose();
  });
});
