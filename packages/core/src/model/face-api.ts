import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { KAGGLE_KEYPOINTS } from '../data/schema.js';
import { DETECTOR_DIR_ENV } from '../detect/weights.js';
import { UserError } from '../errors.js';
import type { KeypointModel } from '../predict/model.js';
import { predictOnBackend } from './forward.js';
import { bundleDir, installedPackageDir } from '../util/locate.js';
import { deriveSeed } from '../util/random.js';

/**
 * The pretrained start: @vladmandic/face-api's 68-point landmark network (FaceLandmark68Net, MIT
 * licence), rebuilt as a tfjs-layers model from the weights its npm package ships in `model/`.
 * Architecture as in face-api's src/faceFeatureExtractor (FaceFeatureExtractor.ts, denseBlock.ts)
 * and src/faceProcessor: four DenseBlock4 (32, 64, 128, 256 channels, each halving the map; the
 * first block's first conv a plain 3×3, the rest depthwise-separable 3×3; additive dense
 * connections with ReLU), average pooling over the final map, fc 256 → 136 giving the 68 points
 * (x, y interleaved) relative to the input, in [0, 1]. Input: 112×112 RGB, (pixel − meanRGB) / 255.
 */

export const FACE_API_INIT = 'face-api-68';
/** The network's own input size; our 96×96 faces are resized to it inside the model (measured better than running at 96). */
export const FACE_API_INPUT = 112;
const MEAN_RGB = [122.782, 117.001, 104.298];
const BLOCK_CHANNELS = [32, 64, 128, 256];
const FEATURES = 256;

/** The iBUG 300-W 68-point names as our 68-point data spells them: p00 … p67. */
export const IBUG68_NAMES: readonly string[] = Array.from({ length: 68 }, (_, i) => `p${String(i).padStart(2, '0')}`);

/**
 * Kaggle's keypoints as means of iBUG 68 points (0-based). Kaggle's names describe the subject
 * (left_eye_center is on the image's right); so does iBUG's numbering past the jaw: 36–41 is the
 * subject's right eye (image left), 42–47 the left. Checked on faces96: every mapped keypoint's
 * zero-shot error is about its neighbours', where a swap would cost ≈ 20 px.
 */
export const KAGGLE_FROM_IBUG68: Readonly<Record<(typeof KAGGLE_KEYPOINTS)[number], readonly number[]>> = {
  left_eye_center: [42, 43, 44, 45, 46, 47],
  right_eye_center: [36, 37, 38, 39, 40, 41],
  left_eye_inner_corner: [42],
  left_eye_outer_corner: [45],
  right_eye_inner_corner: [39],
  right_eye_outer_corner: [36],
  left_eyebrow_inner_end: [22],
  left_eyebrow_outer_end: [26],
  right_eyebrow_inner_end: [21],
  right_eyebrow_outer_end: [17],
  nose_tip: [30],
  mouth_left_corner: [54],
  mouth_right_corner: [48],
  mouth_center_top_lip: [51],
  mouth_center_bottom_lip: [57],
};

/** For each keypoint name, the iBUG 68 points it is the mean of, or undefined when the name does not map. */
export function ibug68Sources(names: readonly string[]): Array<readonly number[] | undefined> {
  return names.map((n) => {
    const i = IBUG68_NAMES.indexOf(n);
    if (i >= 0) return [i];
    return (KAGGLE_FROM_IBUG68 as Record<string, readonly number[]>)[n];
  });
}

/** The landmark network's files (manifest + the .bin shard it names), as face-api's npm package ships them. */
export const LANDMARK68_FILES = ['face_landmark_68_model-weights_manifest.json', 'face_landmark_68_model.bin'] as const;

/**
 * Folder of the landmark weights (read from disk, never fetched): the installed @vladmandic/face-api
 * package's model/, else the folder bundles without node_modules (the VS Code extension) copy the
 * face-api files to: $KEYPOINTS_FACE_DETECTOR_DIR or assets/ beside the bundle.
 */
