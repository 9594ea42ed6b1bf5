import * as tf from '@tensorflow/tfjs-core';
import { getKernel, registerGradient, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { raw } from './batch-norm.js';
import { addressOf, runElementwise, simdKernels } from '../simd/index.js';

const KERNEL = 'KeypointsReluGrad';

/**
 * dx = dy where x > 0, else 0, in one pass. tfjs-core's Relu gradient is dy · cast(step(x)):
 * three full passes (Step, Cast, Multiply); on wasm this is ~3× the time. Non-finite values
 * behave as in that formula (NaN x gives NaN, ±∞·0 gives NaN).
 */
const reluGrad: KernelFunc = ({ inputs, backend }) => {
  const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
  const io = raw(backend);
  const out = io.output(x.shape);
  if (simdKernels(backend)) {
    // The SIMD kernel, halves on two threads (same values as the loop below).
    const w = backend as BackendWasm;
    runElementwise(w, 'reluGrad', x.shape.reduce((a, b) => a * b, 1), (i0, count) => [addressOf(w, x) + 4 * i0, addressOf(w, dy) + 4 * i0, addressOf(w, out.info) + 4 * i0, count]);
    return out.info;
  }
  const xv = io.values(x), dv = io.values(dy), ov = out.values();
  // Branch-free on the sign (ReLU inputs are ~half negative: a branch mispredicts constantly,
  // 5× slower here); the NaN test is a branch that is (almost) never taken.
  for (let i = 0; i < xv.length; i++) {
    const v = xv[i];
    ov[i] = dv[i] * (+(v > 0) + (v !== v ? NaN : 0));
  }
  return out.info;
};

/** The one-pass ReLU gradient kernel for wasm and cpu (registered by backend/register.ts). */
export const reluGradKernels: KernelConfig[] = ['wasm', 'cpu'].map((backendName) => ({ kernelName: KERNEL, backendName, kernelFunc: reluGrad }));

/** Replaces tfjs-core's Relu gradient with one that uses the kernel above; after tfjs-core's gradients are registered. */
export function registerReluGradient(): void {
  registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      return {
        x: () =>
          getKernel(KERNEL, tf.getBackend())
            ? (tf.engine().runKernel(KERNEL, { dy: dy as tf.Tensor, x }) as tf.Tensor)
            : tf.mul(dy as tf.Tensor, tf.cast(tf.step(x), 'float32')),
      };
    },
  });
}
