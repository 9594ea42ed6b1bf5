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
  const stockInput = stock.get('Conv2DBackpropInput');
  const stockMatMul = stock.get('BatchMatMul');
  const stockSum = stock.get('Sum');
  const stockIdentity = stock.get('Identity');
  const stockBatchNorm = stock.get('FusedBatchNorm');
  const stockMaxPool = stock.get('MaxPool');
  const stockRelu = stock.get('Relu');
  if (!stockInput || !stockMatMul || !stockSum || !stockIdentity || !stockBatchNorm || !stockMaxPool || !stockRelu || !stock.get('Conv2D') || !stock.get('FusedConv2D')) throw new Error('the wasm backend lacks stock kernels: is @tensorflow/tfjs-backend-wasm 4.22 imported?');
  replace(makeConv2DConfig(stock.get('Conv2D')!));
  replace(makeConv2DConfig(stock.get('FusedConv2D')!));
  replace(conv2DBackpropFilterConfig);
  replace(makeConv2DBackpropInputConfig(stockInput.kernelFunc, stockInput.setupFunc));
  replace(makeBatchMatMulConfig(stockMatMul));
  replace(maxPoolGradConfig);
  replace(makeSumConfig(stockSum));
  replace(depthwiseBackpropInputConfig);
  replace(depthwiseBackpropFilterConfig);
  replace(makeIdentityConfig(stockIdentity));
  replace(makeFusedBatchNormConfig(stockBatchNorm));
  replace(makeMaxPoolConfig(stockMaxPool));
  replace(makeReluConfig(stockRelu));
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
