import {
  backend_util,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, halfOf4, runSplit, simdKernels } from '../simd/index.js';

/**
 * The depthwise convolution gradients stock wasm lacks (fine-tuning separable-conv networks such
 * as face-api's landmark net needs them). Plain JS over the wasm heap, channels innermost:
 * depthwise layers have ~k² multiply-adds per output, so these are memory-bound loops.
 * out[b,oy,ox,c·M+m] = Σ_ij x[b, oy·s−top+i·d, ox·s−left+j·d, c] · w[i,j,c,m].
 */
function info(xShape: number[], filterShape: number[], attrs: { strides: number | [number, number]; dilations: number | [number, number]; pad: unknown; dimRoundingMode?: 'floor' | 'round' | 'ceil' }) {
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad as 'same',
    attrs.dimRoundingMode,
    true,
  );
}

/**
 * The SIMD kernels (assembly/kernels.ts) for channel multiplier 1, dilation 1 and channels a
 * multiple of 4 — face-api's separable convolutions — on two threads splitting the channels;
 * false when they do not apply (the JS loops below then run).
 */
function simdDepthwise(backend: BackendWasm, name: 'depthwiseInputGrad' | 'depthwiseFilterGrad', ci: backend_util.Conv2DInfo, M: number, ptrs: [number, number, number]): boolean {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = ci;
  if (M !== 1 || ci.dilationHeight !== 1 || ci.dilationWidth !== 1 || C % 4 !== 0 || ci.dataFormat !== 'channelsLast' || !simdKernels(backend)) return false;
  const args = (c0: number, c1: number) => [...ptrs, B, H, W, C, OH, OW, KH, KW, sh, sw, ci.padInfo.top, ci.padInfo.left, c0, c1] as Parameters<NonNullable<ReturnType<typeof simdKernels>>[typeof name]>;
  const mid = halfOf4(C);
  runSplit(backend, name, args(mid, C), mid > 0 ? args(0, mid) : undefined);
  return true;
}

function backpropInput(args: { inputs: { dy: TensorInfo; filter: TensorInfo }; backend: BackendWasm; attrs: DepthwiseConv2dNativeBackpropInputAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  const ci = info(attrs.inputShape, filter.shape, attrs);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: OC } = ci;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = ci;
  const M = OC / C;
  const out = backend.makeOutput(attrs.inputShape, 'float32');
  if (simdDepthwise(backend, 'depthwiseInputGrad', ci, M, [addressOf(backend, dy), addressOf(backend, filter), addressOf(backend, out)])) return out;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  const w = backend.typedArrayFromHeap(filter) as Float32Array;
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const go = ((b * OH + oy) * OW + ox) * OC;
        for (let i = 0; i < KH; i++) {
          const y = oy * sh - ci.padInfo.top + i * dh;
          if (y < 0 || y >= H) continue;
          for (let j = 0; j < KW; j++) {
            const x = ox * sw - ci.padInfo.left + j * dw;
            if (x < 0 || x >= W) continue;
            const xo = ((b * H + y) * W + x) * C;
            const wo = (i * KW + j) * C * M;
            for (let c = 0; c < C; c++) {
              let s = 0;
              for (let m = 0; m < M; m++) s += g[go + c * M + m] * w[wo + c * M + m];
              dx[xo + c] += s;
            }
          }
        }
      }
    }
  }
  return out;
}

function backpropFilter(args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: BackendWasm; attrs: DepthwiseConv2dNativeBackpropFilterAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const ci = info(x.shape, attrs.filterShape, attrs);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: OC } = ci;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = ci;
  const M = OC / C;
  const out = backend.makeOutput(attrs.filterShape, 'float32');
  if (simdDepthwise(backend, 'depthwiseFilterGrad', ci, M, [addressOf(backend, x), addressOf(backend, dy), addressOf(backend, out)])) return out;
  const xv = backend.typedArrayFromHeap(x) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  const dwv = backend.typedArrayFromHeap(out) as Float32Array;
  // Accumulate in float64: a filter tap sums over every output position of the batch.
  const acc = new Float64Array(dwv.length);
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const go = ((b * OH + oy) * OW + ox) * OC;
        for (let i = 0; i < KH; i++) {
          const y = oy * sh - ci.padInfo.top + i * dh;
          if (y < 0 || y >= H) continue;
          for (let j = 0; j < KW; j++) {
            const xx = ox * sw - ci.padInfo.left + j * dw;
            if (xx < 0 || xx >= W) continue;
            const xo = ((b * H + y) * W + xx) * C;
            const wo = (i * KW + j) * C * M;
            for (let c = 0; c < C; c++) {
              const xval = xv[xo + c];
              for (let m = 0; m < M; m++) acc[wo + c * M + m] += xval * g[go + c * M + m];
            }
          }
        }
      }
    }
  }
  dwv.set(acc);
  return out;
}

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: backpropInput as unknown as KernelFunc,
};
export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: backpropFilter as unknown as KernelFunc,
};
