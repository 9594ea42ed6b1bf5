import * as tf from '@tensorflow/tfjs-core';
import type { FaceBox } from './nms.js';
import { nonMaxSuppression } from './nms.js';
import { loadWeightMap, weight } from './weights.js';

/**
 * face-api's SSD MobileNetV1 face detector (5.4 MB of uint8-quantised weights), re-implemented in
 * tfjs-core ops after its source (src/ssdMobilenetv1/): MobileNetV1 at 512×512, six box
 * predictors, the anchor decoding of its output layer and NMS at IoU 0.5.
 */
const SOURCE = 'ssd_mobilenetv1_model';
const BN_EPSILON = 0.0010000000474974513;
const IOU_THRESHOLD = 0.5;
const INPUT_SIZE = 512;

interface Pointwise {
  filters: tf.Tensor4D;
  offset: tf.Tensor1D;
}
interface Depthwise {
  filters: tf.Tensor4D;
  scale: tf.Tensor1D;
  offset: tf.Tensor1D;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}
interface Conv {
  filters: tf.Tensor4D;
  bias: tf.Tensor1D;
}
export interface SsdParams {
  conv0: Pointwise;
  pairs: Array<{ depthwise: Depthwise; pointwise: Pointwise }>; // MobilenetV1 conv 1..13
  prediction: Pointwise[]; // Prediction conv 0..7
  boxPredictors: Array<{ box: Conv; cls: Conv }>; // 0..5
  anchors: tf.Tensor2D; // Output/extra_dim as [n, 4]: ymin, xmin, ymax, xmax
}

export async function loadSsdFaceDetector(dir?: string): Promise<SsdParams> {
  const m = await loadWeightMap('ssd', dir);
  const w4 = (k: string) => weight<tf.Rank.R4>(m, k, 4, SOURCE);
  const w1 = (k: string) => weight<tf.Rank.R1>(m, k, 1, SOURCE);
  const pointwise = (prefix: string, i: number): Pointwise => ({
    filters: w4(`${prefix}/Conv2d_${i}_pointwise/weights`),
    offset: w1(`${prefix}/Conv2d_${i}_pointwise/convolution_bn_offset`),
  });
  const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
  const pairs = range(1, 13).map((i) => {
    const d = `MobilenetV1/Conv2d_${i}_depthwise`;
    return {
      depthwise: { filters: w4(`${d}/depthwise_weights`), scale: w1(`${d}/BatchNorm/gamma`), offset: w1(`${d}/BatchNorm/beta`), mean: w1(`${d}/BatchNorm/moving_mean`), variance: w1(`${d}/BatchNorm/moving_variance`) },
      pointwise: pointwise('MobilenetV1', i),
    };
  });
  const conv = (p: string): Conv => ({ filters: w4(`${p}/weights`), bias: w1(`${p}/biases`) });
  const extra = weight<tf.Rank.R3>(m, 'Output/extra_dim', 3, SOURCE);
  const anchors = tf.reshape(extra, [-1, 4]) as tf.Tensor2D;
  extra.dispose();
  return {
    conv0: pointwise('MobilenetV1', 0),
    pairs,
    prediction: range(0, 7).map((i) => pointwise('Prediction', i)),
    boxPredictors: range(0, 5).map((i) => ({ box: conv(`Prediction/BoxPredictor_${i}/BoxEncodingPredictor`), cls: conv(`Prediction/BoxPredictor_${i}/ClassPredictor`) })),
    anchors,
  };
}

const pointwiseLayer = (x: tf.Tensor4D, p: Pointwise, stride: number): tf.Tensor4D => tf.clipByValue(tf.add(tf.conv2d(x, p.filters, stride, 'same'), p.offset), 0, 6) as tf.Tensor4D;

