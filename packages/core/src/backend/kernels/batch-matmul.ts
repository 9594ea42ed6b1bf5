import { BatchMatMul, util, type BatchMatMulAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { free, runWasmKernel } from './util.js';
import { addressOf, halfOf4, ranges, runParts, runSplit, simdKernels } from '../simd/index.js';

/**
 * Float32 products with N a multiple of 8 (every dense layer here but a 30-keypoint output) go to
 * Keypoints' SIMD GEMM (simdGemm below), which reads transposed operands in place: dense-layer
 * gradients (dW = xᵀ·dy, dx = dy·Wᵀ) need no copies, except a long xᵀ, transposed first.
 *
 * Otherwise: the stock wasm BatchMatMul runs at ~16 GFLOP/s untransposed but 0.5–1.6 GFLOP/s with
 * transposeA/transposeB (strided inner loops), so transposes are materialised and the untransposed
 * kernel does the product, choosing between C = op(A)·op(B) and C = (op(B)ᵀ·op(A)ᵀ)ᵀ by the
 * number of elements that must be moved. Untransposed products with a large B seen for the first
 * time (a dense layer's forward pass in training: the kernel is a new tensor after every optimizer
 * step) are swapped too: XNNPACK packs B for the stock kernel with strided reads (~380 ms for a
 * 36864×512 kernel, 6× the product itself). A B seen before (inference with fixed weights) goes
 * to the stock kernel, whose packed operator is cached.
 */
export function makeBatchMatMulConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: { a: TensorInfo; b: TensorInfo }; backend: BackendWasm; attrs: BatchMatMulAttrs }): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { a, b } = inputs;
    const { transposeA, transposeB } = attrs;
    const stockRun = () => stock.kernelFunc(args as never) as TensorInfo;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return stockRun();
    const direct = simdGemm(backend, a, b, transposeA, transposeB);
    if (direct) return direct;
    if (!transposeA && !transposeB) return freshLargeB(backend, a, b) ?? stockRun();
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
      const y = simdGemm(backend, l, r, false, false) ?? stock.kernelFunc({ inputs: { a: l, b: r }, backend, attrs: { transposeA: false, transposeB: false } } as never) as TensorInfo;
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
  /** C = (Bᵀ·Aᵀ)ᵀ for a large B never seen before, with Bᵀ made in JS; undefined = use the stock kernel. */
  const freshLargeB = (backend: BackendWasm, a: TensorInfo, b: TensorInfo): TensorInfo | undefined => {
    const seen = seenB.has(b.dataId);
    seenB.add(b.dataId);
    if (seen || a.shape.length !== 2 || b.shape.length !== 2) return undefined;
    const [m, k] = a.shape as [number, number];
    const n = b.shape[1]!;
    if (k * n < SWAP_MIN_B || k * n < 2 * (m * k + m * n)) return undefined;
    const bT = backend.makeOutput([n, k], 'float32');
    const simd = simdKernels(backend);
    if (simd) {
      const args = (r0: number, r1: number) => [addressOf(backend, b), addressOf(backend, bT), k, n, r0, r1] as Parameters<typeof simd.transpose>;
      const mid = halfOf4(k);
      runSplit(backend, 'transpose', args(0, mid), args(mid, k));
    }
    else transposeInto(backend.typedArrayFromHeap(b) as Float32Array, backend.typedArrayFromHeap(bT) as Float32Array, k, n);
    const aT = runWasmKernel(backend, 'Transpose', { x: a }, { perm: [1, 0] });
    const cT = stock.kernelFunc({ inputs: { a: bT, b: aT }, backend, attrs: { transposeA: false, transposeB: false } } as never) as TensorInfo;
    const c = runWasmKernel(backend, 'Transpose', { x: cT }, { perm: [1, 0] });
    free(backend, bT, aT, cT);
    return c;
  };
  return { kernelName: BatchMatMul, backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc: kernelFunc as unknown as KernelFunc };
}

