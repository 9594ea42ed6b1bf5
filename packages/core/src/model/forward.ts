/** The network's forward passes (training and inference) and the chunked pixel-space prediction built on them. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { batchNormTrain as fusedBatchNorm, hasBatchNormKernels } from '../backend/ops/batch-norm.js';
import { reluMaxPool2 } from '../backend/ops/relu-pool.js';
import { batchNormReluPool2Train } from '../backend/ops/batch-norm-pool.js';
import { LruCache } from '../util/lru.js';

/** Name of the dropout layer, so the trainer can apply it itself with a per-step seed. */
export const DROPOUT_LAYER = 'dropout';

/**
 * Forward pass used in training: batch norm on batch statistics (updating the moving averages the
 * saved model infers with) and dropout with an explicit seed, so a resumed run draws the same masks
 * (tfjs's seeded Dropout layer would repeat one mask every step). Same maths as the layers, with
 * cheaper gradients: the first convolution skips the images' gradient, ReLU + 2×2 max-pool is one op.
 */
export function forwardTrain(model: tfl.LayersModel, x: tf.Tensor, dropoutSeed: number): tf.Tensor {
  // A functional (non-sequential) model, the pretrained one, has neither batch norm nor dropout:
  // its training forward is its plain forward.
  if (!(model instanceof tfl.Sequential)) {
    if (model.layers.some((l) => l.getClassName() === 'BatchNormalization' || l.getClassName() === 'Dropout')) throw new Error(`${model.name}: batch norm or dropout in a functional model is not supported by forwardTrain`);
    return model.apply(x, { training: true }) as tf.Tensor;
  }
  let h = x;
  const layers = model.layers;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    const cls = layer.getClassName();
    if (cls === 'InputLayer') continue;
    if (cls === 'Conv2D' && h === x) {
      h = inputConv(layer, h);
    } else if (cls === 'ReLU' && isPool2(layers[i + 1]) && h.rank === 4) {
      h = reluMaxPool2(h as tf.Tensor4D);
      i++;
    } else if (layer.name === DROPOUT_LAYER) {
      const rate = (layer.getConfig() as { rate: number }).rate;
      h = tf.dropout(h, rate, undefined, dropoutSeed);
    } else if (cls === 'BatchNormalization') {
      // Batch norm, ReLU and a 2×2 pool as one op where the backend has it.
      const pool = layers[i + 1]?.getClassName() === 'ReLU' && isPool2(layers[i + 2]) && h.rank === 4;
      const r = batchNormTrain(layer, h, pool);
      h = r.y;
      if (r.pooled) i += 2;
    } else {
      h = layer.apply(h, { training: true }) as tf.Tensor;
    }
  }
  return h;
}

/**
 * Inference forward pass (batch norm on its moving averages, no dropout), layer by layer without
 * tfjs-layers' predict loop (which slices a batch into 32s and concatenates), with ReLU + 2×2
 * max-pool as one op. Same maths as model.predict. Functional models: their plain forward.
 */
export function forwardInfer(model: tfl.LayersModel, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    if (!(model instanceof tfl.Sequential)) return model.apply(x, { training: false }) as tf.Tensor;
    let h = x;
    const layers = model.layers;
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i]!;
      const cls = layer.getClassName();
      if (cls === 'InputLayer' || cls === 'Dropout') continue;
      const folded = cls === 'Conv2D' ? foldedConvBatchNorm(layer, layers[i + 1]) : undefined;
      if (folded) {
        const c = layer.getConfig() as { strides: number[]; padding: 'same' | 'valid'; dilationRate: number | number[] };
        h = tf.fused.conv2d({ x: h as tf.Tensor4D, filter: folded.filter, bias: folded.bias, strides: c.strides as [number, number], pad: c.padding, dilations: c.dilationRate as [number, number] });
        i++; // the batch norm is in the filter and bias
      } else if (cls === 'ReLU' && isPool2(layers[i + 1]) && h.rank === 4) {
        h = reluMaxPool2(h as tf.Tensor4D);
        i++;
      } else {
        h = layer.apply(h, { training: false }) as tf.Tensor;
      }
    }
    return h;
  });
}

/**
 * A convolution followed by inference batch norm is one convolution with the norm folded in:
 * filter·γ/√(var+ε) per output channel, bias (b − mean)·γ/√(var+ε) + β. Kept for the last 64
 * conv layers used and remade when any weight it came from is a new tensor (training writes new
 * tensors), so predict pays for it once: at batch 1 the five batch-norm ops of the default network cost about
 * 10 % of a prediction. Undefined when the pair does not fold (other activation, layout or axis).
 */
