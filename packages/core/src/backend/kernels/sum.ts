import { Sum, util, type KernelConfig, type KernelFunc, type SumAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { free, runWasmKernel } from './util.js';

/**
 * Sum over every axis but the last (bias gradients: Σ over batch, height, width) as
 * ones[1 × rows] · x[rows × C]: the stock wasm Sum transposes the reduced axes last first
 * (~68 ms for a 32×96×96×32 activation here); the matmul reads x once (~6 ms). Same float32
 * accumulation, so results match the cpu backend within rounding. Other reductions: stock.
 */
export function makeSumConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: SumAttrs }): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    const rank = x.shape.length;
    const axes = util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
    const leading = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32') return stock.kernelFunc(args as never) as TensorInfo;
    const C = x.shape[rank - 1];
    const rows = util.sizeFromShape(x.shape) / C;
    const ones = backend.makeOutput([1, 1, rows], 'float32');
    backend.typedArrayFromHeap(ones).fill(1);
    const x3 = runWasmKernel(backend, 'Reshape', { x }, { shape: [1, rows, C] });
    const s = runWasmKernel(backend, 'BatchMatMul', { a: ones, b: x3 }, { transposeA: false, transposeB: false });
    const outShape = attrs.keepDims ? [...x.shape.slice(0, -1).map(() => 1), C] : [C];
    const out = runWasmKernel(backend, 'Reshape', { x: s }, { shape: outShape });
    free(backend, ones, x3, s);
    return out;
  };
  return { kernelName: Sum, backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc: kernelFunc as unknown as KernelFunc };
}
