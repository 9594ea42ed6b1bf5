import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterConfig, makeConv2DBackpropInputConfig } from './conv2d-backprop.js';

/** The wasm kernels Keypoints adds or replaces, by name (for the backend note and tests). */
export const TRAINING_KERNELS = ['Conv2DBackpropFilter', 'Conv2DBackpropInput'] as const;

let registered = false;
let stockInput: KernelConfig | undefined;

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
  stockInput = getKernel('Conv2DBackpropInput', 'wasm');
  if (!stockInput) throw new Error('the wasm backend has no Conv2DBackpropInput kernel: is @tensorflow/tfjs-backend-wasm 4.22 imported?');
  replace(conv2DBackpropFilterConfig);
  replace(makeConv2DBackpropInputConfig(stockInput.kernelFunc, stockInput.setupFunc));
  registered = true;
}

/** Restores the stock wasm kernels (tests compare against them). */
export function unregisterWasmTrainingKernels(): void {
  if (!registered) return;
  unregisterKernel('Conv2DBackpropFilter', 'wasm');
  unregisterKernel('Conv2DBackpropInput', 'wasm');
  if (stockInput) registerKernel(stockInput);
  registered = false;
}