/**
 * C = op(A)·op(B) on Keypoints' SIMD GEMM (assembly/kernels.ts), transposes read in place, for
 * operands with the same batch dimensions and N a multiple of 8, the columns split over two
 * threads; undefined when it does not apply. ~1.5× the stock kernel's untransposed product, and
 * neither a fresh dense kernel nor a transposed operand is packed or copied first.
 */
function simdGemm(backend: BackendWasm, a: TensorInfo, b: TensorInfo, tA: boolean, tB: boolean): TensorInfo | undefined {
  const ra = a.shape.length, rb = b.shape.length;
  if (ra < 2 || ra !== rb || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const [a0, a1] = a.shape.slice(-2) as [number, number];
  const [b0, b1] = b.shape.slice(-2) as [number, number];
  const [M, K] = tA ? [a1, a0] : [a0, a1];
  const [K2, N] = tB ? [b1, b0] : [b0, b1];
  const batch = util.sizeFromShape(a.shape.slice(0, -2));
  if (K !== K2 || N % 8 !== 0 || !a.shape.slice(0, -2).every((d, i) => d === b.shape[i])) return undefined;
  // Aᵀ read in place steps M floats per k: beyond a few KB each step is a new page (a 36864-row
  // xᵀ ran at ~60 % of the speed of transposing it first), so large ones are transposed by the caller.
  if (tA && M > TA_MAX_ROWS) return undefined;
  const simd = simdKernels(backend);
  if (!simd) return undefined;
  const c = backend.makeOutput([...a.shape.slice(0, -2), M, N], 'float32');
  const pack = backend.makeOutput([2, 256 * 8], 'float32'); // one B panel per thread
  const [pa, pb, pc, pp] = [addressOf(backend, a), addressOf(backend, b), addressOf(backend, c), addressOf(backend, pack)];
  // Column ranges (multiples of 8) claimed by either thread, each with its own panel (argument 3).
  // Few: every part reads all of A once.
  const cols = ranges(N, M * K * N >= GEMM_SPLIT_MIN ? GEMM_PARTS : 1, 8);
  for (let i = 0; i < batch; i++) {
    const args = (n0: number, n1: number) =>
      [pa + 4 * i * M * K, pb + 4 * i * K * N, pc + 4 * i * M * N, pp, M, K, N, tA ? 1 : 0, tB ? 1 : 0, n0, n1] as Parameters<typeof simd.gemm>;
    runParts(backend, 'gemm', cols.map(([n0, n1]) => args(n0, n1)), { index: 3, values: [pp, pp + 256 * 8 * 4] });
  }
  backend.disposeData(pack.dataId);
  return c;
}
const TA_MAX_ROWS = 1024;
/** Products below this many multiply-adds are not worth a second thread. */
const GEMM_SPLIT_MIN = 1 << 21;
/** Column parts of a large product (see simdGemm). */
const GEMM_PARTS = 4;

/** B operands already multiplied once (dataIds are objects; weak, so disposed tensors are forgotten). */
const seenB = new WeakSet<object>();
/** Below a million elements XNNPACK's packing of B costs less than the transposes. */
const SWAP_MIN_B = 1 << 20;

/** dst[j·rows + i] = src[i·cols + j], in 16×16 blocks (~5 ns per element here; the wasm Transpose ~10). */
export function transposeInto(src: Float32Array, dst: Float32Array, rows: number, cols: number): void {
  const B = 16;
  for (let i0 = 0; i0 < rows; i0 += B) {
    const i1 = Math.min(rows, i0 + B);
    for (let j0 = 0; j0 < cols; j0 += B) {
      const j1 = Math.min(cols, j0 + B);
      for (let i = i0; i < i1; i++) {
        const ro = i * cols;
        for (let j = j0; j < j1; j++) dst[j * rows + i] = src[ro + j];
      }
    }
  }
}
