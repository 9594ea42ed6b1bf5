import { open, readFile } from 'node:fs/promises';
import { decodeImage, resizeGray, sniffImage } from '../data/image.js';
import type { RgbaImage } from '../data/image.js';
import { readKaggleTest } from '../data/read.js';
import type { FaceSet } from '../data/types.js';
import { InputError } from '../errors.js';
import { keypointModelOf } from './model.js';
import type { KeypointModel, ModelSource } from './model.js';
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
export async function predictImages(source: ModelSource, images: Array<{ file: string; image: RgbaImage }>): Promise<ImagePrediction[]> {
  const model = keypointModelOf(source);
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

async function readImageBytes(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new InputError({ file }, `cannot read the image (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** Reads PNG/JPEG files (decoded by content, any size, colour or grey) and predicts their keypoints. */
export async function predictImageFiles(source: ModelSource, files: string[]): Promise<ImagePrediction[]> {
  const images = await Promise.all(files.map(async (file) => ({ file, image: decodeImage(await readImageBytes(file), file) })));
  return predictImages(source, images);
}

export async function predictImageFile(source: ModelSource, file: string): Promise<ImagePrediction> {
  return (await predictImageFiles(source, [file]))[0]!;
}

/** True when the file starts with a PNG or JPEG signature (the content decides, not the name). */
export async function isImageFile(file: string): Promise<boolean> {
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) return false;
  try {
    const head = new Uint8Array(8);
    const { bytesRead } = await fh.read(head, 0, 8, 0).catch(() => ({ bytesRead: 0 })); // a folder reads as nothing
    return sniffImage(head.subarray(0, bytesRead)) !== undefined;
  } finally {
    await fh.close();
  }
}

/**
 * Predictions for every row of a face set (e.g. Kaggle's test.csv), row-major n × K × 2, in the
 * set's own pixels. Square images of another size are resized to the model's input and the
 * keypoints scaled back, so RMSE and submissions are always in the data's pixels.
 */
export async function predictFaceSet(source: ModelSource, set: FaceSet, batch = 64): Promise<Float32Array> {
  const model = keypointModelOf(source);
  const S = model.imageSize;
  if (set.width !== set.height) {
    throw new InputError({ file: set.source }, `images are ${set.width}×${set.height}; the model takes square ${S}×${S} images`);
  }
  const side = set.width, S2 = side * side, K2 = model.keypoints.length * 2;
  const back = side / S;
  const out = new Float32Array(set.count * K2);
  for (let start = 0; start < set.count; start += batch) {
    const n = Math.min(batch, set.count - start);
    let x = set.pixels.subarray(start * S2, (start + n) * S2);
    if (side !== S) {
      const resized = new Float32Array(n * S * S);
      for (let i = 0; i < n; i++) resized.set(resizeGray(x.subarray(i * S2, (i + 1) * S2), side, side, S, S), i * S * S);
      x = resized;
    }
    const y = await model.predict(x, n);
    for (let i = 0; i < n * K2; i++) out[start * K2 + i] = y[i]! * back;
  }
  return out;
}

export interface TestSetPrediction {
  imageId: number;
  keypoints: PredictedPoint[];
}

/** Kaggle's test.csv (ImageId,Image rows of 96×96): keypoints per ImageId, in the image's pixels. */
export async function predictKaggleTest(source: ModelSource, file: string): Promise<{ set: FaceSet; predictions: TestSetPrediction[] }> {
  const model = keypointModelOf(source);
  const { imageIds, set } = await readKaggleTest(file);
  const out = await predictFaceSet(model, set);
  const K = model.keypoints.length;
  const predictions = Array.from(imageIds, (imageId, r) => ({
    imageId,
    keypoints: model.keypoints.map((name, k) => ({ name, x: out[(r * K + k) * 2]!, y: out[(r * K + k) * 2 + 1]! })),
  }));
  return { set, predictions };
}
