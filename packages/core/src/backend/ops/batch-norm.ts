import * as tf from '@tensorflow/tfjs-core';
import { getKernel, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, PARTS, ranges, runParts, runSums, simdKernels, SPLIT_MIN, type SimdKernels } from '../simd/index.js';

/**
 * Batch normalisation in training mode (batch statistics) as ONE forward kernel and ONE backward
 * kernel, instead of the ~15 elementwise ops (each a full pass over the activations) that
 * tf.moments + scale/shift and their gradients cost. On wasm with channels a multiple of 4: the
 * SIMD kernels (two passes each way, rows split over two threads); else plain JS loops over the
 * backend's memory, channels innermost (registered for wasm and cpu).
 *
 *   mean_c = Σx/N, var_c = Σ(x−mean)²/N (biased, as tf.moments), s_c = 1/√(var+ε)
 *   y = (x−mean)·s·γ + β
 *   dβ = Σdy, dγ = Σdy·x̂, dx = γ·s/N · (N·dy − dβ − x̂·dγ)   with x̂ = (x−mean)·s
 */
const FWD = 'KeypointsBatchNormTrain';
const BWD = 'KeypointsBatchNormTrainGrad';

export interface RawBackend {
  values(t: TensorInfo): Float32Array;
  output(shape: number[]): { info: TensorInfo; values: () => Float32Array };
}

export function raw(backend: unknown): RawBackend {
  const b = backend as {
    typedArrayFromHeap?: (t: TensorInfo) => Float32Array;
    makeOutput?: (shape: number[], dtype: string) => TensorInfo;
    data?: { get(id: object): { values: Float32Array } };
    makeTensorInfo?: (shape: number[], dtype: string, values?: Float32Array) => TensorInfo;
  };
  if (b.typedArrayFromHeap && b.makeOutput) {
    // wasm: views must be taken after every allocation (the heap may grow and detach them).
    return {
      values: (t) => b.typedArrayFromHeap!(t),
      output: (shape) => {
        const info = b.makeOutput!(shape, 'float32');
        return { info, values: () => b.typedArrayFromHeap!(info) };
      },
    };
  }
  return {
    values: (t) => b.data!.get(t.dataId).values,
    output: (shape) => {
      const v = new Float32Array(shape.reduce((a, c) => a * c, 1));
      const info = b.makeTensorInfo!(shape, 'float32', v);
      return { info, values: () => v };
    },
  };
}

/** A channel-sums kernel over every row (2·C float64 sums), rows split over two threads when large. */
export function rowSums(w: BackendWasm, name: 'channelMoments' | 'channelDots', rows: number, C: number, args: (out64: number, r0: number, r1: number) => Parameters<SimdKernels[typeof name]>): Float64Array {
  const half = rows * C >= SPLIT_MIN ? rows >> 1 : 0;
  return runSums(w, name, 2 * C, (out64) => args(out64, half, rows), half > 0 ? (out64) => args(out64, 0, half) : undefined);
}

/** C-float tensors for kernel parameters, filled from JS. */
export function params(w: BackendWasm, ...values: Float32Array[]): { addresses: number[]; dispose(): void } {
  const infos = values.map((v) => w.makeOutput([v.length], 'float32'));
  infos.forEach((info, i) => (w.typedArrayFromHeap(info) as Float32Array).set(values[i]));
  return { addresses: infos.map((info) => addressOf(w, info)), dispose: () => infos.forEach((info) => w.disposeData(info.dataId)) };
}

/** channelAffine over rows [0, rows): in parts on both threads when large. */
export function runRows(w: BackendWasm, rows: number, C: number, args: (r0: number, r1: number) => Parameters<SimdKernels['channelAffine']>): void {
  runParts(w, 'channelAffine', ranges(rows, rows * C >= SPLIT_MIN ? PARTS : 1).map(([r0, r1]) => args(r0, r1)));
}

/**
 * Batch statistics on wasm: mean and (biased) variance as new C-float tensors, and the forward's
 * per-channel scale γ/√(var + ε) (which the fused norm + pool kernels recompute bit for bit, see
 * ./batch-norm-pool.ts).
 */
export function batchStatsSimd(w: BackendWasm, x: TensorInfo, gamma: TensorInfo, eps: number): { mean: TensorInfo; variance: TensorInfo; scale: Float32Array } {
  const C = x.shape[x.shape.length - 1];
  const rows = x.shape.reduce((a, c) => a * c, 1) / C;
  const mean = w.makeOutput([C], 'float32');
  const variance = w.makeOutput([C], 'float32');
  const sums = rowSums(w, 'channelMoments', rows, C, (out64, r0, r1) => [addressOf(w, x), out64, C, r0, r1]);
  const k = (w.typedArrayFromHeap(x) as Float32Array).subarray(0, C); // the shift channelMoments used
  const mv = w.typedArrayFromHeap(mean) as Float32Array, vv = w.typedArrayFromHeap(variance) as Float32Array;
  for (let c = 0; c < C; c++) {
    const d = sums[c] / rows;
    mv[c] = k[c] + d;
    vv[c] = Math.max(0, sums[C + c] / rows - d * d);
  }
  return { mean, variance, scale: forwardScale(w.typedArrayFromHeap(gamma) as Float32Array, vv, eps) };
}

