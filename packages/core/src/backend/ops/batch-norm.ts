import * as tf from '@tensorflow/tfjs-core';
import { registerKernel, getKernel, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

/**
 * Batch normalisation in training mode (batch statistics) as ONE forward kernel and ONE backward
 * kernel, instead of the ~15 elementwise ops (each a full pass over the activations) that
 * tf.moments + scale/shift and their gradients cost. Plain JS loops over the backend's memory,
 * channels innermost; registered for wasm and cpu.
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

const forward: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
  const eps = (attrs as { epsilon: number }).epsilon;
  const io = raw(backend);
  const C = x.shape[x.shape.length - 1];
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
  const io = raw(backend);
  const C = x.shape[x.shape.length - 1];
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

let registered = false;
function ensureKernels(): void {
  if (registered) return;
  for (const backendName of ['wasm', 'cpu']) {
    for (const [kernelName, kernelFunc] of [
      [FWD, forward],
      [BWD, backward],
    ] as const) {
      if (!getKernel(kernelName, backendName)) registerKernel({ kernelName, backendName, kernelFunc } as KernelConfig);
    }
  }
  registered = true;
}

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
  ensureKernels();
  let stats: Float32Array[] = [];
  const f = tf.customGrad((...args) => {
    const [xx, gg, bb] = args as tf.Tensor[];
    const save = args[3] as (tensors: tf.Tensor[]) => void;
    const [y, mean, variance] = tf.engine().runKernel(FWD, { x: xx, gamma: gg, beta: bb }, { epsilon }) as tf.Tensor[];
    save([xx, gg, mean, variance]);
    // Copied out (C floats): the tensors themselves belong to the tape, or die with this scope.
    stats = [mean.dataSync() as Float32Array, variance.dataSync() as Float32Array];
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const [sx, sg, sm, sv] = saved;
        return tf.engine().runKernel(BWD, { dy: dy as tf.Tensor, x: sx, gamma: sg, mean: sm, variance: sv }, { epsilon }) as tf.Tensor[];
      },
    };
  });
  const y = f(x, gamma, beta);
  return { y, mean: tf.tensor1d(stats[0]), variance: tf.tensor1d(stats[1]) };
}