function forward(p: SsdParams, x: tf.Tensor4D): { boxes: tf.Tensor2D; scores: tf.Tensor1D } {
  let out = pointwiseLayer(x, p.conv0, 2);
  let conv11 = out;
  p.pairs.forEach((pair, i) => {
    const layer = i + 1;
    const stride = [2, 4, 6, 12].includes(layer) ? 2 : 1;
    const d = pair.depthwise;
    out = tf.clipByValue(tf.batchNorm(tf.depthwiseConv2d(out, d.filters, stride, 'same'), d.mean, d.variance, d.offset, d.scale, BN_EPSILON), 0, 6) as tf.Tensor4D;
    out = pointwiseLayer(out, pair.pointwise, 1);
    if (layer === 11) conv11 = out;
  });
  const c: tf.Tensor4D[] = [];
  let prev = out;
  p.prediction.forEach((pw, i) => {
    prev = pointwiseLayer(prev, pw, i % 2 === 1 ? 2 : 1);
    c.push(prev);
  });
  // Feature maps the six predictors read: conv 11, the MobileNet output, then prediction convs 1, 3, 5, 7.
  const maps = [conv11, out, c[1]!, c[3]!, c[5]!, c[7]!];
  const enc: tf.Tensor[] = [], cls: tf.Tensor[] = [];
  maps.forEach((m, i) => {
    const bp = p.boxPredictors[i]!;
    enc.push(tf.reshape(tf.add(tf.conv2d(m, bp.box.filters, 1, 'same'), bp.box.bias), [-1, 4]));
    cls.push(tf.reshape(tf.add(tf.conv2d(m, bp.cls.filters, 1, 'same'), bp.cls.bias), [-1, 3]));
  });
  const e = tf.concat(enc, 0) as tf.Tensor2D;
  const [ey, ex, eh, ew] = tf.unstack(e, 1) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
  const [a0, a1, a2, a3] = tf.unstack(p.anchors, 1) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
  // Anchors are (ymin, xmin, ymax, xmax); encodings (ty, tx, th, tw) with scales 10, 10, 5, 5.
  const ah = tf.sub(a2, a0), aw = tf.sub(a3, a1);
  const acy = tf.add(a0, tf.div(ah, 2)), acx = tf.add(a1, tf.div(aw, 2));
  const cy = tf.add(tf.mul(tf.div(ey, 10), ah), acy), cx = tf.add(tf.mul(tf.div(ex, 10), aw), acx);
  const hh = tf.div(tf.mul(tf.exp(tf.div(eh, 5)), ah), 2), hw = tf.div(tf.mul(tf.exp(tf.div(ew, 5)), aw), 2);
  const boxes = tf.stack([tf.sub(cy, hh), tf.sub(cx, hw), tf.add(cy, hh), tf.add(cx, hw)], 1) as tf.Tensor2D;
  const scores = tf.reshape(tf.sigmoid(tf.slice(tf.concat(cls, 0), [0, 1], [-1, 1])), [-1]) as tf.Tensor1D;
  return { boxes, scores };
}

/**
 * Faces in an RGB image tensor [h, w, 3] of 0–255 values. The image is padded to a square at its
 * bottom/right and resized to 512×512, as face-api does.
 */
export async function detectSsd(p: SsdParams, rgb: tf.Tensor3D, opts: { minScore?: number; maxResults?: number } = {}): Promise<FaceBox[]> {
  const minScore = opts.minScore ?? 0.5;
  const [h, w] = rgb.shape;
  const side = Math.max(w, h);
  const { boxes, scores } = tf.tidy(() => {
    const square = tf.pad(tf.cast(rgb, 'float32'), [[0, side - h], [0, side - w], [0, 0]]);
    const resized = tf.image.resizeBilinear(tf.expandDims(square, 0) as tf.Tensor4D, [INPUT_SIZE, INPUT_SIZE]);
    return forward(p, tf.sub(tf.div(resized, 127.5), 1) as tf.Tensor4D);
  });
  const [b, s] = await Promise.all([boxes.data(), scores.data()]);
  boxes.dispose();
  scores.dispose();
  const found: FaceBox[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i]! <= minScore) continue;
    // Relative to the padded square, clipped to it (face-api clips to [0, 1]), then to the image.
    const y0 = Math.max(0, b[4 * i]!) * side, x0 = Math.max(0, b[4 * i + 1]!) * side;
    const y1 = Math.min(1, b[4 * i + 2]!) * side, x1 = Math.min(1, b[4 * i + 3]!) * side;
    const bx1 = Math.min(w, x1), by1 = Math.min(h, y1);
    if (bx1 <= x0 || by1 <= y0) continue;
    found.push({ x: x0, y: y0, width: bx1 - x0, height: by1 - y0, score: s[i]! });
  }
  return nonMaxSuppression(found, IOU_THRESHOLD, opts.maxResults ?? 100);
}
