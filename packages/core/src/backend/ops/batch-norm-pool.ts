import * as tf from '@tensorflow/tfjs-core';
import { getKernel, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, batchRanges, runParts, runSums, simdKernels, SPLIT_MIN } from '../simd/index.js';
import { batchStatsSimd, forwardScale, gradCoefficients, params, trainingOp } from './batch-norm.js';

/**
 * Training batch norm, ReLU and a 2×2 max-pool (stride 2) as one op on wasm with SIMD (NHWC, even
 * height and width, channels a multiple of 4): the forward writes only the pooled map, and the
 * backward recomputes the normalised map from the convolution's output instead of reading it back
 * (assembly/norm-pool.ts). Same values as batch norm followed by ReLU + pool (./batch-norm.ts,
 * ./relu-pool.ts), with two full-size maps fewer written and five fewer read per step; on the
 * default network's 96×96×8 and 48×48×16 layers those passes were ~12 % of a training step.
 */
const FWD = 'KeypointsBatchNormReluPool2';
const BWD = 'KeypointsBatchNormReluPool2Grad';

/** Whether the gradient sums run in two halves (their parts each need their own float64 sums). */
function halves(B: number, H: number, W: number, C: number): number {
  return B * H * W * C >= SPLIT_MIN ? B >> 1 : 0;
}

const forward: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
  const w = backend as BackendWasm;
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const eps = (attrs as { epsilon: number }).epsilon;
  const { mean, variance, scale } = batchStatsSimd(w, x, gamma, eps);
  const out = w.makeOutput([B, H >> 1, W >> 1, C], 'float32');
  const p = params(w, scale);
  const part = (b0: number, count: number): Parameters<NonNullable<ReturnType<typeof simdKernels>>['normPool2']> =>
    [addressOf(w, x) + 4 * b0 * H * W * C, addressOf(w, mean), p.addresses[0]!, addressOf(w, beta), addressOf(w, out) + b0 * H * W * C, count, H, W, C];
  runParts(w, 'normPool2', batchRanges(B, H * W * C).map(([b0, b1]) => part(b0, b1 - b0)));
  p.dispose();
  return [out, mean, variance];
};

const backward: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, x, gamma, beta, mean, variance } = inputs as Record<string, TensorInfo>;
  const w = backend as BackendWasm;
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const eps = (attrs as { epsilon: number }).epsilon;
  const dx = w.makeOutput(x.shape, 'float32');
  const dgamma = w.makeOutput([C], 'float32');
  const dbeta = w.makeOutput([C], 'float32');
  const g = w.typedArrayFromHeap(gamma) as Float32Array, v = w.typedArrayFromHeap(variance) as Float32Array;
  // The forward's own scale, bit for bit: the kernels must find the same window maxima.
  const pa = params(w, forwardScale(g, v, eps));
  const X = addressOf(w, x), M = addressOf(w, mean), A = pa.addresses[0]!, T = addressOf(w, beta), DY = addressOf(w, dy);
  const pooledRows = B * (H >> 1);
  const split = halves(B, H, W, C) > 0 ? pooledRows >> 1 : 0;
  const sums = runSums(w, 'normPool2Dots', 2 * C, (out64) => [X, M, A, T, DY, out64, H, W, C, split, pooledRows], split > 0 ? (out64) => [X, M, A, T, DY, out64, H, W, C, 0, split] : undefined);
  const { b, t } = gradCoefficients(sums, w.typedArrayFromHeap(gamma) as Float32Array, w.typedArrayFromHeap(variance) as Float32Array, eps, B * H * W, w.typedArrayFromHeap(dgamma) as Float32Array, w.typedArrayFromHeap(dbeta) as Float32Array);
  const pb = params(w, b, t);
  const part = (b0: number, count: number): Parameters<NonNullable<ReturnType<typeof simdKernels>>['normPool2Grad']> =>
    [X + 4 * b0 * H * W * C, M, A, T, DY + b0 * H * W * C, pb.addresses[0]!, pb.addresses[1]!, addressOf(w, dx) + 4 * b0 * H * W * C, count, H, W, C];
  runParts(w, 'normPool2Grad', batchRanges(B, H * W * C).map(([b0, b1]) => part(b0, b1 - b0)));
  pa.dispose();
  pb.dispose();
  return [dx, dgamma, dbeta];
};

/** The fused forward and backward for wasm (registered by backend/register.ts). */
export const batchNormPoolKernels: KernelConfig[] = [
  { kernelName: FWD, backendName: 'wasm', kernelFunc: forward },
  { kernelName: BWD, backendName: 'wasm', kernelFunc: backward },
];

/**
 * relu(maxPool2×2(batchNorm(x))) in training mode, with the statistics for the moving averages, or
 * undefined where the fused kernels do not apply (another backend, no SIMD, odd height or width,
 * channels not a multiple of 4): the caller then runs batch norm and ReLU + pool as two ops.
 */
export function batchNormReluPool2Train(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } | undefined {
  const [, H, W, C] = x.shape;
  if (H % 2 !== 0 || W % 2 !== 0 || C % 4 !== 0 || x.dtype !== 'float32' || tf.getBackend() !== 'wasm' || !simdKernels(tf.backend()) || !getKernel(FWD, 'wasm')) return undefined;
  return trainingOp(FWD, BWD, x, gamma, beta, epsilon) as { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D };
}
