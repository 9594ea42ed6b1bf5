import * as tf from '@tensorflow/tfjs-core';

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
 * coef·Σw² over the given weights on the gradient tape: the L2 term as its definition, which the
 * tests check training's off-tape version (backend/ops/weight-decay.ts, addL2) against.
 */
export function l2Penalty(weights: tf.Tensor[], coef: number): tf.Scalar {
  return tf.tidy(() => (weights.length && coef > 0 ? tf.mul(tf.addN(weights.map((w) => tf.sum(tf.square(w)))), coef) : tf.scalar(0)) as tf.Scalar);
}
