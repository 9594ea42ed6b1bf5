import * as tf from '@tensorflow/tfjs-core';
import type { FaceBox } from './nms.js';
import { nonMaxSuppression } from './nms.js';
import { loadWeightMap, weight } from './weights.js';

/**
 * face-api's TinyFaceDetector (a Tiny-YOLOv2 with depthwise-separable convolutions, 190 KB of
 * weights), re-implemented in tfjs-core ops after its source (src/tinyYolov2/TinyYolov2Base.ts,
 * src/tinyFaceDetector/): same layers, anchors, input normalisation, box decoding and NMS.
 */
const ANCHORS: ReadonlyArray<readonly [number, number]> = [
  [1.603231, 2.094468],
  [6.041143, 7.080126],
  [2.882459, 3.518061],
  [4.266906, 5.178857],
  [9.041765, 10.66308],
];
const MEAN_RGB = [117.001, 114.697, 97.404] as const;
const IOU_THRESHOLD = 0.4;
const SOURCE = 'tiny_face_detector_model';

interface SepConv {
  depthwise: tf.Tensor4D;
  pointwise: tf.Tensor4D;
  bias: tf.Tensor1D;
}
interface Conv {
  filters: tf.Tensor4D;
  bias: tf.Tensor1D;
}
export interface TinyParams {
  conv0: Conv;
  sep: SepConv[]; // conv1..conv5
  conv8: Conv;
}

export async function loadTinyFaceDetector(dir?: string): Promise<TinyParams> {
  const m = await loadWeightMap('tiny', dir);
  const conv = (p: string): Conv => ({ filters: weight(m, `${p}/filters`, 4, SOURCE), bias: weight(m, `${p}/bias`, 1, SOURCE) });
  const sep = (p: string): SepConv => ({
    depthwise: weight(m, `${p}/depthwise_filter`, 4, SOURCE),
    pointwise: weight(m, `${p}/pointwise_filter`, 4, SOURCE),
    bias: weight(m, `${p}/bias`, 1, SOURCE),
  });
  return { conv0: conv('conv0'), sep: ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'].map(sep), conv8: conv('conv8') };
}

const leaky = (x: tf.Tensor4D): tf.Tensor4D => {
  const min = tf.mul(x, 0.10000000149011612);
  return tf.add(tf.relu(tf.sub(x, min)), min);
};

function forward(p: TinyParams, x: tf.Tensor4D): tf.Tensor4D {
  let out = leaky(tf.add(tf.conv2d(x, p.conv0.filters, 1, 'valid'), p.conv0.bias));
  for (const s of p.sep) {
    out = tf.maxPool(out, 2, 2, 'same');
    const padded = tf.pad(out, [[0, 0], [1, 1], [1, 1], [0, 0]]);
    out = leaky(tf.add(tf.separableConv2d(padded, s.depthwise, s.pointwise, 1, 'valid'), s.bias));
  }
  out = tf.maxPool(out, 2, 1, 'same'); // five stride-2 pools, then one of stride 1 (face-api's layout)
  return tf.add(tf.conv2d(out, p.conv8.filters, 1, 'valid'), p.conv8.bias);
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/**
 * Faces in an RGB image tensor [h, w, 3] of 0–255 values. The image is padded to a square at its
 * bottom/right (so box coordinates scale back by one factor) and resized to `inputSize` (a
 * multiple of 32; face-api's default 416).
 */
export async function detectTiny(p: TinyParams, rgb: tf.Tensor3D, opts: { inputSize?: number; minScore?: number } = {}): Promise<FaceBox[]> {
  const inputSize = opts.inputSize ?? 416, minScore = opts.minScore ?? 0.5;
  const [h, w] = rgb.shape;
  const side = Math.max(w, h);
  const out = tf.tidy(() => {
    const square = tf.pad(tf.cast(rgb, 'float32'), [[0, side - h], [0, side - w], [0, 0]]);
    const resized = tf.image.resizeBilinear(tf.expandDims(square, 0) as tf.Tensor4D, [inputSize, inputSize]);
    const x = tf.div(tf.sub(resized, tf.tensor1d(MEAN_RGB as unknown as number[])), 255) as tf.Tensor4D;
    return forward(p, x);
  });
  const cells = out.shape[1], nA = ANCHORS.length;
  const data = await out.data();
  out.dispose();
  const boxes: FaceBox[] = [];
  for (let row = 0; row < cells; row++) {
    for (let col = 0; col < cells; col++) {
      for (let a = 0; a < nA; a++) {
        const o = ((row * cells + col) * nA + a) * 5;
        const score = sigmoid(data[o + 4]!);
        if (score <= minScore) continue;
        const cx = ((col + sigmoid(data[o]!)) / cells) * side;
        const cy = ((row + sigmoid(data[o + 1]!)) / cells) * side;
        const bw = ((Math.exp(data[o + 2]!) * ANCHORS[a]![0]) / cells) * side;
        const bh = ((Math.exp(data[o + 3]!) * ANCHORS[a]![1]) / cells) * side;
        boxes.push({ x: cx - bw / 2, y: cy - bh / 2, width: bw, height: bh, score });
      }
    }
  }
  return nonMaxSuppression(boxes, IOU_THRESHOLD);
}
