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

/** Sum of squares of the given weights times the coefficient (the seed's L2 term). */
export function l2Penalty(weights: tf.Tensor[], coef: number): tf.Scalar {
  return tf.tidy(() => (weights.length && coef > 0 ? tf.mul(tf.addN(weights.map((w) => sumOfSquares(w))), coef) : tf.scalar(0)) as tf.Scalar);
}

/**
 * Σw² whose gradient is one pass, w·2dy: tf.square's gradient costs a cast and two multiplies over
 * the whole tensor (plus the sum's broadcast), ~4 passes over the seed network's 36864×512 kernel.
 */
function sumOfSquares(w: tf.Tensor): tf.Scalar {
  sumOfSquaresOp ??= tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return { value: tf.sum(tf.square(x)), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(saved[0]!, tf.mul(dy, 2)) };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Scalar>>[0]) as unknown as (x: tf.Tensor) => tf.Scalar;
  return sumOfSquaresOp(w);
}
let sumOfSquaresOp: ((x: tf.Tensor) => tf.Scalar) | undefined; // made on first use: no TF.js work at import
