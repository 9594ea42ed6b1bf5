/** Every kernel and gradient Keypoints adds to TF.js, registered in one place, once (initBackend calls it). */
import { getKernel, registerKernel } from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from './kernels/index.js';
import { adamKernels } from './ops/adam.js';
import { batchNormPoolKernels } from './ops/batch-norm-pool.js';
import { batchNormKernels } from './ops/batch-norm.js';
import { registerReluGradient, reluGradKernels } from './ops/relu-grad.js';
import { reluPoolKernels } from './ops/relu-pool.js';

/** Our own kernels (new names: nothing of TF.js's is replaced by these). */
export const OP_KERNELS = [...adamKernels, ...batchNormKernels, ...batchNormPoolKernels, ...reluGradKernels, ...reluPoolKernels];

let registered: Promise<void> | undefined;

/**
 * tfjs-core's gradient functions (its Node entry registers none; see vendor/build-gradients.mjs,
 * loaded on demand so importing Keypoints has no side effects), then our kernels, our ReLU
 * gradient over tfjs-core's, and the wasm kernels we add or replace (kernels/index.ts). Idempotent.
 */
export function registerKeypointsKernels(): Promise<void> {
  registered ??= import('./vendor/tfjs-core-gradients.js').then(() => {
    for (const k of OP_KERNELS) if (!getKernel(k.kernelName, k.backendName)) registerKernel(k);
    registerReluGradient();
    registerWasmTrainingKernels();
  });
  return registered;
}
