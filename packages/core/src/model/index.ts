/** Network builders from config (presets, the pretrained face-api network) and their cost; forward passes live in forward.ts. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ConvLayer, ModelConfig } from '../config/schema.js';
import { UserError } from '../errors.js';
import { deriveSeed } from '../util/random.js';
import { KAGGLE_KEYPOINTS } from '../data/schema.js';
import { buildFaceApiModel, FACE_API_INIT, faceApiCost, IBUG68_NAMES } from './face-api.js';
import { DROPOUT_LAYER } from './forward.js';

export { DROPOUT_LAYER, forwardInfer, forwardTrain, predictBatch, regularisedWeights } from './forward.js';

export interface BuildModelOptions {
  /** Square input size in pixels (96 for Kaggle's faces); one grayscale channel. */
  imageSize: number;
  /** Output units: 2 × keypoints, (x, y) per keypoint in [-1, 1]. */
  outputs: number;
  /** Seeds every initialiser, so the same config and seed give the same weights. */
  seed: number;
  /**
   * Initial output biases (length `outputs`), e.g. the training set's mean keypoint positions in
   * [-1, 1]: the untrained network then predicts the mean face instead of spending its first
   * epoch getting there. Default 0 (the image centre).
   */
  outputBias?: ArrayLike<number>;
  /**
   * The data's keypoint names: a pretrained start (cfg.init) maps them to its own points. Default:
   * Kaggle's 15 for 30 outputs, p00…p67 for 136, else names that map to nothing.
   */
  keypoints?: readonly string[];
}


// tfjs initialiser seeds are used by seedrandom; keep them in a safe positive range.
const layerSeed = (seed: number, i: number): number => deriveSeed(seed, 0x1417, i) % 2147483647;

/**
 * Builds the keypoint network from its config. Pure: nothing happens at import time, and a call
 * only creates layers (same config + seed = same initial weights).
 *
 * Per ConvLayer: conv (He-normal init, no bias when batch norm follows), optional batch norm,
 * ReLU, optional max-pool. Then flatten or global average pooling, hidden dense layers with ReLU,
 * dropout after the last hidden layer, and a linear output of 2 × keypoints. L2 regularisation is
 * added by the trainer's loss, not here, so saved models carry no training-only terms.
 */
export function buildModel(cfg: ModelConfig, opts: BuildModelOptions): tfl.LayersModel {
  if (cfg.init === FACE_API_INIT) return buildFaceApiModel({ imageSize: opts.imageSize, keypoints: opts.keypoints ?? defaultKeypointNames(opts.outputs), seed: opts.seed, outputBias: opts.outputBias });
  modelCost(cfg, opts.imageSize, opts.outputs); // a clear UserError for shapes that cannot work, before TF.js's own
  let k = 0;
  const next = (): number => layerSeed(opts.seed, k++);
  const layers: tfl.layers.Layer[] = [];
  cfg.conv.forEach((c, i) => {
    const n = i + 1;
    layers.push(
      tfl.layers.conv2d({
        name: `conv${n}`,
        ...(i === 0 ? { inputShape: [opts.imageSize, opts.imageSize, 1] } : {}),
        filters: c.filters,
        kernelSize: c.kernel,
        strides: c.stride,
        padding: c.padding,
        useBias: !c.batchNorm,
        kernelInitializer: tfl.initializers.heNormal({ seed: next() }),
      }),
    );
    if (c.batchNorm) layers.push(tfl.layers.batchNormalization({ name: `bn${n}`, momentum: 0.9, epsilon: 1e-3 }));
    layers.push(tfl.layers.reLU({ name: `relu${n}` }));
    if (c.pool > 1) layers.push(tfl.layers.maxPooling2d({ name: `pool${n}`, poolSize: c.pool, strides: c.pool }));
  });
  layers.push(cfg.globalPool === 'avg' ? tfl.layers.globalAveragePooling2d({ name: 'gap' }) : tfl.layers.flatten({ name: 'flatten' }));
  cfg.dense.forEach((units, i) => {
    layers.push(tfl.layers.dense({ name: `dense${i + 1}`, units, activation: 'relu', kernelInitializer: tfl.initializers.heNormal({ seed: next() }) }));
  });
  if (cfg.dropout > 0 && cfg.dense.length > 0) layers.push(tfl.layers.dropout({ name: DROPOUT_LAYER, rate: cfg.dropout }));
  // Small output weights: the first predictions sit near the bias (the mean face) instead of
  // ±1 away from it, so early steps refine positions rather than undo a random start.
  const outputSeed = next();
  layers.push(
    tfl.layers.dense({
      name: 'output',
      units: opts.outputs,
      kernelInitializer: tfl.initializers.varianceScaling({ scale: 0.01, mode: 'fanIn', distribution: 'normal', seed: outputSeed }),
    }),
  );
  const model = tfl.sequential({ name: 'keypoints', layers });
  if (opts.outputBias) {
    if (opts.outputBias.length !== opts.outputs) throw new Error(`outputBias has ${opts.outputBias.length} values for ${opts.outputs} outputs`);
    const out = model.getLayer('output');
    const [kernel] = out.getWeights();
    const bias = tf.tensor1d(Array.from(opts.outputBias, (v) => (Number.isFinite(v) ? v : 0)));
    out.setWeights([kernel!, bias]);
    bias.dispose();
  }
  return model;
}

