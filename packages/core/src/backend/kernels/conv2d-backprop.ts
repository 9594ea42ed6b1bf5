import {
  backend_util,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { free, runWasmKernel } from './util.js';
import { runConv2d } from './conv2d.js';
import { runWinoConv, runWinoFilterGrad, winogradFits } from './winograd.js';
import { addressOf, CONV_SPLIT_MIN, runSplit, simdKernels } from '../simd/index.js';

type ExplicitPad = [[number, number], [number, number], [number, number], [number, number]];

/**
 * dW[kh,kw,ci,co] = Σ_{b,oh,ow} x[b, oh·s+kh−pt, ow·s+kw−pl, ci] · dy[b,oh,ow,co].
 *
 * Read with ci as the batch, b as the channels and dy as a (oh × ow) filter, that is a forward
 * convolution with dilation = the forward stride, so it runs on XNNPACK's SIMD conv:
 *   conv2d(xᵀ[ci,H,W,b], dyᵀ[oh,ow,b,co], stride 1, dilation s) = dW'[ci,kh,kw,co].
 * Rows/columns the forward pass never reached (valid padding, stride > 1) are sliced off first,
 * because explicit padding cannot be negative.
 */
export function conv2DBackpropFilterWasm(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: BackendWasm;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(dataFormat),
  );
  if (info.dataFormat !== 'channelsLast') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Input extent the forward pass touched, measured from the padded origin.
  let bottom = (outHeight - 1) * sh + kh - top - inHeight;
  let right = (outWidth - 1) * sw + kw - left - inWidth;
  const usedH = inHeight + Math.min(bottom, 0);
  const usedW = inWidth + Math.min(right, 0);
  bottom = Math.max(bottom, 0);
  right = Math.max(right, 0);

  if (sh === 1 && sw === 1 && info.dilationHeight === 1 && info.dilationWidth === 1 && outChannels % 8 === 0) {
    const simd = simdKernels(backend);
    if (simd) return simdFilterGrad(backend, simd, x, dy, info);
  }
  if (inChannels === 1 && sh === 1 && sw === 1) return singleChannelFilterGrad(backend, x, dy, info);

  const temps: TensorInfo[] = [];
  let xs: TensorInfo = x;
  if (usedH !== inHeight || usedW !== inWidth) {
    xs = runWasmKernel(backend, 'Slice', { x }, { begin: [0, 0, 0, 0], size: [batchSize, usedH, usedW, inChannels] });
    temps.push(xs);
  }
  const xT = runWasmKernel(backend, 'Transpose', { x: xs }, { perm: [3, 1, 2, 0] });
  const dyT = runWasmKernel(backend, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  temps.push(xT, dyT);
  const explicit: ExplicitPad = [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
  const dwT = runWasmKernel(
    backend,
    'Conv2D',
    { x: xT, filter: dyT },
    { strides: [1, 1], pad: explicit, dataFormat: 'NHWC', dilations: [sh, sw], dimRoundingMode: undefined } as never,
  );
  temps.push(dwT);
  if (dwT.shape[0] !== inChannels || dwT.shape[1] !== kh || dwT.shape[2] !== kw || dwT.shape[3] !== outChannels) {
    free(backend, ...temps);
    throw new Error(`Conv2DBackpropFilter: internal shape mismatch ${dwT.shape} for filter ${filterShape}`);
  }
  const dw = runWasmKernel(backend, 'Transpose', { x: dwT }, { perm: [1, 2, 0, 3] });
  free(backend, ...temps);
  return dw;
}

/**
 * Stride 1, output channels a multiple of 8: the SIMD kernel (assembly/kernels.ts) sums
 * x·dy straight into dW, on two threads when the pool exists (each half the output channels).
 * The conv formulation below packs a new 48×48×64×64 "filter" (dy) for XNNPACK every step and
 * ran at ~27 GFLOP/s on two threads for the seed network's second layer.
 */
function simdFilterGrad(backend: BackendWasm, simd: NonNullable<ReturnType<typeof simdKernels>>, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: Ci, outHeight: OH, outWidth: OW, outChannels: Co, filterHeight: KH, filterWidth: KW } = info;
  if (winogradFits(KH, KW, Ci, Co)) return runWinoFilterGrad(backend, x, dy, KH, [B, H, W, Ci, OH, OW, Co, info.padInfo.top, info.padInfo.left]);
  const dw = backend.makeOutput([KH, KW, Ci, Co], 'float32');
  const args = (co0: number, co1: number) =>
    [addressOf(backend, x), addressOf(backend, dy), addressOf(backend, dw), B, H, W, Ci, OH, OW, Co, KH, KW, info.padInfo.top, info.padInfo.left, co0, co1] as Parameters<typeof simd.convFilterGrad>;
  const big = B * OH * OW * Co * KH * KW * Ci >= CONV_SPLIT_MIN;
  if (big && Co % 16 === 0) runSplit(backend, 'convFilterGrad', args(Co / 2, Co), args(0, Co / 2));
  else if (big && B > 1) {
    // 8 output channels (the default network's grayscale first layer, 3.8 ms a step on one
    // thread): halves of the batch, each summing into its own dW, then added.
    const dw2 = backend.makeOutput([KH, KW, Ci, Co], 'float32');
    const h = B >> 1, px = addressOf(backend, x), pd = addressOf(backend, dy);
    const half = (b0: number, n: number, out: number) =>
      [px + 4 * b0 * H * W * Ci, pd + 4 * b0 * OH * OW * Co, out, n, H, W, Ci, OH, OW, Co, KH, KW, info.padInfo.top, info.padInfo.left, 0, Co] as Parameters<typeof simd.convFilterGrad>;
    runSplit(backend, 'convFilterGrad', half(0, h, addressOf(backend, dw)), half(h, B - h, addressOf(backend, dw2)));
    const a = backend.typedArrayFromHeap(dw) as Float32Array, b = backend.typedArrayFromHeap(dw2) as Float32Array;
    for (let i = 0; i < a.length; i++) a[i] += b[i]!;
    backend.disposeData(dw2.dataId);
  } else simd.convFilterGrad(...args(0, Co));
  return dw;
}

/**
 * One input channel (the first layer of a grayscale network), stride 1: the conv formulation
 * above runs XNNPACK with a single-channel batch and is slow, so build the patch matrix
 * Pᵀ[kh·kw, b·oh·ow] from kh·kw shifted copies of the input and take dW = Pᵀ·dy with one
 * untransposed matmul.
 */
function singleChannelFilterGrad(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, outChannels, filterHeight: kh, filterWidth: kw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const rows = B * OH * OW;
  const p3 = backend.makeOutput([1, kh * kw, rows], 'float32');
  // Views after allocating (allocation may grow the heap and detach older views).
  const xv = backend.typedArrayFromHeap(x) as Float32Array;
  const pv = backend.typedArrayFromHeap(p3) as Float32Array;
  // Row (i, j) of Pᵀ is the input shifted by (i − top, j − left): copy each image row's in-bounds
  // run with one memcpy (TypedArray.set) and zero the rest.
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const base = (i * kw + j) * rows;
      const c0 = Math.max(0, left - j); // first ox whose column is inside the image
      const c1 = Math.min(OW, W + left - j); // one past the last
      for (let b = 0; b < B; b++) {
        for (let oy = 0; oy < OH; oy++) {
          const dst = base + (b * OH + oy) * OW;
          const r = oy - top + i;
          if (r < 0 || r >= H || c1 <= c0) {
            pv.fill(0, dst, dst + OW);
            continue;
          }
          if (c0 > 0) pv.fill(0, dst, dst + c0);
          const src = (b * H + r) * W + (c0 - left + j);
          pv.set(xv.subarray(src, src + (c1 - c0)), dst + c0);
          if (c1 < OW) pv.fill(0, dst + c1, dst + OW);
        }
      }
    }
  }
  const dy3 = runWasmKernel(backend, 'Reshape', { x: dy }, { shape: [1, rows, outChannels] });
  // Untransposed: the stock kernel's fast path (our BatchMatMul passes it straight through).
  const dw3 = runWasmKernel(backend, 'BatchMatMul', { a: p3, b: dy3 }, { transposeA: false, transposeB: false });
  const dw = runWasmKernel(backend, 'Reshape', { x: dw3 }, { shape: [kh, kw, 1, outChannels] });
  free(backend, p3, dy3, dw3);
  return dw;
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilterWasm as unknown as KernelFunc,
};

