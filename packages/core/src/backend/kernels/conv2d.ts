import { backend_util, util, type Conv2DAttrs, type FusedConv2DAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, CONV_SPLIT_MIN, runSplit, simdKernels } from '../simd/index.js';

/**
 * Conv2D and FusedConv2D (bias, no activation) for stride 1, dilation 1, NHWC and output channels
 * a multiple of 8 on our SIMD direct convolution (assembly/kernels.ts), which measured ~35 %
 * faster than XNNPACK's on the seed network's 5×5×32×64 layer here, with the second thread
 * splitting the output channels; the filter is first packed by blocks of 8 output channels.
 * Everything else (strides, activations, PReLU, odd channel counts, no SIMD) goes to the stock kernel.
 */
export function makeConv2DConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo }; backend: BackendWasm; attrs: Conv2DAttrs & Partial<FusedConv2DAttrs> }): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { x, filter, bias, preluActivationWeights } = inputs;
    const stockRun = () => stock.kernelFunc(args as never) as TensorInfo;
    const activation = attrs.activation ?? 'linear';
    if (activation !== 'linear' || preluActivationWeights || x.dtype !== 'float32' || filter.dtype !== 'float32') return stockRun();
    const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, false, backend_util.convertConv2DDataFormat(attrs.dataFormat));
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: Ci, outHeight: OH, outWidth: OW, outChannels: Co, filterHeight: KH, filterWidth: KW } = info;
    // Fewer than 8 input channels (a grayscale first layer) on one thread (Co not a multiple of 16):
    // XNNPACK's, on both, measured about even or faster; on two threads ours measured faster
    // (seed network's 5×5×1×32 layer at batch 64: 29 vs 35–39 ms).
    if (info.dataFormat !== 'channelsLast' || info.strideHeight !== 1 || info.strideWidth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1 || Co % 8 !== 0 || (Ci < 8 && Co % 16 !== 0)) return stockRun();
    if (bias && util.sizeFromShape(bias.shape) !== Co) return stockRun();
    const simd = simdKernels(backend);
    if (!simd) return stockRun();
    const out = backend.makeOutput([B, OH, OW, Co], 'float32');
    const packed = backend.makeOutput(filter.shape, 'float32');
    simd.packFilter(addressOf(backend, filter), addressOf(backend, packed), KH, KW, Ci, Co, 0);
    const args16 = (c0: number, c1: number) =>
      [addressOf(backend, x), addressOf(backend, packed), bias ? addressOf(backend, bias) : 0, addressOf(backend, out), B, H, W, Ci, OH, OW, Co, KH, KW, info.padInfo.top, info.padInfo.left, c0, c1] as Parameters<typeof simd.conv2d>;
    if (Co % 16 === 0 && B * OH * OW * Co * KH * KW * Ci >= CONV_SPLIT_MIN) runSplit(backend, 'conv2d', args16(Co / 2, Co), args16(0, Co / 2));
    else simd.conv2d(...args16(0, Co));
    backend.disposeData(packed.dataId);
    return out;
  };
  return { kernelName: stock.kernelName, backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc: kernelFunc as unknown as KernelFunc };
}
