import { Sum, util, type KernelConfig, type KernelFunc, type SumAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, halfOf4, runSplit, simdKernels, SPLIT_MIN } from '../simd/index.js';

/**
 * Sum over every axis but the last (bias gradients: Σ over batch, height, width) in one pass:
 * the SIMD kernel (float32 lanes over blocks of 256 rows, blocks summed in float64) when the
 * channels are a multiple of 4, else a JS loop with float64 accumulators like the cpu backend.
 * The stock wasm Sum transposes the reduced axes last first (~68 ms for a 32×96×96×32
 * activation), and a ones·x matmul pays XNNPACK's strided weight packing for x (~90 ms for
 * 64×48×48×64). Other reductions: stock.
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
    const outShape = attrs.keepDims ? [...x.shape.slice(0, -1).map(() => 1), C] : [C];
    const out = backend.makeOutput(outShape, 'float32');
    const simd = C % 4 === 0 ? simdKernels(backend) : undefined;
    if (simd) {
      const scratch = backend.makeOutput([2 * C], 'float32'); // C float64 accumulators
      const rows = util.sizeFromShape(x.shape) / C;
      const args = (c0: number, c1: number) => [addressOf(backend, x), addressOf(backend, out), addressOf(backend, scratch), rows, C, c0, c1] as Parameters<typeof simd.sumRows>;
      const mid = rows * C >= SPLIT_MIN ? halfOf4(C) : 0; // halves of the channels
      if (mid > 0) runSplit(backend, 'sumRows', args(0, mid), args(mid, C));
      else simd.sumRows(...args(0, C));
      backend.disposeData(scratch.dataId);
      return out;
    }
    // Views after makeOutput: an allocation can grow (and detach) the heap.
    const xv = backend.typedArrayFromHeap(x) as Float32Array;
    const acc = new Float64Array(C);
    for (let i = 0; i < xv.length; i += C) for (let c = 0; c < C; c++) acc[c] += xv[i + c];
    (backend.typedArrayFromHeap(out) as Float32Array).set(acc);
    return out;
  };
  return { kernelName: Sum, backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc: kernelFunc as unknown as KernelFunc };
}
