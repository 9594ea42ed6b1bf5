/** One training step and the validation pass: the code the trainer, `keypoints bench` and any sweep all run. */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { addL2 } from '../backend/ops/weight-decay.js';
import type { Batch } from '../data/batch.js';
import { makeBatch } from '../data/batch.js';
import type { FaceSet } from '../data/types.js';
import { forwardInfer, forwardTrain, regularisedWeights } from '../model/forward.js';
import { maskedMse } from './loss.js';
import type { Optimizer } from './optimizers.js';

/** What a step needs besides the batch: the network, what it trains, and the loss's settings. */
export interface StepContext {
  model: tfl.LayersModel;
  /** The variables the optimizer updates (all trainable ones, or the head alone while frozen). */
  vars: tf.Variable[];
  optimizer: Optimizer;
  /** Kernels under the L2 terms, and their coefficients (config.model.l2, l2Conv). */
  l2: { dense: tf.Variable[]; conv: tf.Variable[]; denseCoef: number; convCoef: number };
  clipNorm?: number;
}

export function stepContext(model: tfl.LayersModel, vars: tf.Variable[], optimizer: Optimizer, opts: { l2: number; l2Conv: number; clipNorm?: number }): StepContext {
  const w = regularisedWeights(model);
  return { model, vars, optimizer, l2: { ...w, denseCoef: opts.l2, convCoef: opts.l2Conv }, clipNorm: opts.clipNorm };
}

/**
 * Forward (batch statistics, dropout seeded by `dropoutSeed`), masked MSE plus the L2 terms,
 * gradients, optional clipping, and the optimizer's update at rate `lr`. Returns the loss; a
 * non-finite loss leaves the weights alone (the trainer then stops as diverged).
 */
export function trainStep(ctx: StepContext, batch: Batch, lr: number, dropoutSeed: number): number {
  const S = Math.round(Math.sqrt(batch.x.length / batch.size)), O = batch.y.length / batch.size;
  return tf.tidy(() => {
    const x = tf.tensor4d(batch.x, [batch.size, S, S, 1]);
    const y = tf.tensor2d(batch.y, [batch.size, O]);
    const mask = tf.tensor2d(batch.mask, [batch.size, O]);
    const { value, grads } = tf.variableGrads(() => maskedMse(forwardTrain(ctx.model, x, dropoutSeed), y, mask), ctx.vars);
    // L2 terms off the tape (one SIMD pass each for value and gradient; see backend/ops/weight-decay.ts).
    const penalty = addL2(ctx.l2.dense, ctx.l2.denseCoef, grads) + addL2(ctx.l2.conv, ctx.l2.convCoef, grads);
    let g = ctx.vars.map((v) => grads[v.name]!);
    if (ctx.clipNorm) g = clipByGlobalNorm(g, ctx.clipNorm);
    const loss = value.dataSync()[0]! + penalty;
    if (Number.isFinite(loss)) ctx.optimizer.apply(ctx.vars, g, lr);
    return loss;
  });
}

/** Scales all gradients together so their global L2 norm is at most `maxNorm` (inside a tidy). */
export function clipByGlobalNorm(grads: tf.Tensor[], maxNorm: number): tf.Tensor[] {
  const norm = tf.sqrt(tf.addN(grads.map((t) => tf.sum(tf.square(t))))).dataSync()[0]!;
  return norm > maxNorm ? grads.map((t) => tf.mul(t, maxNorm / norm)) : grads;
}

/**
 * Masked MSE (normalised coordinates) and RMSE in pixels over a whole set, in inference mode;
 * NaN for an empty set. Coordinates are normalised by half the image size, so RMSE = √MSE·S/2.
 */
export function validationLoss(model: tfl.LayersModel, set: FaceSet, batchSize: number): { loss: number; rmse: number } {
  if (set.count === 0) return { loss: NaN, rmse: NaN };
  const S = set.width, O = 2 * set.keypoints.length;
  let se = 0, n = 0;
  for (let s = 0; s < set.count; s += batchSize) {
    const b = makeBatch(set, Array.from({ length: Math.min(batchSize, set.count - s) }, (_, i) => s + i));
    const [e, c] = tf.tidy(() => {
      const pred = forwardInfer(model, tf.tensor4d(b.x, [b.size, S, S, 1]));
      const m = tf.tensor2d(b.mask, [b.size, O]);
      return [tf.sum(tf.mul(tf.squaredDifference(pred, tf.tensor2d(b.y, [b.size, O])), m)), tf.sum(m)];
    });
    se += e!.dataSync()[0]!;
    n += c!.dataSync()[0]!;
    tf.dispose([e!, c!]);
  }
  const loss = n ? se / n : NaN;
  return { loss, rmse: Math.sqrt(loss) * (S / 2) };
}
