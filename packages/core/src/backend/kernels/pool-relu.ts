import { MaxPool, Relu, util, type KernelConfig, type KernelFunc, type MaxPoolAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, runElementwise, simdKernels } from '../simd/index.js';
import { runPool2 } from '../ops/relu-pool.js';

/**
 * ReLU and 2×2 / stride-2 / 'valid' max-pool (every pool in Keypoints' networks) on our SIMD
 * kernels. The stock ones run on XNNPACK's thread pool whatever the size, whose wake-up made a
 * ReLU over one 96×96×8 image cost ~0.3 ms, most of predicting one image; ours stay on the
 * calling thread below SPLIT_MIN floats. Other pools and dtypes: stock.
 */
export function makeMaxPoolConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: MaxPoolAttrs }): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    const two = (v: number | [number, number]) => (Array.isArray(v) ? v.every((d) => d === 2) : v === 2);
    const plain2 = x.shape.length === 4 && x.dtype === 'float32' && two(attrs.filterSize) && two(attrs.strides) && attrs.pad === 'valid' && x.shape[3]! % 4 === 0;
    if (!plain2 || !simdKernels(backend)) return stock.kernelFunc(args as never) as TensorInfo;
    const [B, H, W, C] = x.shape as [number, number, number, number];
    const out = backend.makeOutput([B, H >> 1, W >> 1, C], 'float32');
    runPool2(backend, x, out, -Infinity);
    return out;
  };
  return { kernelName: MaxPool, backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc: kernelFunc as unknown as KernelFunc };
}

export function makeReluConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: { x: TensorInfo }; backend: BackendWasm }): TensorInfo => {
    const { inputs, backend } = args;
    const { x } = inputs;
    if (x.dtype !== 'float32' || !simdKernels(backend)) return stock.kernelFunc(args as never) as TensorInfo;
    const out = backend.makeOutput(x.shape, 'float32');
    const px = addressOf(backend, x), po = addressOf(backend, out);
    runElementwise(backend, 'relu', util.sizeFromShape(x.shape), (i0, count) => [px, po, i0, i0 + count]);
    return out;
  };
  return { kernelName: Relu, backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc: kernelFunc as unknown as KernelFunc };
}
