import { BatchMatMul, util, type BatchMatMulAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { free, runWasmKernel } from './util.js';

/**
 * The stock wasm BatchMatMul runs at ~16 GFLOP/s untransposed but 0.5–1.6 GFLOP/s with
 * transposeA/transposeB (strided inner loops), and dense-layer gradients are exactly those
 * (dW = xᵀ·dy, dx = dy·Wᵀ). So transposes are materialised and the untransposed kernel does the
 * product, choosing between C = op(A)·op(B) and C = (op(B)ᵀ·op(A)ᵀ)ᵀ by the number of elements
 * that must be moved (a 36864×512 weight matrix is never transposed). Results are bit-for-bit
 * the same sums in the same order as the stock untransposed kernel, so exact vs cpu within rounding.
 */
export function makeBatchMatMulConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: { a: TensorInfo; b: TensorInfo }; backend: BackendWasm; attrs: BatchMatMulAttrs }): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { a, b } = inputs;
    const { transposeA, transposeB } = attrs;
    const stockRun = () => stock.kernelFunc(args as never) as TensorInfo;
    if ((!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') return stockRun();
    const ra = a.shape.length;
    const rb = b.shape.length;
    const batchA = util.sizeFromShape(a.shape.slice(0, -2));
    const batchB = util.sizeFromShape(b.shape.slice(0, -2));
    if (batchA !== batchB || ra !== rb) return stockRun(); // broadcasting: leave to the stock kernel
    const [a0, a1] = [a.shape[ra - 2], a.shape[ra - 1]];
    const [b0, b1] = [b.shape[rb - 2], b.shape[rb - 1]];
    const m = transposeA ? a1 : a0;
    const n = transposeB ? b0 : b1;
    const sizeA = batchA * a0 * a1;
    const sizeB = batchB * b0 * b1;
    const sizeC = batchA * m * n;
    const costDirect = (transposeA ? sizeA : 0) + (transposeB ? sizeB : 0);
    const costSwapped = (transposeA ? 0 : sizeA) + (transposeB ? 0 : sizeB) + sizeC;
    const temps: TensorInfo[] = [];
    const as3 = runWasmKernel(backend, 'Reshape', { x: a }, { shape: [batchA, a0, a1] });
    const bs3 = runWasmKernel(backend, 'Reshape', { x: b }, { shape: [batchB, b0, b1] });
    temps.push(as3, bs3);
    const t = (x: TensorInfo) => {
      const y = runWasmKernel(backend, 'Transpose', { x }, { perm: [0, 2, 1] });
      temps.push(y);
      return y;
    };
    const mm = (l: TensorInfo, r: TensorInfo) => {
      const y = stock.kernelFunc({ inputs: { a: l, b: r }, backend, attrs: { transposeA: false, transposeB: false } } as never) as TensorInfo;
      temps.push(y);
      return y;
    };
    let c3: TensorInfo;
    if (costDirect <= costSwapped) {
      c3 = mm(transposeA ? t(as3) : as3, transposeB ? t(bs3) : bs3);
    } else {
      const cT = mm(transposeB ? bs3 : t(bs3), transposeA ? as3 : t(as3));
      c3 = t(cT);
    }
    const out = runWasmKernel(backend, 'Reshape', { x: c3 }, { shape: [...a.shape.slice(0, -2), m, n] });
    free(backend, ...temps);
    return out;
  };
  return { kernelName: BatchMatMul, backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc: kernelFunc as unknown as KernelFunc };
}