function defaultKeypointNames(outputs: number): string[] {
  if (outputs === 2 * KAGGLE_KEYPOINTS.length) return [...KAGGLE_KEYPOINTS];
  if (outputs === 2 * IBUG68_NAMES.length) return [...IBUG68_NAMES];
  return Array.from({ length: Math.ceil(outputs / 2) }, (_, i) => `keypoint${i}`);
}

export interface LayerCost {
  name: string;
  /** Output shape without the batch dimension. */
  shape: number[];
  /** Forward FLOPs per image, 2 per multiply-add. */
  flops: number;
  params: number;
}

function convOut(size: number, c: ConvLayer): number {
  const valid = c.padding === 'valid' ? size - c.kernel + 1 : size;
  if (valid < 1) return 0;
  return Math.ceil(valid / c.stride);
}

/**
 * Per-layer forward cost and parameter count computed from the config alone (no TF.js), so the
 * CLI, the docs and the bench can quote a network's cost before building it. Counts the
 * multiply-adds of convolutions and dense layers (2 FLOPs each); pooling, batch norm and ReLU
 * are a rounding error beside them. Parameters include batch-norm moving statistics.
 */
export function modelCost(cfg: ModelConfig, imageSize: number, outputs: number): LayerCost[] {
  if (cfg.init === FACE_API_INIT) return faceApiCost(imageSize, outputs);
  const out: LayerCost[] = [];
  let h = imageSize, w = imageSize, ch = 1;
  cfg.conv.forEach((c, i) => {
    const oh = convOut(h, c), ow = convOut(w, c);
    if (oh < 1 || ow < 1) throw new UserError(`model.conv[${i}]: a ${h}×${w} input is too small for a ${c.kernel}×${c.kernel} 'valid' convolution`);
    const macs = oh * ow * c.filters * c.kernel * c.kernel * ch;
    const params = c.kernel * c.kernel * ch * c.filters + (c.batchNorm ? 4 * c.filters : c.filters);
    h = c.pool > 1 ? Math.floor(oh / c.pool) : oh;
    w = c.pool > 1 ? Math.floor(ow / c.pool) : ow;
    if (h < 1 || w < 1) throw new UserError(`model.conv[${i}]: pooling by ${c.pool} leaves nothing of a ${oh}×${ow} feature map; use fewer blocks, pool 1 or a larger image`);
    ch = c.filters;
    out.push({ name: `conv${i + 1}`, shape: [h, w, ch], flops: 2 * macs, params });
  });
  let units = cfg.globalPool === 'avg' ? ch : h * w * ch;
  const dense = [...cfg.dense.map((u, i) => ({ name: `dense${i + 1}`, u })), { name: 'output', u: outputs }];
  for (const { name, u } of dense) {
    out.push({ name, shape: [u], flops: 2 * units * u, params: units * u + u });
    units = u;
  }
  return out;
}

/** Forward FLOPs per image (2 per multiply-add). The seed network: ≈288 MFLOP, 236 of them in conv2. */
export function modelFlops(cfg: ModelConfig, imageSize: number, outputs: number): number {
  return modelCost(cfg, imageSize, outputs).reduce((s, l) => s + l.flops, 0);
}

/** Parameter count (weights, biases and batch-norm statistics), equal to the built model's countParams(). */
export function modelParams(cfg: ModelConfig, imageSize: number, outputs: number): number {
  return modelCost(cfg, imageSize, outputs).reduce((s, l) => s + l.params, 0);
}

export { buildFaceApiModel, composeHead, FACE_API_INIT, FACE_API_INPUT, faceApiModelDir, faceApiZeroShot, ibug68Sources, IBUG68_NAMES, KAGGLE_FROM_IBUG68, LANDMARK68_FILES, loadFaceApiWeights } from './face-api.js';