function foldedConvBatchNorm(conv: tfl.layers.Layer, next: tfl.layers.Layer | undefined): { filter: tf.Tensor4D; bias: tf.Tensor1D } | undefined {
  if (next?.getClassName() !== 'BatchNormalization') return undefined;
  const c = conv.getConfig() as { dataFormat: string; activation: string; useBias: boolean };
  const n = next.getConfig() as { axis: number | number[]; epsilon: number };
  if (c.dataFormat !== 'channelsLast' || c.activation !== 'linear' || ![-1, 3].includes(Array.isArray(n.axis) ? n.axis[0]! : n.axis)) return undefined;
  const sources = [weightOf(conv, '/kernel'), weightOf(conv, '/bias'), weightOf(next, '/gamma'), weightOf(next, '/beta'), weightOf(next, '/moving_mean'), weightOf(next, '/moving_variance')].map((v) => v?.read());
  const [kernel, convBias, gamma, beta, mean, variance] = sources;
  if (!kernel || !mean || !variance) return undefined;
  const known = foldCache.get(conv);
  if (known && known.sources.every((d, i) => d === sources[i]?.dataId)) return known;
  if (known) tf.dispose([known.filter, known.bias]);
  const entry = tf.tidy(() => {
    let scale = tf.rsqrt(tf.add(variance, n.epsilon));
    if (gamma) scale = tf.mul(scale, gamma);
    let bias = tf.mul(convBias ? tf.sub(convBias, mean) : tf.neg(mean), scale);
    if (beta) bias = tf.add(bias, beta);
    return { filter: tf.keep(tf.mul(kernel, scale) as tf.Tensor4D), bias: tf.keep(bias as tf.Tensor1D) };
  });
  const folded = { ...entry, sources: sources.map((t) => t?.dataId) };
  foldCache.set(conv, folded);
  return folded;
}

/** Bounded: models are loaded and dropped (e.g. by the server), and the least recently used folds go. */
const FOLDED_LAYERS = 64;
const foldCache = new LruCache<tfl.layers.Layer, { filter: tf.Tensor4D; bias: tf.Tensor1D; sources: (object | undefined)[] }>(FOLDED_LAYERS, (old) => tf.dispose([old.filter, old.bias]));

/**
 * The first convolution, on the input images: tf.conv2d plus a bias add rather than the layer's
 * fused op, whose gradient computes the input's gradient too (a full transposed convolution, ~6 %
 * of a seed-network step) although nothing needs the gradient of the images.
 */
function inputConv(layer: tfl.layers.Layer, x: tf.Tensor): tf.Tensor {
  const c = layer.getConfig() as { strides: number[]; padding: 'same' | 'valid'; dilationRate: number | number[]; dataFormat: string; useBias: boolean; activation: string };
  if (c.dataFormat !== 'channelsLast' || c.activation !== 'linear') return layer.apply(x, { training: true }) as tf.Tensor;
  const kernel = weightOf(layer, '/kernel')!.read();
  const strides = c.strides as [number, number], dilations = c.dilationRate as [number, number];
  const bias = c.useBias ? weightOf(layer, '/bias') : undefined;
  const plain = () => tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, strides, c.padding, 'NHWC', dilations);
  if (!bias) return plain();
  if ([dilations].flat().some((d) => d !== 1)) return tf.add(plain(), bias.read());
  // The bias inside the convolution (a separate add was a full pass over the seed network's
  // 64×96×96×32 output, ~10 ms a step); gradients for the kernel and the bias only.
  const conv = tf.customGrad(((k: tf.Tensor, b: tf.Tensor) => ({
    value: tf.fused.conv2d({ x: x as tf.Tensor4D, filter: k as tf.Tensor4D, bias: b, strides, pad: c.padding }),
    gradFunc: (dy: tf.Tensor) => [
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides, pad: c.padding, dataFormat: 'NHWC', filterShape: k.shape }) as tf.Tensor,
      tf.sum(dy, [0, 1, 2]),
    ],
  })) as unknown as Parameters<typeof tf.customGrad<tf.Tensor>>[0]);
  return conv(kernel, bias.read());
}

/** A layer's weight whose name ends with `suffix` (e.g. '/kernel', '/moving_mean'), if it has one. */
function weightOf(layer: tfl.layers.Layer, suffix: string): tfl.LayerVariable | undefined {
  return layer.weights.find((w) => w.originalName.endsWith(suffix));
}

/** A 2×2, stride-2, 'valid' max-pool layer: ReLU before it fuses with it (backend/ops/relu-pool.ts). */
function isPool2(layer: tfl.layers.Layer | undefined): boolean {
  if (layer?.getClassName() !== 'MaxPooling2D') return false;
  const c = layer.getConfig() as { poolSize: number[]; strides: number[]; padding: string; dataFormat: string };
  return c.poolSize.every((v) => v === 2) && c.strides.every((v) => v === 2) && c.padding === 'valid' && c.dataFormat === 'channelsLast';
}

/**
 * Batch norm in training mode. With `pool` (a ReLU and a 2×2 pool follow) on wasm with SIMD: the
 * three as one op (backend/ops/batch-norm-pool.ts), `pooled` set. Otherwise on wasm and cpu: the
 * backend's fused kernel pair (one forward and one backward pass over the activations); elsewhere
 * the same maths as a per-channel scale and shift, whose gradient still avoids tfjs-core's
 * batchNorm gradient (its Tile ops made it about half of a training step on wasm).
 */
