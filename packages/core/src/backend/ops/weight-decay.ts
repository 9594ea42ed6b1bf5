import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { exclusiveView } from '../engine/shared.js';
import { addressOf, halfOf4, runElementwise, runSums, simdKernels, SPLIT_MIN } from '../simd/index.js';

/**
 * The L2 term coef·Σw² of the loss, outside the gradient tape: its value (a number) and its
 * gradient 2·coef·w added to the data gradients in place. On the tape the same term cost a Square
 * and a stock Sum for the value and a Multiply and an Add for the gradient, four passes over the
 * seed network's 36864×512 kernel (~60 ms a step); here it is one read for the value and one
 * read-modify-write of the fresh gradient, both SIMD on two threads. `grads` (keyed by variable
 * name) is changed in place (a gradient that is not exclusively ours is replaced by a new tensor);
 * weights without a gradient (frozen) still count in the value, as they did on the tape.
 */
export function addL2(weights: tf.Variable[], coef: number, grads: tf.NamedTensorMap): number {
  if (!(coef > 0) || weights.length === 0) return 0;
  let penalty = 0;
  for (const w of weights) {
    penalty += sumSquares(w);
    const g = grads[w.name];
    if (g) grads[w.name] = addScaled(g, w, 2 * coef);
  }
  return coef * penalty;
}

/** The wasm backend when our SIMD kernels run on it and the tensor is float32, else undefined. */
function simdBackend(t: tf.Tensor): BackendWasm | undefined {
  const backend = tf.engine().findBackend(tf.getBackend()) as unknown as BackendWasm;
  return t.dtype === 'float32' && simdKernels(backend) ? backend : undefined;
}

/** Σ t² in float64 accumulation. */
export function sumSquares(t: tf.Tensor): number {
  const backend = simdBackend(t);
  // webgpu has no synchronous read in Node: the value is left out there (the gradient stays exact);
  // the trainer's device path keeps it as a tensor instead (train/device-step.ts addL2OnDevice).
  if (!backend) return tf.getBackend() === 'webgpu' ? 0 : tf.tidy(() => tf.sum(tf.square(t)).dataSync()[0]!);
  const n = t.size, x = addressOf(backend, t as unknown as tf.TensorInfo);
  const half = n >= SPLIT_MIN ? halfOf4(n) : 0;
  return runSums(backend, 'sumSquares', 1, (out64) => [x, out64, half, n], half > 0 ? (out64) => [x, out64, 0, half] : undefined)[0]!;
}

/** g + a·w: in place when g is a gradient only we hold (the usual case), else a new tensor (g disposed). */
function addScaled(g: tf.Tensor, w: tf.Tensor, a: number): tf.Tensor {
  const backend = simdBackend(g);
  if (backend && exclusiveView(g)) {
    const pg = addressOf(backend, g as unknown as tf.TensorInfo), pw = addressOf(backend, w as unknown as tf.TensorInfo);
    runElementwise(backend, 'axpy', g.size, (i0, count) => [pg, pw, a, i0, i0 + count]);
    return g;
  }
  const out = tf.tidy(() => tf.add(g, tf.mul(w, a)));
  g.dispose();
  return out;
}
