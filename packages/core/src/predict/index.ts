import { readFile } from 'node:fs/promises';
import { decodeImage } from '../data/image.js';
import type { RgbaImage } from '../data/image.js';
import type { FaceSet } from '../data/types.js';
import { InputError } from '../errors.js';
import type { KeypointModel } from './model.js';
import { preprocessImage, toImage } from './preprocess.js';
import type { InputTransform } from './preprocess.js';

export * from './model.js';
export * from './preprocess.js';

export interface PredictedPoint {
  name: string;
  x: number;
  y: number;
}

export interface FacePrediction {
  /** The square region of the image the network saw, in image pixels. */
  box: { x: number; y: number; size: number };
  keypoints: PredictedPoint[];
}

export interface ImagePrediction {
  file: string;
  width: number;
  height: number;
  faces: FacePrediction[];
}

function toFace(model: KeypointModel, out: Float32Array, offset: number, t: InputTransform): FacePrediction {
  const keypoints = model.keypoints.map((name, k) => {
    const [x, y] = toImage(t, out[offset + 2 * k]!, out[offset + 2 * k + 1]!);
    return { name, x, y };
  });
  return { box: { x: -t.offsetX, y: -t.offsetY, size: t.size / t.scale }, keypoints };
}

/** Keypoints for decoded images, in each image's own pixel coordinates. */
export async function predictImages(model: KeypointModel, images: Array<{ file: string; image: RgbaImage }>): Promise<ImagePrediction[]> {
  const S = model.imageSize, K = model.keypoints.length;
  const results: ImagePrediction[] = [];
  const BATCH = 32;
  for (let start = 0; start < images.length; start += BATCH) {
    const chunk = images.slice(start, start + BATCH);
    const x = new Float32Array(chunk.length * S * S);
    const transforms = chunk.map(({ image }, i) => {
      const { input, transform } = preprocessImage(image, S);
      x.set(input, i * S * S);
      return transform;
    });
    const out = await model.predict(x, chunk.length);
    chunk.forEach(({ file, image }, i) => {
      results.push({ file, width: image.width, height: image.height, faces: [toFace(model, out, i * K * 2, transforms[i]!)] });
    });
  }
  return results;
}

/** Reads PNG/JPEG files (decoded by content, any size, colour or grey) and predicts their keypoints. */
export async function predictImageFiles(model: KeypointModel, files: string[]): Promise<ImagePrediction[]> {
  const images = await Promise.all(
    files.map(async (file) => {
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch (err) {
        throw new InputError({ file }, `cannot read the image (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
      return { file, image: decodeImage(bytes, file) };
    }),
  );
  return predictImages(model, images);
}

/** Predictions for every row of a face set whose images are already model-sized (e.g. Kaggle's test.csv). */
export async function predictFaceSet(model: KeypointModel, set: FaceSet, batch = 64): Promise<Float32Array> {
  if (set.width !== model.imageSize || set.height !== model.imageSize) {
    throw new InputError({ file: set.source }, `images are ${set.width}×${set.height} but the model takes ${model.imageSize}×${model.imageSize}`);
  }
  const S2 = set.width * set.height, K2 = model.keypoints.length * 2;
  const out = new Float32Array(set.count * K2);
  for (let start = 0; start < set.count; start += batch) {
    const n = Math.min(batch, set.count - start);
    const y = await model.predict(set.pixels.subarray(start * S2, (start + n) * S2), n);
    out.set(y.subarray(0, n * K2), start * K2);
  }
  return out;
}
