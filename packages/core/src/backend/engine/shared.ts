import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { forwardTrain } from '../../model/index.js';

/**
 * The loss every replica computes on its shard. `masked-mse` is the trainer's loss: the mean of
 * (pred − y)² over labelled values (mask = 1), i.e. Σ mask·(pred−y)² / Σ mask over the WHOLE
 * batch. Each shard divides by the whole batch's count, so shard losses and gradients simply add
 * up to the full-batch ones (exact, not an average of averages). `mse` is the same with mask ≡ 1.
 */
export type EngineLoss = 'masked-mse' | 'mse';

export function shardLoss(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, mask: tf.Tensor | undefined, totalCount: number, dropoutSeed: number): tf.Scalar {
  return tf.tidy(() => {
    // The trainer's own forward pass (batch norm on batch statistics, seeded dropout).
    const pred = forwardTrain(model, x, dropoutSeed);
    let se = tf.squaredDifference(pred, y);
    if (mask) se = tf.mul(se, mask);
    return tf.div(tf.sum(se), totalCount) as tf.Scalar;
  });
}

/** Offsets (in floats) of every weight in one flat buffer, in `model.weights` order. */
export interface Layout {
  shapes: number[][];
  offsets: number[];
  total: number;
}

export function layoutOf(shapes: number[][]): Layout {
  const offsets: number[] = [];
  let total = 0;
  for (const s of shapes) {
    offsets.push(total);
    total += s.reduce((a, b) => a * b, 1);
  }
  return { shapes, offsets, total };
}

export interface WorkerInit {
  keypointsGradientWorker: true;
  modelJson: string;
  weightShapes: number[][];
  trainable: boolean[];
  weights: SharedArrayBuffer;
  grads: SharedArrayBuffer;
  inputs: SharedArrayBuffer;
  wasmDir?: string;
}

export interface StepRequest {
  type: 'step';
  /** Whether the weights buffer holds new values since the last step. */
  weightsChanged: boolean;
  batch: number;
  xShape: number[];
  yShape: number[];
  hasMask: boolean;
  totalCount: number;
  dropoutSeed: number;
  /** A larger inputs buffer replacing the previous one. */
  inputs?: SharedArrayBuffer;
}

export type WorkerMessage = { type: 'ready' } | { type: 'done'; loss: number } | { type: 'error'; message: string };