export function faceApiModelDir(): string {
  const pkg = installedPackageDir('@vladmandic/face-api');
  const here = bundleDir();
  const candidates = [pkg && path.join(pkg, 'model'), process.env[DETECTOR_DIR_ENV], here && path.join(here, 'assets')];
  const found = candidates.find((d) => d && existsSync(path.join(d, LANDMARK68_FILES[0])));
  if (!found) throw new UserError('the pretrained start needs the npm package @vladmandic/face-api (npm install @vladmandic/face-api@1.7.15)');
  return found;
}

interface WeightsManifestGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

/**
 * face_landmark_68_model's weights, dequantised (uint8 → float32) by tfjs-core's own decodeWeights.
 * Synchronous: a 350 kB read, so buildModel stays synchronous. The caller disposes the tensors.
 */
export function loadFaceApiWeights(dir = faceApiModelDir()): { tensors: tf.NamedTensorMap; specs: tf.io.WeightsManifestEntry[] } {
  const manifestFile = path.join(dir, 'face_landmark_68_model-weights_manifest.json');
  let manifest: WeightsManifestGroup[];
  try {
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as WeightsManifestGroup[];
  } catch (err) {
    throw new UserError(`${manifestFile}: cannot read face-api's landmark weights manifest (${(err as Error).message})`);
  }
  const specs = manifest.flatMap((g) => g.weights);
  const bytes = Buffer.concat(manifest.flatMap((g) => g.paths).map((p) => readFileSync(path.join(dir, p))));
  const tensors = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), specs);
  return { tensors, specs };
}

export interface FaceApiModelOptions {
  /** Our square grayscale input size (96 for Kaggle's faces). */
  imageSize: number;
  /** The data's keypoint names: mapped names start from face-api's points, others from a fresh head. */
  keypoints: readonly string[];
  seed: number;
  /** Starting bias for keypoints that do not map (the training set's mean position in [-1, 1]). */
  outputBias?: ArrayLike<number>;
  /** Already loaded weights (tests); otherwise read from the package. */
  weights?: tf.NamedTensorMap;
}

/** Layer names of the backbone (everything but the head), for freezing and tests. */
export const FACE_API_HEAD = 'output';

/**
 * face-api's landmark network as a functional tfjs-layers model taking our input ([S, S, 1]
 * grayscale in [0, 1]) and giving (x, y) per keypoint in [-1, 1]: a fixed resize to 112 and a
 * fixed (non-trainable) 1×1 conv making face-api's normalised RGB from gray (r = g = b = gray, so
 * rgb − mean/255), then face-api's layers with its weights, then our head: for names that map to
 * iBUG points, fc 256 → 136 composed with the mapping and rescaled from [0, 1] to [-1, 1], so the
 * untrained model is exactly the zero-shot model; other names get small random weights and the
 * given mean-position bias. Everything is a stock layer, so model.json saves and loads it.
 */
