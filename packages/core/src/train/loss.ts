import * as tf from '@tensorflow/tfjs-core';
import type { LossConfig } from '../config/schema.js';

/**
 * Mean squared error over the coordinates that are present: missing labels contribute nothing and
 * do not dilute the mean, so a row with only 4 of 15 keypoints still teaches those 4.
 */
export function maskedMse(pred: tf.Tensor, y: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const se = tf.sum(tf.mul(tf.squaredDifference(pred, y), mask));
    return tf.div(se, tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
  });
}

/**
 * Wing loss (Feng et al., CVPR 2018) over the present coordinates, mean like maskedMse: for an
 * error |x| below `w` it is w·ln(1 + |x|/ε), log-shaped so small and medium errors keep pulling
 * (L2's pull fades as they shrink), and |x| − C above, with C = w − w·ln(1 + w/ε) joining the two.
 * Written as w·ln(1 + min(|x|, w)/ε) + max(|x|, w) − w: the same function, through ops whose
 * gradients every backend has (no comparison op; wasm has no gradient for Less).
 * `w` and `epsilon` are in the units of pred and y.
 */
export function maskedWing(pred: tf.Tensor, y: tf.Tensor, mask: tf.Tensor, w: number, epsilon: number): tf.Scalar {
  return tf.tidy(() => {
    const a = tf.abs(tf.sub(pred, y));
    const wing = tf.sub(tf.add(tf.mul(w, tf.log1p(tf.div(tf.minimum(a, w), epsilon))), tf.maximum(a, w)), w);
    return tf.div(tf.sum(tf.mul(wing, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
  });
}

/** A training loss on normalised coordinates (prediction, target, mask). */
export type LossFn = (pred: tf.Tensor, y: tf.Tensor, mask: tf.Tensor) => tf.Scalar;

/**
 * train.loss as a function: masked MSE, or masked Wing with its width and curvature given in pixels
 * of the `imageSize` input, converted to normalised coordinates (half the image is 1).
 */
export function lossFn(loss: LossConfig, imageSize: number): LossFn {
  if (loss.type === 'mse') return maskedMse;
  const toUnits = 2 / imageSize;
  return (pred, y, mask) => maskedWing(pred, y, mask, loss.wingWidth * toUnits, loss.wingCurvature * toUnits);
}

/**
 * coef·Σw² over the given weights on the gradient tape: the L2 term as its definition, which the
 * tests check training's off-tape version (backend/ops/weight-decay.ts, addL2) against.
 */
export function l2Penalty(weights: tf.Tensor[], coef: number): tf.Scalar {
  return tf.tidy(() => (weights.length && coef > 0 ? tf.mul(tf.addN(weights.map((w) => tf.sum(tf.square(w)))), coef) : tf.scalar(0)) as tf.Scalar);
}
