import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { free, runWasmKernel } from './util.js';

/**
 * Convolution gradients of single-channel-input layers (the first layer of a grayscale image
 * network) as one matrix product plus row copies.
 *
 * There the forward-convolution formulations used for other layers are badly shaped for
 * XNNPACK: dW as a convolution has a 96×96 "filter" and a 5×5 output, and dx has one output
 * channel. As matrix products they are ordinary (K = kh·kw taps, M = N·OH·OW positions):
 *   dW[K, co] = P[K, M] · dy[M, co]         P[k] = the input shifted by tap k (im2col, transposed)
 *   Cᵀ[K, M]  = W[K, co] · dy[M, co]ᵀ       dx = Σ_k Cᵀ[k] shifted back by tap k (col2im)
 * Shifted rows are contiguous runs of the input, so P and the col2im sums are built with typed
 * array copies and adds over whole rows. Batches go in chunks so P stays under ~64 MB. Any
 * stride and padding; no dilation.
 */

const CHUNK_FLOATS = 16 * 2 ** 20;
const MAX_TAPS = 49;

export function im2colApplies(info: backend_util.Conv2DInfo): boolean {
  return (
    info.dataFormat === 'channelsLast' &&
    info.inChannels === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    info.filterHeight * info.filterWidth <= MAX_TAPS
  );
}

function chunkRows(info: backend_util.Conv2DInfo): number {
  const perImage = info.outHeight * info.outWidth * info.filterHeight * info.filterWidth;
  return Math.max(1, Math.min(info.batchSize, Math.floor(CHUNK_FLOATS / Math.max(1, perImage))));
}

/** Output columns [ox0, ox1) whose input column ox·s − left + j lies inside [0, W). */
function validCols(OW: number, W: number, s: number, left: number, j: number): [number, number] {
  const ox0 = Math.max(0, Math.ceil((left - j) / s));
  const ox1 = Math.min(OW, Math.floor((W - 1 + left - j) / s) + 1);
  return [ox0, Math.max(ox0, ox1)];
}

/** dW of a single-input-channel convolution: Σ over batch chunks of P·dy. */
export function conv2DBackpropFilterIm2col(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { batchSize, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const K = kh * kw;
  const per = OH * OW;
  const rows = chunkRows(info);
  const dy3 = runWasmKernel(backend, 'Reshape', { x: dy }, { shape: [1, batchSize * per, co] });
  let acc: TensorInfo | undefined;
  for (let b0 = 0; b0 < batchSize; b0 += rows) {
    const nb = Math.min(rows, batchSize - b0);
    const M = nb * per;
    const p = backend.makeOutput([1, K, M], 'float32');
    // Views after every allocation: growing the heap detaches earlier ones.
    const P = backend.typedArrayFromHeap(p) as Float32Array;
    const X = backend.typedArrayFromHeap(x) as Float32Array;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const [ox0, ox1] = validCols(OW, W, sw, left, j);
        let dst = (i * kw + j) * M;
        for (let b = b0; b < b0 + nb; b++) {
          for (let oy = 0; oy < OH; oy++, dst += OW) {
            const iy = oy * sh - top + i;
            if (iy < 0 || iy >= H || ox1 === ox0) {
              P.fill(0, dst, dst + OW);
              continue;
            }
            if (ox0 > 0) P.fill(0, dst, dst + ox0);
            if (ox1 < OW) P.fill(0, dst + ox1, dst + OW);
            const src = (b * H + iy) * W - left + j; // + ox·sw
            if (sw === 1) P.set(X.subarray(src + ox0, src + ox1), dst + ox0);
            else for (let ox = ox0; ox < ox1; ox++) P[dst + ox] = X[src + ox * sw]!;
          }
        }
      }
    }
    const dyChunk = nb === batchSize ? dy3 : runWasmKernel(backend, 'Slice', { x: dy3 }, { begin: [0, b0 * per, 0], size: [1, M, co] });
    const part = runWasmKernel(backend, 'BatchMatMul', { a: p, b: dyChunk }, { transposeA: false, transposeB: false });
    free(backend, p);
    if (dyChunk !== dy3) free(backend, dyChunk);
    if (acc) {
      const sum = runWasmKernel(backend, 'Add', { a: acc, b: part });
      free(backend, acc, part);
      acc = sum;
    } else {
      acc = part;
    }
  }
  const out = runWasmKernel(backend, 'Reshape', { x: acc! }, { shape: [kh, kw, 1, co] });
  free(backend, acc!, dy3);
  return out;
}

/** dx of a single-input-channel convolution: Cᵀ = W·dyᵀ per batch chunk, each tap's row added back into dx. */
export function conv2DBackpropInputCol2im(backend: BackendWasm, dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { batchSize, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const K = kh * kw;
  const per = OH * OW;
  const rows = chunkRows(info);
  const w3 = runWasmKernel(backend, 'Reshape', { x: filter }, { shape: [1, K, co] });
  const dy3 = runWasmKernel(backend, 'Reshape', { x: dy }, { shape: [1, batchSize * per, co] });
  const dx = backend.makeOutput([batchSize, H, W, 1], 'float32');
  (backend.typedArrayFromHeap(dx) as Float32Array).fill(0);
  for (let b0 = 0; b0 < batchSize; b0 += rows) {
    const nb = Math.min(rows, batchSize - b0);
    const M = nb * per;
    const dyChunk = nb === batchSize ? dy3 : runWasmKernel(backend, 'Slice', { x: dy3 }, { begin: [0, b0 * per, 0], size: [1, M, co] });
    const dyT = runWasmKernel(backend, 'Transpose', { x: dyChunk }, { perm: [0, 2, 1] });
    if (dyChunk !== dy3) free(backend, dyChunk);
    const colsT = runWasmKernel(backend, 'BatchMatMul', { a: w3, b: dyT }, { transposeA: false, transposeB: false });
    free(backend, dyT);
    const C = backend.typedArrayFromHeap(colsT) as Float32Array;
    const D = backend.typedArrayFromHeap(dx) as Float32Array;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const [ox0, ox1] = validCols(OW, W, sw, left, j);
        if (ox1 === ox0) continue;
        let src = (i * kw + j) * M;
        for (let b = b0; b < b0 + nb; b++) {
          for (let oy = 0; oy < OH; oy++, src += OW) {
            const iy = oy * sh - top + i;
            if (iy < 0 || iy >= H) continue;
            const dst = (b * H + iy) * W - left + j; // + ox·sw
            for (let ox = ox0; ox < ox1; ox++) D[dst + ox * sw] += C[src + ox]!;
          }
        }
      }
    }
    free(backend, colsT);
  }
  free(backend, w3, dy3);
  return dx;
}
