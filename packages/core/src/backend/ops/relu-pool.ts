import * as tf from '@tensorflow/tfjs-core';
import { getKernel, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { raw } from './batch-norm.js';
import { free, runWasmKernel } from '../kernels/util.js';
import { addressOf, batchRanges, runParts, simdKernels, type SimdKernels } from '../simd/index.js';

const KERNEL = 'KeypointsReluPool2Grad';
const FORWARD = 'KeypointsReluPool2';

/**
 * relu(maxPool2×2(x)) in one pass on wasm with SIMD and C % 4 == 0 (halves of the batch on two
 * threads); elsewhere the stock max-pool then ReLU. NaN inputs are skipped, as in the cpu backend's pool.
 */
const reluPool2: KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const simd = C % 4 === 0 ? simdKernels(backend) : undefined;
  if (!simd) {
    const w = backend as BackendWasm;
    const pooled = runWasmKernel(w, 'MaxPool', { x }, { filterSize: 2, strides: 2, pad: 'valid' });
    const out = runWasmKernel(w, 'Relu', { x: pooled });
    free(w, pooled);
    return out;
  }
  const w = backend as BackendWasm;
  const OH = H >> 1, OW = W >> 1;
  const out = w.makeOutput([B, OH, OW, C], 'float32');
  runPool2(w, x, out, 0);
  return out;
};

/** The pooling kernel over the batch (halves of it on two threads when large); floor 0 = with ReLU, −∞ = plain. */
export function runPool2(w: BackendWasm, x: TensorInfo, out: TensorInfo, floor: number): void {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const OH = H >> 1, OW = W >> 1;
  const part = (b0: number, count: number) =>
    [addressOf(w, x) + 4 * b0 * H * W * C, addressOf(w, out) + 4 * b0 * OH * OW * C, count, H, W, C, floor] as Parameters<SimdKernels['reluPool2']>;
  runParts(w, 'reluPool2', batchRanges(B, H * W * C).map(([b0, b1]) => part(b0, b1 - b0)));
}

/**
 * Gradient of relu(maxPool2×2(x)) in one pass, NHWC, stride 2, no padding: in each window the first
 * strictly greatest input gets dy when that maximum is > 0, every other input 0. This is exactly
 * ReLU's gradient applied after the cpu max-pool gradient (ReLU keeps order, so the window's first
 * maximum is the same before and after it, and a maximum ≤ 0 means ReLU's gradient is 0 there),
 * for one pass over the activations instead of two. NaN inputs get 0 here (NaN through ReLU's
 * own gradient); training stops on a non-finite loss anyway.
 */
const reluPool2Grad: KernelFunc = ({ inputs, backend }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const io = raw(backend);
  const out = io.output(x.shape);
  const simd = C % 4 === 0 ? simdKernels(backend) : undefined;
  if (simd) {
    const w = backend as BackendWasm;
    const OH = H >> 1, OW = W >> 1;
    const part = (b0: number, count: number) =>
      [addressOf(w, x) + 4 * b0 * H * W * C, addressOf(w, dy) + 4 * b0 * OH * OW * C, addressOf(w, out.info) + 4 * b0 * H * W * C, count, H, W, C] as Parameters<typeof simd.reluPool2Grad>;
    runParts(w, 'reluPool2Grad', batchRanges(B, H * W * C).map(([b0, b1]) => part(b0, b1 - b0)));
    return out.info;
  }
  const xv = io.values(x), g = io.values(dy), dx = out.values();
  dx.fill(0);
  const OH = H >> 1, OW = W >> 1, row = W * C;
  let o = 0;
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const p00 = ((b * H + 2 * oy) * W + 2 * ox) * C;
        for (let c = 0; c < C; c++, o++) {
          let best = p00 + c;
          let v = xv[best];
          for (const p of [p00 + C + c, p00 + row + c, p00 + row + C + c]) {
            if (xv[p] > v) {
              v = xv[p];
              best = p;
            }
          }
          if (v > 0) dx[best] = g[o];
        }
      }
    }
  }
  return out.info;
};

/** The gradient for wasm and cpu and the wasm forward (registered by backend/register.ts). */
export const reluPoolKernels: KernelConfig[] = [
  ...['wasm', 'cpu'].map((backendName) => ({ kernelName: KERNEL, backendName, kernelFunc: reluPool2Grad })),
  { kernelName: FORWARD, backendName: 'wasm', kernelFunc: reluPool2 },
];

/**
 * relu(maxPool(x, 2×2, stride 2, valid)) — equal to maxPool(relu(x)) — with the one-pass gradient
 * above on wasm and cpu; on other backends (tfjs-node) the two stock ops.
 */
export function reluMaxPool2(x: tf.Tensor4D): tf.Tensor4D {
  if (!getKernel(KERNEL, tf.getBackend())) return tf.maxPool(tf.relu(x), 2, 2, 'valid');
  const f = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    save([input]);
    return {
      value: getKernel(FORWARD, tf.getBackend()) ? (tf.engine().runKernel(FORWARD, { x: input }) as tf.Tensor) : tf.relu(tf.maxPool(input as tf.Tensor4D, 2, 2, 'valid')),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.engine().runKernel(KERNEL, { x: saved[0]!, dy }) as tf.Tensor,
    };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Tensor4D>>[0]);
  return f(x) as tf.Tensor4D;
}