/** γ/√(var + ε) in float32, from the float32 variance the forward stored (so a backward pass can redo it exactly). */
export function forwardScale(gamma: Float32Array, variance: Float32Array, eps: number): Float32Array {
  const scale = new Float32Array(gamma.length);
  for (let c = 0; c < gamma.length; c++) scale[c] = gamma[c] / Math.sqrt(variance[c] + eps);
  return scale;
}

function forwardSimd(w: BackendWasm, x: TensorInfo, gamma: TensorInfo, beta: TensorInfo, eps: number): TensorInfo[] {
  const C = x.shape[x.shape.length - 1];
  const rows = x.shape.reduce((a, c) => a * c, 1) / C;
  const y = w.makeOutput(x.shape, 'float32');
  const { mean, variance, scale } = batchStatsSimd(w, x, gamma, eps);
  const p = params(w, scale);
  runRows(w, rows, C, (r0, r1) => [addressOf(w, x), 0, addressOf(w, mean), p.addresses[0], 0, addressOf(w, beta), addressOf(w, y), C, r0, r1]);
  p.dispose();
  return [y, mean, variance];
}

/**
 * The input-gradient coefficients from the gradient sums (Σdy and Σdy·(x − mean) per channel, over
 * `rows`): dx = a·dy + b·(x − mean) + t with a = γ·s, b = −a·s·Σdy·x̂/N, t = −a·Σdy/N (x̂ = (x − mean)·s,
 * s = 1/√(var + ε)); dγ = Σdy·x̂ and dβ = Σdy are written to dgamma and dbeta.
 */
export function gradCoefficients(sums: Float64Array, gamma: Float32Array, variance: Float32Array, eps: number, rows: number, dgamma: Float32Array, dbeta: Float32Array): { a: Float32Array; b: Float32Array; t: Float32Array } {
  const C = gamma.length;
  const a = new Float32Array(C), b = new Float32Array(C), t = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const s = 1 / Math.sqrt(variance[c] + eps);
    const sumDyXhat = sums[C + c] * s;
    dbeta[c] = sums[c];
    dgamma[c] = sumDyXhat;
    a[c] = gamma[c] * s;
    b[c] = -a[c] * s * (sumDyXhat / rows);
    t[c] = -a[c] * (sums[c] / rows);
  }
  return { a, b, t };
}

function backwardSimd(w: BackendWasm, dy: TensorInfo, x: TensorInfo, gamma: TensorInfo, mean: TensorInfo, variance: TensorInfo, eps: number): TensorInfo[] {
  const C = x.shape[x.shape.length - 1];
  const rows = x.shape.reduce((a, c) => a * c, 1) / C;
  const dx = w.makeOutput(x.shape, 'float32');
  const dgamma = w.makeOutput([C], 'float32');
  const dbeta = w.makeOutput([C], 'float32');
  const sums = rowSums(w, 'channelDots', rows, C, (out64, r0, r1) => [addressOf(w, dy), addressOf(w, x), addressOf(w, mean), out64, C, r0, r1]);
  const { a, b, t } = gradCoefficients(sums, w.typedArrayFromHeap(gamma) as Float32Array, w.typedArrayFromHeap(variance) as Float32Array, eps, rows, w.typedArrayFromHeap(dgamma) as Float32Array, w.typedArrayFromHeap(dbeta) as Float32Array);
  const p = params(w, a, b, t);
  runRows(w, rows, C, (r0, r1) => [addressOf(w, dy), addressOf(w, x), addressOf(w, mean), p.addresses[0], p.addresses[1], p.addresses[2], addressOf(w, dx), C, r0, r1]);
  p.dispose();
  return [dx, dgamma, dbeta];
}

const forward: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
  const eps = (attrs as { epsilon: number }).epsilon;
  const C = x.shape[x.shape.length - 1];
  if (C % 4 === 0 && simdKernels(backend)) return forwardSimd(backend as BackendWasm, x, gamma, beta, eps);
  const io = raw(backend);
  const y = io.output(x.shape);
  const mean = io.output([C]);
  const variance = io.output([C]);
  const xv = io.values(x), g = io.values(gamma), bt = io.values(beta);
  const yv = y.values(), mv = mean.values(), vv = variance.values();
  const n = xv.length, N = n / C;
  // Sums in float64 (Float64Array) so large N does not lose precision.
  const acc = new Float64Array(C);
  for (let i = 0; i < n; i += C) for (let c = 0; c < C; c++) acc[c] += xv[i + c];
  for (let c = 0; c < C; c++) mv[c] = acc[c] / N;
  acc.fill(0);
  for (let i = 0; i < n; i += C) {
    for (let c = 0; c < C; c++) {
      const d = xv[i + c] - mv[c];
      acc[c] += d * d;
    }
  }
  const scale = new Float32Array(C), shift = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    vv[c] = acc[c] / N;
    scale[c] = g[c] / Math.sqrt(vv[c] + eps);
    shift[c] = bt[c] - mv[c] * scale[c];
  }
  for (let i = 0; i < n; i += C) for (let c = 0; c < C; c++) yv[i + c] = xv[i + c] * scale[c] + shift[c];
  return [y.info, mean.info, variance.info];
};