/**
 * Stride-1 dx as a forward convolution: dx = conv2d(dy, flip(W) with in/out channels swapped),
 * padded by (k−1−pad) on each side, on XNNPACK's SIMD conv. The stock wasm kernel is a scalar loop
 * (about 10× slower here). Strides > 1 keep the stock kernel.
 */
export function makeConv2DBackpropInputConfig(stock: KernelFunc, stockSetup?: KernelConfig['setupFunc']): KernelConfig {
  const kernelFunc = (args: {
    inputs: { dy: TensorInfo; filter: TensorInfo };
    backend: BackendWasm;
    attrs: Conv2DBackpropInputAttrs;
  }): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs;
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
    const info = backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      backend_util.convertConv2DDataFormat(dataFormat),
    );
    if (info.strideHeight !== 1 || info.strideWidth !== 1 || info.dataFormat !== 'channelsLast') {
      return stock(args as never) as TensorInfo;
    }
    const { filterHeight: kh, filterWidth: kw, inHeight, inWidth, outHeight, outWidth } = info;
    const top = kh - 1 - info.padInfo.top;
    const left = kw - 1 - info.padInfo.left;
    const bottom = inHeight - outHeight + kh - 1 - top;
    const right = inWidth - outWidth + kw - 1 - left;
    if (top < 0 || left < 0 || bottom < 0 || right < 0) return stock(args as never) as TensorInfo;
    const { inChannels: ci, outChannels: co, batchSize: B } = info;
    if (winogradFits(kh, kw, co, ci) && simdKernels(backend)) {
      // dx = dy convolved with the flipped transpose: co input channels, ci output channels.
      const dx = backend.makeOutput([B, inHeight, inWidth, ci], 'float32');
      runWinoConv(backend, dy, filter, true, 0, addressOf(backend, dx), [B, outHeight, outWidth, co, inHeight, inWidth, ci, top, left]);
      return dx;
    }
    const simd = ci % 8 === 0 ? simdKernels(backend) : undefined;
    if (simd) {
      // Our direct convolution (assembly/kernels.ts): dx = conv(dy, wT) with wT the filter flipped
      // and transposed, packed by blocks of 8 of its output channels (= ci) in one pass.
      const dx = backend.makeOutput([B, inHeight, inWidth, ci], 'float32');
      const wT = backend.makeOutput([kh, kw, co, ci], 'float32');
      simd.packFilter(addressOf(backend, filter), addressOf(backend, wT), kh, kw, ci, co, 1);
      runConv2d(backend, dy, addressOf(backend, wT), 0, addressOf(backend, dx), [B, outHeight, outWidth, co, inHeight, inWidth, ci, kh, kw, top, left]);
      free(backend, wT);
      return dx;
    }
    const flipped = runWasmKernel(backend, 'Reverse', { x: filter }, { dims: [0, 1] });
    const wT = runWasmKernel(backend, 'Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
    const explicit: ExplicitPad = [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ];
    const dx = runWasmKernel(
      backend,
      'Conv2D',
      { x: dy, filter: wT },
      { strides: [1, 1], pad: explicit, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined } as never,
    );
    free(backend, flipped, wT);
    return dx;
  };
  // The stock setup (it binds the C++ entry point) must still run when the backend initialises.
  return { kernelName: Conv2DBackpropInput, backendName: 'wasm', setupFunc: stockSetup, kernelFunc: kernelFunc as unknown as KernelFunc };
}
