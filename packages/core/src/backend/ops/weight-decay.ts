import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, halfOf4, runElementwise, runSplit, simdKernels, SPLIT_MIN } from '../simd/index.js';

/**
 * The L2 term coef·Σw² of the loss, outside the gradient tape: its value (a number) and its
 * gradient 2·coef·w added to the data gradients in place. On the tape the same term cost a Square
 * and a stock Sum for the value and a Multiply and an Add for the gradient, four passes over the
 * seed network's 36864×512 kernel (~60 ms a step); here it is one read for the value and one
 * read-modify-write of the fresh gradient, both SIMD on two threads. `grads` is changed in place
 * (a gradient that is not exclusively ours is replaced by a new tensor); weights without a
 * gradient (frozen) still count in the value, as they did on the tape.
 */
export function addL2(weights: tf.Tensor[], coef: number, grads: tf.NamedTensorMap, nameOf: (w: tf.Tensor) => string): number {
  if (!(coef > 0) || weights.length === 0) return 0;
  let penalty = 0;
  for (const w of weights) {
    penalty += sumSquares(w);
    const name = nameOf(w);
    const g = grads[name];
    if (g) grads[name] = addScaled(g, w, 2 * coef);
  }
  return coef * penalty;
}

function simdOf(t: tf.Tensor): { backend: BackendWasm; kernels: NonNullable<ReturnType<typeof simdKernels>> } | undefined {
  const backend = tf.engine().findBackend(tf.getBackend()) as unknown as BackendWasm;
  const kernels = t.dtype === 'float32' ? simdKernels(backend) : undefined;
  return kernels ? { backend, kernels } : undefined;
}

/** Σ t² in float64 accumulation. */
export function sumSquares(t: tf.Tensor): number {
  const simd = simdOf(t);
  if (!simd) return tf.tidy(() => tf.sum(tf.square(t)).dataSync()[0]!);
  const { backend } = simd;
  const n = t.size;
  const scratch = backend.makeOutput([4], 'float32'); // two doubles, one per part
  const base = addressOf(backend, scratch), x = addressOf(backend, t as unknown as tf.TensorInfo);
  const half = n >= SPLIT_MIN ? halfOf4(n) : 0;
  runSplit(backend, 'sumSquares', [x, base, half, n], half > 0 ? [x, base + 8, 0, half] : undefined);
  const view = backend.typedArrayFromHeap(scratch) as Float32Array;
  const parts = new Float64Array(view.buffer, view.byteOffset, 2);
  const total = parts[0]! + (half > 0 ? parts[1]! : 0);
  backend.disposeData(scratch.dataId);
  return total;
}

/** g + a·w: in place when g is a gradient only we hold (the usual case), else a new tensor (g disposed). */
function addScaled(g: tf.Tensor, w: tf.Tensor, a: number): tf.Tensor {
  const simd = simdOf(g);
  const backend = simd?.backend;
  if (simd && backend && backend.dataIdMap.get(g.dataId)?.refCount === 1) {
    const pg = addressOf(backend, g as unknown as tf.TensorInfo), pw = addressOf(backend, w as unknown as tf.TensorInfo);
    runElementwise(backend, 'axpy', g.size, (i0, count) => [pg, pw, a, i0, i0 + count]);
    return g;
  }
  const out = tf.tidy(() => tf.add(g, tf.mul(w, a)));
  g.dispose();
  return out;
}
