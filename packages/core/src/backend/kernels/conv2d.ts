import { backend_util, util, type Conv2DAttrs, type FusedConv2DAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, CONV_SPLIT_MIN, PARTS, ranges, runParts, runSplit, simdKernels, SPLIT_MIN, type SimdKernels } from '../simd/index.js';
import { runWinoConv, winogradFits } from './winograd.js';

/**
 * Conv2D and FusedConv2D (bias, no activation) for stride 1, dilation 1, NHWC and output channels
 * a multiple of 8 on our SIMD direct convolution (assembly/kernels.ts), which measured ~35 %
 * faster than XNNPACK's on the seed network's 5×5×32×64 layer here, the second thread taking half
 * (runConv2d); the filter is first packed by blocks of 8 output channels.
 * 3×3 and 5×5 filters with input channels a multiple of 4 go to Winograd (kernels/winograd.ts) instead.
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
    // Fewer than 8 input channels (a grayscale first layer) on one thread: XNNPACK's, on two, measured
    // about even or faster; on two threads ours measured faster (seed network's 5×5×1×32 layer at
    // batch 64: 29 vs 35–39 ms).
    if (info.dataFormat !== 'channelsLast' || info.strideHeight !== 1 || info.strideWidth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1 || Co % 8 !== 0 || (Ci < 8 && !convSplit(B, Co, B * OH * OW * Co * KH * KW * Ci))) return stockRun();
    if (bias && util.sizeFromShape(bias.shape) !== Co) return stockRun();
    const simd = simdKernels(backend);
    if (!simd) return stockRun();
    const out = backend.makeOutput([B, OH, OW, Co], 'float32');
    if (winogradFits(KH, KW, Ci, Co)) {
      runWinoConv(backend, x, filter, false, bias ? addressOf(backend, bias) : 0, addressOf(backend, out), [B, H, W, Ci, OH, OW, Co, info.padInfo.top, info.padInfo.left]);
      return out;
    }
    const packed = backend.makeOutput(filter.shape, 'float32');
    simd.packFilter(addressOf(backend, filter), addressOf(backend, packed), KH, KW, Ci, Co, 0);
    runConv2d(backend, x, addressOf(backend, packed), bias ? addressOf(backend, bias) : 0, addressOf(backend, out), [B, H, W, Ci, OH, OW, Co, KH, KW, info.padInfo.top, info.padInfo.left]);
    backend.disposeData(packed.dataId);
    return out;
  };
  return { kernelName: stock.kernelName, backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc: kernelFunc as unknown as KernelFunc };
}

/**
 * How runConv2d shares a convolution with the worker: halves of the batch, halves of the output
 * channels (one image, Co % 16 == 0), or not at all (below CONV_SPLIT_MIN multiply-adds).
 */
function convSplit(B: number, Co: number, macs: number): 'batch' | 'channels' | undefined {
  if (macs < CONV_SPLIT_MIN) return undefined;
  return B > 1 ? 'batch' : Co % 16 === 0 ? 'channels' : undefined;
}

/**
 * Our conv2d kernel over the whole batch: on two threads from CONV_SPLIT_MIN multiply-adds, by
 * halves of the batch (any channel count, equal work), or of the output channels for one image
 * (multiples of 16). With left/right padding and fewer than 4 input channels (a grayscale first
 * layer) the rows are first copied into a zero-padded buffer, so the kernel's 4-pixel blocks cover
 * every pixel: its one-pixel edge path is slowest there (seed's 5×5×1×32 layer: 19 vs 29 ms);
 * with more channels the copy cost more than it saved. dims: B, H, W, Ci, OH, OW, Co, KH, KW,
 * pad top, pad left.
 */
export function runConv2d(backend: BackendWasm, x: TensorInfo, packed: number, bias: number, out: number, dims: [number, number, number, number, number, number, number, number, number, number, number]): void {
  const [B, H, W0, Ci, OH, OW, Co, KH, KW, pt, pl0] = dims;
  let W = W0, pl = pl0, px = addressOf(backend, x);
  let padded: TensorInfo | undefined;
  const Wp = OW + KW - 1; // stride 1: the padded width
  if ((pl0 > 0 || Wp > W0) && OW >= 4 && Ci < 4) {
    padded = backend.makeOutput([B, H, Wp, Ci], 'float32');
    // In wasm, on both threads for a batch (as a JS loop of row copies it took ~1.5 ms of a default-network step).
    const rows = B * H, prow = Wp * Ci, dst = addressOf(backend, padded);
    runParts(backend, 'padRows', ranges(rows, rows * prow >= SPLIT_MIN ? PARTS : 1).map(([r0, r1]) => [px, dst, W0 * Ci, prow, pl0 * Ci, r0, r1] as Parameters<SimdKernels['padRows']>));
    W = Wp;
    pl = 0;
    px = addressOf(backend, padded);
  }
  const part = (b0: number, n: number, c0: number, c1: number) =>
    [px + 4 * b0 * H * W * Ci, packed, bias, out + 4 * b0 * OH * OW * Co, n, H, W, Ci, OH, OW, Co, KH, KW, pt, pl, c0, c1] as Parameters<SimdKernels['conv2d']>;
  const split = convSplit(B, Co, B * OH * OW * Co * KH * KW * Ci);
  if (split === 'batch') runParts(backend, 'conv2d', ranges(B, Math.min(PARTS, B)).map(([b0, b1]) => part(b0, b1 - b0, 0, Co)));
  else if (split === 'channels') runSplit(backend, 'conv2d', part(0, B, Co / 2, Co), part(0, B, 0, Co / 2));
  else runSplit(backend, 'conv2d', part(0, B, 0, Co));
  if (padded) backend.disposeData(padded.dataId);
}
