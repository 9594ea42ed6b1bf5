import * as tf from '@tensorflow/tfjs-core';
import type { RgbaImage } from '../data/image.js';
import type { FaceBox } from './nms.js';
import { nonMaxSuppression } from './nms.js';
import { detectSsd, loadSsdFaceDetector } from './ssd.js';
import type { SsdParams } from './ssd.js';
import { detectTiny, loadTinyFaceDetector } from './tiny.js';
import type { TinyParams } from './tiny.js';
import type { DetectorName } from './weights.js';

export interface DetectOptions {
  /**
   * Which of face-api's detectors (default 'tiny': on faces96/photos it found 119 of 120 faces at
   * about a tenth of SSD's time; SSD MobileNetV1 found 114; see packages/core/README.md).
   */
  detector?: DetectorName;
  /** Faces scoring at or below this are dropped (default 0.5, face-api's default for both detectors). */
  minScore?: number;
  /**
   * Margin added around the photo before detecting, as a fraction of its longer side (default
   * DEFAULT_MARGIN). Both detectors miss faces that fill most of the frame (close-ups, the
   * photos of faces96 and tight crops); a margin of the photo's mean colour makes them smaller in
   * the detector's input.
   */
  margin?: number | number[];
  /** Folder holding the weight files (default: found automatically, see locateDetectorDir). */
  weightsDir?: string;
  /**
   * When no face scores above minScore, look again down to this score (default
   * DEFAULT_SECOND_LOOK; false: never). Such boxes are tagged `secondLook`, and predict keeps one
   * only when the model's first points frame a face of about the box's size inside it.
   */
  secondLook?: number | false;
}

export const DEFAULT_DETECTOR: DetectorName = 'tiny';
export const DEFAULT_MIN_SCORE = 0.5;
export const DEFAULT_MARGINS = [0, 1];
/**
 * On faces96's 120 photos tiny missed one face at 0.5 (Nancy_Kerrigan_42.jpg: best box 0.44;
 * SSD finds none there either); a second look down to 0.3 finds it. It runs only on photos where
 * nothing passed minScore, so the usual photo costs nothing more.
 */
export const DEFAULT_SECOND_LOOK = 0.3;
const MERGE_IOU = 0.3;

type Loaded = { name: 'ssd'; params: SsdParams } | { name: 'tiny'; params: TinyParams };
const cache = new Map<string, Promise<Loaded>>();

/** Loads (once per process and folder) the detector's weights; the next call reuses them. */
export function loadFaceDetector(name: DetectorName = DEFAULT_DETECTOR, weightsDir?: string): Promise<Loaded> {
  const key = `${name}\0${weightsDir ?? ''}`;
  let p = cache.get(key);
  if (!p) {
    p = name === 'ssd' ? loadSsdFaceDetector(weightsDir).then((params) => ({ name, params })) : loadTinyFaceDetector(weightsDir).then((params) => ({ name, params }));
    p.catch(() => cache.delete(key)); // a failed load (missing files) is retried next time
    cache.set(key, p);
  }
  return p;
}

/** RGB 0–255 as a [h, w, 3] tensor (alpha dropped: the detectors were trained on opaque photos). */
function rgbTensor(img: RgbaImage): tf.Tensor3D {
  const n = img.width * img.height, rgb = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[3 * i] = img.data[4 * i]!;
    rgb[3 * i + 1] = img.data[4 * i + 1]!;
    rgb[3 * i + 2] = img.data[4 * i + 2]!;
  }
  return tf.tensor3d(rgb, [img.height, img.width, 3]);
}

/** The photo centred in a square of side (1 + 2·margin)·max(w, h), padded with its mean colour; and where it went. */
function withMargin(x: tf.Tensor3D, margin: number): { padded: tf.Tensor3D; dx: number; dy: number } {
  const [h, w] = x.shape;
  if (margin <= 0) return { padded: tf.clone(x), dx: 0, dy: 0 };
  const side = Math.round(Math.max(w, h) * (1 + 2 * margin));
  const dx = Math.floor((side - w) / 2), dy = Math.floor((side - h) / 2);
  const padded = tf.tidy(() => {
    const mean = tf.mean(x, [0, 1]);
    return tf.add(tf.pad(tf.sub(x, mean), [[dy, side - h - dy], [dx, side - w - dx], [0, 0]]), mean) as tf.Tensor3D;
  });
  return { padded, dx, dy };
}

/**
 * The faces in a photo, best score first, as boxes in the photo's pixels (clipped to the photo);
 * when none scores above minScore, the best of a second look (see DetectOptions.secondLook).
 */
export async function detectFaces(img: RgbaImage, opts: DetectOptions = {}): Promise<FaceBox[]> {
  const det = await loadFaceDetector(opts.detector ?? DEFAULT_DETECTOR, opts.weightsDir);
  const minScore = opts.minScore ?? DEFAULT_MIN_SCORE;
  const found = await detectAt(img, det, minScore, opts);
  const low = opts.secondLook === undefined ? DEFAULT_SECOND_LOOK : opts.secondLook;
  if (found.length || low === false || !(low < minScore)) return found;
  // Only the best: a low threshold finds a face the first look missed, not a crowd of guesses.
  return (await detectAt(img, det, low, opts)).slice(0, 1).map((f) => ({ ...f, secondLook: true }));
}

async function detectAt(img: RgbaImage, det: Loaded, minScore: number, opts: DetectOptions): Promise<FaceBox[]> {
  const margins = [opts.margin ?? DEFAULT_MARGINS].flat();
  const x = rgbTensor(img);
  const out: FaceBox[] = [];
  try {
    for (const margin of margins) {
      const { padded, dx, dy } = withMargin(x, margin);
      try {
        const faces = det.name === 'ssd' ? await detectSsd(det.params, padded, { minScore }) : await detectTiny(det.params, padded, { minScore });
        for (const f of faces) {
          const x0 = Math.max(0, f.x - dx), y0 = Math.max(0, f.y - dy);
          const x1 = Math.min(img.width, f.x + f.width - dx), y1 = Math.min(img.height, f.y + f.height - dy);
          if (x1 > x0 && y1 > y0) out.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0, score: f.score });
        }
      } finally {
        padded.dispose();
      }
    }
  } finally {
    x.dispose();
  }
  // One face found at several margins is one face: keep its best-scoring box.
  return nonMaxSuppression(out, MERGE_IOU);
}