export function buildFaceApiModel(opts: FaceApiModelOptions): tfl.LayersModel {
  const S = opts.imageSize, K = opts.keypoints.length;
  const own = !opts.weights;
  const w = opts.weights ?? loadFaceApiWeights().tensors;
  const get = (name: string): tf.Tensor => {
    const t = w[name];
    if (!t) throw new Error(`face-api weights: no ${name}`);
    return t;
  };
  try {
    const input = tfl.input({ shape: [S, S, 1], name: 'image' });
    let h = input;
    const R = FACE_API_INPUT;
    const fixed: Array<[tfl.layers.Layer, tf.Tensor[]]> = [];
    if (S !== R) {
      // Bilinear resize S → R as two fixed matrix products (rows, then columns): stock layers, so
      // model.json stays loadable anywhere (tfjs-layers' Resizing layer mis-shapes batched inputs).
      const a = resizeMatrix(S, R);
      const rows = tfl.layers.dense({ name: 'resize_x', units: R, useBias: false, trainable: false });
      const cols = tfl.layers.dense({ name: 'resize_y', units: R, useBias: false, trainable: false });
      h = tfl.layers.reshape({ name: 'resize_in', targetShape: [S, S] }).apply(h) as tfl.SymbolicTensor;
      h = rows.apply(h) as tfl.SymbolicTensor; // [S, R]: each row resized
      h = tfl.layers.permute({ name: 'resize_t1', dims: [2, 1] }).apply(h) as tfl.SymbolicTensor;
      h = cols.apply(h) as tfl.SymbolicTensor; // [R, R] transposed: each column resized
      h = tfl.layers.permute({ name: 'resize_t2', dims: [2, 1] }).apply(h) as tfl.SymbolicTensor;
      h = tfl.layers.reshape({ name: 'resize_out', targetShape: [R, R, 1] }).apply(h) as tfl.SymbolicTensor;
      fixed.push([rows, [a]], [cols, [a]]);
    }
    const rgb = tfl.layers.conv2d({ name: 'rgb', filters: 3, kernelSize: 1, trainable: false });
    h = rgb.apply(h) as tfl.SymbolicTensor;
    fixed.push([rgb, [tf.ones([1, 1, 1, 3]), tf.tensor1d(MEAN_RGB.map((m) => -m / 255))]]);
    const inits: Array<[tfl.layers.Layer, tf.Tensor[]]> = [...fixed];
    BLOCK_CHANNELS.forEach((filters, b) => {
      const convs: tfl.SymbolicTensor[] = [];
      let x = h;
      for (let c = 0; c < 4; c++) {
        const name = `dense${b}_conv${c}`, src = `dense${b}/conv${c}`;
        const strides = c === 0 ? 2 : 1;
        let layer: tfl.layers.Layer;
        if (b === 0 && c === 0) {
          layer = tfl.layers.conv2d({ name, filters, kernelSize: 3, strides, padding: 'same' });
          inits.push([layer, [get(`${src}/filters`), get(`${src}/bias`)]]);
        } else {
          layer = tfl.layers.separableConv2d({ name, filters, kernelSize: 3, strides, padding: 'same', depthMultiplier: 1 });
          inits.push([layer, [get(`${src}/depthwise_filter`), get(`${src}/pointwise_filter`), get(`${src}/bias`)]]);
        }
        const out = layer.apply(x) as tfl.SymbolicTensor;
        // out1 = relu(conv0); later convs read relu(out1 + … + out_c) and are summed before their ReLU.
        if (c === 0) convs.push(tfl.layers.reLU({ name: `dense${b}_relu0` }).apply(out) as tfl.SymbolicTensor);
        else convs.push(out);
        if (c > 0) x = tfl.layers.reLU({ name: `dense${b}_relu${c}` }).apply(tfl.layers.add({ name: `dense${b}_add${c}` }).apply([...convs]) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
        else x = convs[0]!;
      }
      h = x;
    });
    h = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(h) as tfl.SymbolicTensor;
    const head = tfl.layers.dense({
      name: FACE_API_HEAD,
      units: 2 * K,
      kernelInitializer: tfl.initializers.varianceScaling({ scale: 0.01, mode: 'fanIn', distribution: 'normal', seed: deriveSeed(opts.seed, 0x1417, 0) % 2147483647 }),
    });
    const out = head.apply(h) as tfl.SymbolicTensor;
    const model = tfl.model({ name: 'keypoints_face_api', inputs: input, outputs: out });
    for (const [layer, values] of inits) layer.setWeights(values);
    fixed.forEach(([, values]) => values.forEach((t) => t.dispose()));
    tf.tidy(() => {
      const [kernel] = head.getWeights() as [tf.Tensor2D];
      const composed = composeHead(get('fc/weights') as tf.Tensor2D, get('fc/bias') as tf.Tensor1D, opts.keypoints, kernel, opts.outputBias);
      head.setWeights([composed.kernel, composed.bias]);
    });
    return model;
  } finally {
    if (own) Object.values(w).forEach((t) => t.dispose());
  }
}

/**
 * Kernel (n × m) of a bilinear resize from n to m samples with half-pixel centres (as
 * tf.image.resizeBilinear(…, halfPixelCenters = true); measured on faces96: 2.28 px zero-shot
 * against 2.32 without half-pixel centres and 4.35 when run at 96 without resizing).
 */
export function resizeMatrix(n: number, m: number): tf.Tensor2D {
  const k = new Float32Array(n * m);
  for (let i = 0; i < m; i++) {
    const src = Math.min(n - 1, Math.max(0, ((i + 0.5) * n) / m - 0.5));
    const i0 = Math.floor(src), f = src - i0, i1 = Math.min(n - 1, i0 + 1);
    k[i0 * m + i] += 1 - f;
    k[i1 * m + i] += f;
  }
  return tf.tensor2d(k, [n, m]);
}

/**
 * The head's starting weights: for a keypoint that is the mean of iBUG points S, column 2k+c is
 * 2·mean_{i∈S} fc[:, 2i+c] and its bias 2·mean(fc bias) − 1 ([0, 1] relative → [-1, 1]); keypoints
 * that do not map keep `kernel`'s (small random) columns and get `outputBias` (or 0).
 */
export function composeHead(fcW: tf.Tensor2D, fcB: tf.Tensor1D, names: readonly string[], kernel: tf.Tensor2D, outputBias?: ArrayLike<number>): { kernel: tf.Tensor2D; bias: tf.Tensor1D } {
  const K = names.length;
  const sources = ibug68Sources(names);
  // M: 136 × 2K linear map from face-api's outputs to ours (before the affine rescale).
  const M = new Float32Array(136 * 2 * K);
  const mapped = new Float32Array(2 * K);
  sources.forEach((src, k) => {
    if (!src) return;
    for (const i of src) for (let c = 0; c < 2; c++) M[(2 * i + c) * 2 * K + 2 * k + c] = 2 / src.length;
    mapped[2 * k] = mapped[2 * k + 1] = 1;
  });
  const m = tf.tensor2d(M, [136, 2 * K]);
  const keep = tf.tensor1d(mapped);
  const fresh = tf.sub(1, keep);
  const newKernel = tf.add(tf.mul(tf.matMul(fcW, m), keep), tf.mul(kernel, fresh)) as tf.Tensor2D;
  const given = tf.tensor1d(Array.from({ length: 2 * K }, (_, j) => (outputBias && Number.isFinite(outputBias[j]!) ? outputBias[j]! : 0)));
  const newBias = tf.add(tf.mul(tf.sub(tf.squeeze(tf.matMul(tf.reshape(fcB, [1, 136]), m)), 1), keep), tf.mul(given, fresh)) as tf.Tensor1D;
  return { kernel: newKernel, bias: newBias };
}

/** Forward FLOPs (2 per multiply-add) and parameters per layer of the face-api network on an S×S input, for modelCost. */
export function faceApiCost(imageSize: number, outputs: number): Array<{ name: string; shape: number[]; flops: number; params: number }> {
  const out: Array<{ name: string; shape: number[]; flops: number; params: number }> = [];
  let size = FACE_API_INPUT, ch = 3;
  const S = imageSize;
  if (S !== size) out.push({ name: 'resize', shape: [size, size, 1], flops: 2 * (S * S * size + S * size * size), params: 2 * S * size });
  out.push({ name: 'rgb', shape: [size, size, 3], flops: 2 * size * size * 3, params: 6 });
  BLOCK_CHANNELS.forEach((filters, b) => {
    for (let c = 0; c < 4; c++) {
      if (c === 0) size = Math.ceil(size / 2);
      const px = size * size;
      const macs = b === 0 && c === 0 ? px * 9 * ch * filters : px * (9 * ch + ch * filters);
      const params = b === 0 && c === 0 ? 9 * ch * filters + filters : 9 * ch + ch * filters + filters;
      out.push({ name: `dense${b}_conv${c}`, shape: [size, size, filters], flops: 2 * macs, params });
      ch = filters;
    }
  });
  out.push({ name: FACE_API_HEAD, shape: [outputs], flops: 2 * FEATURES * outputs, params: FEATURES * outputs + outputs });
  return out;
}

/**
 * face-api's landmark network with no training, as predict and evaluate take a model: its own
 * points mapped to those of `names` that map (Kaggle's names, p00…p67). `keypoints` lists the
 * names it predicts, in the order given; `dispose` frees the network.
 */
export function faceApiZeroShot(names: readonly string[], imageSize = 96): KeypointModel & { dispose(): void } {
  const keypoints = names.filter((_, k) => ibug68Sources(names)[k]);
  if (!keypoints.length) throw new UserError(`face-api-68: none of the keypoints (${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''}) maps to face-api's 68 points; it knows Kaggle's 15 names and p00…p67`);
  const model = buildFaceApiModel({ imageSize, keypoints, seed: 0 });
  return { keypoints, imageSize, predict: (x, n) => predictOnBackend(model, x, n, imageSize), dispose: () => model.dispose() };
}
