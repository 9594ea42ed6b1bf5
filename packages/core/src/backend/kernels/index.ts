import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { makeBatchMatMulConfig } from './batch-matmul.js';
import { makeConv2DConfig } from './conv2d.js';
import { conv2DBackpropFilterConfig, makeConv2DBackpropInputConfig } from './conv2d-backprop.js';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise-backprop.js';
import { makeFusedBatchNormConfig } from './fused-batch-norm.js';
import { makeIdentityConfig } from './identity.js';
import { makeMaxPoolConfig, makeReluConfig } from './pool-relu.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { makeSumConfig } from './sum.js';

/** The wasm kernels Keypoints adds or replaces, by name (for the backend note and tests). */
export const TRAINING_KERNELS = ['Conv2D', 'FusedConv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'BatchMatMul', 'MaxPoolGrad', 'Sum', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'Identity', 'FusedBatchNorm', 'MaxPool', 'Relu'] as const;

let registered = false;
const stock = new Map<string, KernelConfig>();

/**
 * Adds the kernels the stock wasm backend lacks for training and replaces slow ones. Idempotent.
 * Must run after `@tensorflow/tfjs-backend-wasm` is imported (its kernels register on import).
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  const replace = (config: KernelConfig) => {
    if (getKernel(config.kernelName, 'wasm')) unregisterKernel(config.kernelName, 'wasm');
    registerKernel(config);
  };
  for (const name of TRAINING_KERNELS) {
    const k = getKernel(name, 'wasm');
    if (k) stock.set(name, k);
  }
  // Every replacement that wraps a stock kernel needs it: check them all before replacing any.
  const wrapped = ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'BatchMatMul', 'Sum', 'Identity', 'FusedBatchNorm', 'MaxPool', 'Relu'] as const;
  if (wrapped.some((name) => !stock.has(name))) throw new Error('the wasm backend lacks stock kernels: is @tensorflow/tfjs-backend-wasm 4.22 imported?');
  const of = (name: (typeof wrapped)[number]) => stock.get(name)!;
  replace(makeConv2DConfig(of('Conv2D')));
  replace(makeConv2DConfig(of('FusedConv2D')));
  replace(conv2DBackpropFilterConfig);
  replace(makeConv2DBackpropInputConfig(of('Conv2DBackpropInput').kernelFunc, of('Conv2DBackpropInput').setupFunc));
  replace(makeBatchMatMulConfig(of('BatchMatMul')));
  replace(maxPoolGradConfig);
  replace(makeSumConfig(of('Sum')));
  replace(depthwiseBackpropInputConfig);
  replace(depthwiseBackpropFilterConfig);
  replace(makeIdentityConfig(of('Identity')));
  replace(makeFusedBatchNormConfig(of('FusedBatchNorm')));
  replace(makeMaxPoolConfig(of('MaxPool')));
  replace(makeReluConfig(of('Relu')));
  registered = true;
}

/** Restores the stock wasm kernels (tests compare against them). */
export function unregisterWasmTrainingKernels(): void {
  if (!registered) return;
  for (const name of TRAINING_KERNELS) {
    unregisterKernel(name, 'wasm');
    const k = stock.get(name);
    if (k) registerKernel(k);
  }
  registered = false;
}