const backward: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, x, gamma, mean, variance } = inputs as Record<string, TensorInfo>;
  const eps = (attrs as { epsilon: number }).epsilon;
  const C = x.shape[x.shape.length - 1];
  if (C % 4 === 0 && simdKernels(backend)) return backwardSimd(backend as BackendWasm, dy, x, gamma, mean, variance, eps);
  const io = raw(backend);
  const dx = io.output(x.shape);
  const dgamma = io.output([C]);
  const dbeta = io.output([C]);
  const dyv = io.values(dy), xv = io.values(x), g = io.values(gamma), mv = io.values(mean), vv = io.values(variance);
  const dxv = dx.values(), dgv = dgamma.values(), dbv = dbeta.values();
  const n = xv.length, N = n / C;
  const s = new Float32Array(C);
  for (let c = 0; c < C; c++) s[c] = 1 / Math.sqrt(vv[c] + eps);
  const sumDy = new Float64Array(C), sumDyXhat = new Float64Array(C);
  for (let i = 0; i < n; i += C) {
    for (let c = 0; c < C; c++) {
      const d = dyv[i + c];
      sumDy[c] += d;
      sumDyXhat[c] += d * (xv[i + c] - mv[c]) * s[c];
    }
  }
  const k = new Float32Array(C), mb = new Float32Array(C), mg = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    dbv[c] = sumDy[c];
    dgv[c] = sumDyXhat[c];
    k[c] = g[c] * s[c];
    mb[c] = sumDy[c] / N;
    mg[c] = sumDyXhat[c] / N;
  }
  for (let i = 0; i < n; i += C) {
    for (let c = 0; c < C; c++) {
      const xhat = (xv[i + c] - mv[c]) * s[c];
      dxv[i + c] = k[c] * (dyv[i + c] - mb[c] - xhat * mg[c]);
    }
  }
  return [dx.info, dgamma.info, dbeta.info];
};

/** The fused forward and backward for wasm and cpu (registered by backend/register.ts). */
export const batchNormKernels: KernelConfig[] = ['wasm', 'cpu'].flatMap((backendName) => [
  { kernelName: FWD, backendName, kernelFunc: forward as KernelFunc },
  { kernelName: BWD, backendName, kernelFunc: backward as KernelFunc },
]);

/** Whether the current backend has the fused kernels (else the caller uses plain tf ops). */
export const hasBatchNormKernels = (): boolean => !!getKernel(FWD, tf.getBackend());

export interface BatchNormTrainResult {
  y: tf.Tensor;
  /** Batch mean and (biased) variance per channel, for the moving averages; not differentiated. */
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/**
 * Training-mode batch norm over every axis but the last (NHWC channels, or dense features), with
 * a fused gradient for x, γ and β. Works on the wasm and cpu backends.
 */
export function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): BatchNormTrainResult {
  return trainingOp(FWD, BWD, x, gamma, beta, epsilon);
}

/**
 * A training batch-norm kernel pair as a differentiable op: forward `fwd`({x, gamma, beta}) →
 * [y, mean, variance]; backward `bwd`({dy, x, gamma, beta, mean, variance}) → [dx, dγ, dβ].
 */
export function trainingOp(fwd: string, bwd: string, x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): BatchNormTrainResult {
  let stats: Float32Array[] = [];
  const f = tf.customGrad((...args) => {
    const [xx, gg, bb] = args as tf.Tensor[];
    const save = args[3] as (tensors: tf.Tensor[]) => void;
    const [y, mean, variance] = tf.engine().runKernel(fwd, { x: xx, gamma: gg, beta: bb }, { epsilon }) as tf.Tensor[];
    save([xx, gg, bb, mean, variance]);
    // Copied out (C floats): the tensors themselves belong to the tape, or die with this scope.
    stats = [mean.dataSync() as Float32Array, variance.dataSync() as Float32Array];
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const [sx, sg, sb, sm, sv] = saved;
        return tf.engine().runKernel(bwd, { dy: dy as tf.Tensor, x: sx, gamma: sg, beta: sb, mean: sm, variance: sv }, { epsilon }) as tf.Tensor[];
      },
    };
  });
  const y = f(x, gamma, beta);
  return { y, mean: tf.tensor1d(stats[0]), variance: tf.tensor1d(stats[1]) };
}