function batchNormTrain(layer: tfl.layers.Layer, x: tf.Tensor, pool: boolean): { y: tf.Tensor; pooled: boolean } {
  const cfg = layer.getConfig() as { momentum: number; epsilon: number };
  const w = (suffix: string) => {
    const v = weightOf(layer, suffix);
    if (!v) throw new Error(`${layer.name}: no ${suffix} weight`);
    return v;
  };
  const gamma = w('/gamma'), beta = w('/beta'), movingMean = w('/moving_mean'), movingVar = w('/moving_variance');
  let y: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor;
  const withPool = pool ? batchNormReluPool2Train(x as tf.Tensor4D, gamma.read(), beta.read(), cfg.epsilon) : undefined;
  if (withPool) {
    ({ y, mean, variance } = withPool);
  } else if (hasBatchNormKernels()) {
    ({ y, mean, variance } = fusedBatchNorm(x, gamma.read(), beta.read(), cfg.epsilon));
  } else {
    ({ mean, variance } = tf.moments(x, x.shape.slice(0, -1).map((_, i) => i)));
    const scale = tf.mul(gamma.read(), tf.rsqrt(tf.add(variance, cfg.epsilon)));
    y = tf.add(tf.mul(x, scale), tf.sub(beta.read(), tf.mul(mean, scale)));
  }
  // Moving averages: not on the path to the loss, so the gradient ignores them (as in the layer).
  const m = cfg.momentum;
  movingMean.write(tf.tidy(() => tf.add(tf.mul(movingMean.read(), m), tf.mul(mean, 1 - m))));
  movingVar.write(tf.tidy(() => tf.add(tf.mul(movingVar.read(), m), tf.mul(variance, 1 - m))));
  return { y, pooled: !!withPool };
}


/**
 * Trainable dense kernels (hidden and output) and conv kernels (plain, depthwise and pointwise), for
 * the L2 terms of the loss. Biases and fixed layers (trainable = false) are not regularised.
 */
export function regularisedWeights(model: tfl.LayersModel): { dense: tf.Variable[]; conv: tf.Variable[] } {
  const dense: tf.Variable[] = [], conv: tf.Variable[] = [];
  const CONV = new Set(['Conv2D', 'SeparableConv2D', 'DepthwiseConv2D']);
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls !== 'Dense' && !CONV.has(cls)) continue;
    const kernels = layer.trainableWeights.filter((w) => /kernel$/.test(w.originalName) || w.name.includes('kernel'));
    for (const k of kernels) (cls === 'Dense' ? dense : conv).push(k.read() as tf.Variable);
  }
  return { dense, conv };
}

/** One chunk's forward pass in pixel coordinates: a tensor the caller reads and disposes. */
function predictChunk(model: tfl.LayersModel, x: Float32Array, from: number, m: number, imageSize: number): tf.Tensor {
  const S2 = imageSize * imageSize;
  return tf.tidy(() => {
    const input = tf.tensor4d(x.subarray(from * S2, (from + m) * S2), [m, imageSize, imageSize, 1]);
    return tf.add(tf.mul(forwardInfer(model, input), imageSize / 2), imageSize / 2);
  });
}

/** Forward pass in chunks, returning pixel coordinates (n × K × 2). */
export function predictBatch(model: tfl.LayersModel, x: Float32Array, n: number, imageSize: number, chunk = 128): Float32Array {
  const out = new Float32Array(n * ((model.outputs[0]!.shape[1] as number) ?? 0));
  for (let s = 0; s < n; s += chunk) {
    const y = predictChunk(model, x, s, Math.min(chunk, n - s), imageSize);
    out.set(y.dataSync() as Float32Array, s * (out.length / n));
    y.dispose();
  }
  return out;
}

/** predictBatch with asynchronous reads: what webgpu needs (it has no synchronous read in Node). */
export async function predictBatchAsync(model: tfl.LayersModel, x: Float32Array, n: number, imageSize: number, chunk = 128): Promise<Float32Array> {
  const out = new Float32Array(n * ((model.outputs[0]!.shape[1] as number) ?? 0));
  for (let s = 0; s < n; s += chunk) {
    const y = predictChunk(model, x, s, Math.min(chunk, n - s), imageSize);
    out.set((await y.data()) as Float32Array, s * (out.length / n));
    y.dispose();
  }
  return out;
}

/** predictBatch as the backend in use can read: asynchronously on webgpu, synchronously elsewhere. */
export function predictOnBackend(model: tfl.LayersModel, x: Float32Array, n: number, imageSize: number): Float32Array | Promise<Float32Array> {
  return tf.getBackend() === 'webgpu' ? predictBatchAsync(model, x, n, imageSize) : predictBatch(model, x, n, imageSize);
}
