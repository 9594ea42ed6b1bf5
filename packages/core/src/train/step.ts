/** One training step and the validation pass: the code the trainer, `keypoints bench` and any sweep all run. */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { addL2 } from '../backend/ops/weight-decay.js';
import type { Batch } from '../data/batch.js';
import { makeBatch } from '../data/batch.js';
import type { FaceSet } from '../data/types.js';
import { forwardInfer, forwardTrain, regularisedWeights } from '../model/forward.js';
import { addL2OnDevice, clipByGlobalNormOnDevice, keepsLossOnDevice, LossWindow } from './device-step.js';
import { maskedMse, type LossFn } from './loss.js';
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
  /** On a backend that keeps tensors on a device (webgpu): the steps' losses, summed there and read now and then. */
  lossWindow?: LossWindow;
  /** The training loss (train.loss; masked MSE unless set). */
  loss: LossFn;
}

/** The mean loss of the `steps` steps read back together (1 on the CPU backends; a window of them on webgpu). */
export interface StepLoss {
  loss: number;
  steps: number;
}

/**
 * `readEvery`: on webgpu, steps between two reads of the loss (the trainer reads about four times
 * an epoch: every read waits for the GPU to finish, and there is no synchronous one in Node).
 */
export function stepContext(model: tfl.LayersModel, vars: tf.Variable[], optimizer: Optimizer, opts: { l2: number; l2Conv: number; clipNorm?: number; readEvery?: number; loss?: LossFn }): StepContext {
  const w = regularisedWeights(model);
  const lossWindow = keepsLossOnDevice() ? new LossWindow(Math.max(1, opts.readEvery ?? 1)) : undefined;
  return { model, vars, optimizer, l2: { ...w, denseCoef: opts.l2, convCoef: opts.l2Conv }, clipNorm: opts.clipNorm, lossWindow, loss: opts.loss ?? maskedMse };
}

/**
 * Forward (batch statistics, dropout seeded by `dropoutSeed`), masked MSE plus the L2 terms,
 * gradients, optional clipping, and the optimizer's update at rate `lr`. Returns the loss; a
 * non-finite loss leaves the weights alone (the trainer then stops as diverged).
 *
 * On webgpu the same step runs with no read-back: the loss joins the context's window and comes
 * back (as the window's mean) once the window is full, else the result is undefined (see
 * flushLoss). There the update cannot wait for the loss, so a non-finite one shows in the window's
 * mean a few steps late; the trainer then stops as diverged all the same, keeping the best weights.
 */
export async function trainStep(ctx: StepContext, batch: Batch, lr: number, dropoutSeed: number): Promise<StepLoss | undefined> {
  const S = Math.round(Math.sqrt(batch.x.length / batch.size)), O = batch.y.length / batch.size;
  const loss = tf.tidy(() => {
    const x = tf.tensor4d(batch.x, [batch.size, S, S, 1]);
    const y = tf.tensor2d(batch.y, [batch.size, O]);
    const mask = tf.tensor2d(batch.mask, [batch.size, O]);
    const { value, grads } = tf.variableGrads(() => ctx.loss(forwardTrain(ctx.model, x, dropoutSeed), y, mask), ctx.vars);
    if (ctx.lossWindow) {
      const penalty = tf.add(addL2OnDevice(ctx.l2.dense, ctx.l2.denseCoef, grads), addL2OnDevice(ctx.l2.conv, ctx.l2.convCoef, grads));
      let g = ctx.vars.map((v) => grads[v.name]!);
      if (ctx.clipNorm) g = clipByGlobalNormOnDevice(g, ctx.clipNorm);
      ctx.optimizer.apply(ctx.vars, g, lr);
      ctx.lossWindow.add(tf.add(value, penalty) as tf.Scalar);
      return NaN;
    }
    // L2 terms off the tape (one SIMD pass each for value and gradient; see backend/ops/weight-decay.ts).
    const penalty = addL2(ctx.l2.dense, ctx.l2.denseCoef, grads) + addL2(ctx.l2.conv, ctx.l2.convCoef, grads);
    let g = ctx.vars.map((v) => grads[v.name]!);
    if (ctx.clipNorm) g = clipByGlobalNorm(g, ctx.clipNorm);
    const v = value.dataSync()[0]! + penalty;
    if (Number.isFinite(v)) ctx.optimizer.apply(ctx.vars, g, lr);
    return v;
  });
  if (!ctx.lossWindow) return { loss, steps: 1 };
  const w = await ctx.lossWindow.take();
  return w && { loss: w.mean, steps: w.steps };
}

/** Reads the losses still on the device (webgpu; waits for its queued steps): at the end of an epoch, a stop, or a timed run. */
export async function flushLoss(ctx: StepContext): Promise<StepLoss | undefined> {
  const w = await ctx.lossWindow?.take(true);
  return w && { loss: w.mean, steps: w.steps };
}

/** Scales all gradients together so their global L2 norm is at most `maxNorm` (inside a tidy). */
export function clipByGlobalNorm(grads: tf.Tensor[], maxNorm: number): tf.Tensor[] {
  const norm = tf.sqrt(tf.addN(grads.map((t) => tf.sum(tf.square(t))))).dataSync()[0]!;
  return norm > maxNorm ? grads.map((t) => tf.mul(t, maxNorm / norm)) : grads;
}

/**
 * Masked MSE (normalised coordinates) and RMSE in pixels over a whole set, in inference mode;
 * NaN for an empty set. Coordinates are normalised by half the image size, so RMSE = √MSE·S/2.
 * Reads asynchronously (webgpu has no synchronous read).
 */
export async function validationLoss(model: tfl.LayersModel, set: FaceSet, batchSize: number): Promise<{ loss: number; rmse: number }> {
  if (set.count === 0) return { loss: NaN, rmse: NaN };
  const S = set.width, O = 2 * set.keypoints.length;
  let se = 0, n = 0;
  for (let s = 0; s < set.count; s += batchSize) {
    const b = makeBatch(set, Array.from({ length: Math.min(batchSize, set.count - s) }, (_, i) => s + i));
    const sums = tf.tidy(() => {
      const pred = forwardInfer(model, tf.tensor4d(b.x, [b.size, S, S, 1]));
      const m = tf.tensor2d(b.mask, [b.size, O]);
      return tf.stack([tf.sum(tf.mul(tf.squaredDifference(pred, tf.tensor2d(b.y, [b.size, O])), m)), tf.sum(m)]);
    });
    const [e, c] = await sums.data();
    se += e!;
    n += c!;
    sums.dispose();
  }
  const loss = n ? se / n : NaN;
  return { loss, rmse: Math.sqrt(loss) * (S / 2) };
}
