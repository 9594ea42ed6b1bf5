import { open } from 'node:fs/promises';
import { readRegularFile } from '../util/paths.js';
import { decodeImage, resizeGray, sniffImage, toGray } from '../data/image.js';
import type { RgbaImage } from '../data/image.js';
import { readKaggleTest } from '../data/read.js';
import type { FaceSet } from '../data/types.js';
import { InputError } from '../errors.js';
import { keypointModelOf } from './model.js';
import type { KeypointModel, ModelSource } from './model.js';
import { cropFromBox, cropFromLandmarks, cropFromPoints } from '../detect/framing.js';
import type { SquareRegion } from '../detect/framing.js';
import { DEFAULT_DETECTOR, detectFaces } from '../detect/detector.js';
import type { DetectOptions } from '../detect/detector.js';
import type { FaceBox } from '../detect/nms.js';
import { preprocessImage, preprocessRegion, toImage } from './preprocess.js';
import { withTta, type Tta } from './tta.js';
import type { InputTransform } from './preprocess.js';

export * from './model.js';
export * from './preprocess.js';
export * from './tta.js';

export interface PredictedPoint {
  name: string;
  x: number;
  y: number;
}

export interface FacePrediction {
  /** The square region of the image the network saw, in image pixels. */
  box: { x: number; y: number; size: number };
  /** The face detector's box (image pixels) when the face was found by detection. */
  detection?: { x: number; y: number; width: number; height: number };
  /** The face detector's confidence in [0, 1] (absent when the whole image was taken as the face). */
  score?: number;
  /** True when the face was found only by a second look below the min score (and passed the framing check). */
  secondLook?: boolean;
  keypoints: PredictedPoint[];
}

export interface ImagePrediction {
  file: string;
  width: number;
  height: number;
  /** Every face found, best detector score first; empty when detection found none. */
  faces: FacePrediction[];
  /** True when a face detector looked for the faces; false when the whole image was taken as one face. */
  detected: boolean;
}

/**
 * When photos go through the face detector:
 * - `auto` (default): detect, unless the image is exactly the model's input size (e.g. a 96×96
 *   Kaggle-style crop, already framed like the training data): then the whole image is the face.
 * - `on`: always detect (also on model-sized images).
 * - `off`: never: the whole image, letterboxed to a square, is one face (the behaviour before detection).
 */
export type DetectMode = 'auto' | 'on' | 'off';
export const DETECT_MODES: readonly DetectMode[] = ['auto', 'on', 'off'];

export interface PredictOptions extends DetectOptions {
  detect?: DetectMode;
  /**
   * Further passes per detected face (default true = REFINE_PASSES; a number sets how many): re-crop
   * from the last prediction so the face sits where the training crops have it, then predict
   * again: from the eye centres and bottom lip for Kaggle's names, else from the box of all the
   * points (iBUG 68 and other sets, framed like train-68.csv.gz).
   */
  refine?: boolean | number;
  /** Test-time augmentation of every crop (default flip averaging; see predict/tta.ts). */
  tta?: Tta;
}

/** Re-crops per detected face (see PredictOptions.refine); measured in packages/core/README.md. */
export const REFINE_PASSES = 3;

export function usesDetection(mode: DetectMode, width: number, height: number, modelSize: number): boolean {
  return mode === 'on' || (mode === 'auto' && !(width === modelSize && height === modelSize));
}

interface Job {
  image: number;
  input: Float32Array;
  transform: InputTransform;
  face?: FaceBox;
  /** Refine passes may re-crop it (detected faces and given regions; not a whole image). */
  refinable: boolean;
}

/** Runs the model over jobs in batches; keypoints in each job's image pixels. */
async function runJobs(model: KeypointModel, jobs: Job[]): Promise<PredictedPoint[][]> {
  const S = model.imageSize, K = model.keypoints.length, BATCH = 32;
  const out: PredictedPoint[][] = [];
  for (let start = 0; start < jobs.length; start += BATCH) {
    const chunk = jobs.slice(start, start + BATCH);
    const x = new Float32Array(chunk.length * S * S);
    chunk.forEach((j, i) => x.set(j.input, i * S * S));
    const y = await model.predict(x, chunk.length);
    chunk.forEach((j, i) => {
      out.push(model.keypoints.map((name, k) => {
        const [px, py] = toImage(j.transform, y[(i * K + k) * 2]!, y[(i * K + k) * 2 + 1]!);
        return { name, x: px, y: py };
      }));
    });
  }
  return out;
}

/**
 * Where the training data would have cut this face, from a prediction: from the eye midpoint and
 * bottom lip when the model has Kaggle's names for them (Kaggle-style crops), else from the box of
 * all its points (how other keypoint sets, e.g. iBUG's 68, are cut; see framing.ts).
 */
export function trainingCrop(points: PredictedPoint[]): SquareRegion | undefined {
  const get = (n: string) => points.find((p) => p.name === n);
  const l = get('left_eye_center'), r = get('right_eye_center'), m = get('mouth_center_bottom_lip');
  if (!l || !r || !m) return cropFromPoints(points);
  if (![l, r, m].every((p) => Number.isFinite(p.x) && Number.isFinite(p.y))) return undefined;
  return cropFromLandmarks([(l.x + r.x) / 2, (l.y + r.y) / 2], [m.x, m.y]);
}

/**
 * The framing check of a second-look box (a detection below the min score): the crop the model's
 * first points imply has about the box crop's size (within 1.5×) and centre (within a quarter of
 * its side). A box on no face usually gets points that frame something else.
 */
function framesFace(t: InputTransform, points: PredictedPoint[]): boolean {
  const region = trainingCrop(points);
  if (!region) return false;
  const side = t.size / t.scale, cx = -t.offsetX + side / 2, cy = -t.offsetY + side / 2;
  return region.size > side / 1.5 && region.size < side * 1.5 && Math.abs(region.x + region.size / 2 - cx) < side / 4 && Math.abs(region.y + region.size / 2 - cy) < side / 4;
}

/** An image to predict on; `regions`, when given, are its faces (no detector), e.g. crops from known points. */
export interface PredictInput {
  file: string;
  image: RgbaImage;
  regions?: SquareRegion[];
}

/**
 * Keypoints for decoded images, in each image's own pixel coordinates: every face the detector
 * finds (see DetectMode), the given regions, or the whole image as one face.
 */
export async function predictImages(source: ModelSource, images: PredictInput[], options: PredictOptions = {}): Promise<ImagePrediction[]> {
  const model = withTta(keypointModelOf(source), options.tta);
  const S = model.imageSize;
  const mode = options.detect ?? 'auto';
  const detector = options.detector ?? DEFAULT_DETECTOR;
  const results: ImagePrediction[] = [];
  const jobs: Job[] = [];
  const grays: Float32Array[] = [];
  for (const [i, { file, image, regions }] of images.entries()) {
    const detected = !regions && usesDetection(mode, image.width, image.height, S);
    results.push({ file, width: image.width, height: image.height, faces: [], detected });
    if (regions) {
      const gray = toGray(image);
      grays.push(gray);
      for (const region of regions) jobs.push({ image: i, refinable: true, ...preprocessRegion(gray, image.width, image.height, region, S) });
      continue;
    }
    if (!detected) {
      jobs.push({ image: i, refinable: false, ...preprocessImage(image, S) });
      grays.push(new Float32Array(0));
      continue;
    }
    const gray = toGray(image);
    grays.push(gray);
    for (const face of await detectFaces(image, options)) {
      jobs.push({ image: i, face, refinable: true, ...preprocessRegion(gray, image.width, image.height, cropFromBox(face, detector), S) });
    }
  }
  const points = await runJobs(model, jobs);
  for (let n = jobs.length - 1; n >= 0; n--) {
    if (jobs[n]!.face?.secondLook && !framesFace(jobs[n]!.transform, points[n]!)) [jobs.splice(n, 1), points.splice(n, 1)];
  }
  const passes = options.refine === false ? 0 : options.refine === true || options.refine === undefined ? REFINE_PASSES : Math.max(0, Math.floor(options.refine));
  for (let pass = 0; pass < passes; pass++) {
    const again: number[] = [];
    const refined: Job[] = [];
    jobs.forEach((j, n) => {
      const region = j.refinable && trainingCrop(points[n]!);
      if (!region) return;
      const first = j.transform.size / j.transform.scale;
      // A wild guess (a face the model could not read) keeps the crop it came from.
      if (!(region.size > first / 2 && region.size < first * 2)) return;
      const { width, height } = images[j.image]!.image;
      refined.push({ ...j, ...preprocessRegion(grays[j.image]!, width, height, region, S) });
      again.push(n);
    });
    if (!refined.length) break;
    const next = await runJobs(model, refined);
    again.forEach((n, k) => {
      jobs[n] = refined[k]!;
      points[n] = next[k]!;
    });
  }
  jobs.forEach((j, n) => {
    const t = j.transform;
    const face: FacePrediction = { box: { x: 0 - t.offsetX, y: 0 - t.offsetY, size: t.size / t.scale }, keypoints: points[n]! }; // 0 - : never -0
    if (j.face) {
      face.detection = { x: j.face.x, y: j.face.y, width: j.face.width, height: j.face.height };
      face.score = j.face.score;
      if (j.face.secondLook) face.secondLook = true;
    }
    results[j.image]!.faces.push(face);
  });
  return results;
}

/** A regular file within the file size limit (a device or FIFO named on the command line never ends). */
function readImageBytes(file: string): Promise<Uint8Array> {
  return readRegularFile(file, { file }, 'the image');
}

/** Reads PNG/JPEG files (decoded by content, any size, colour or grey) and predicts their keypoints. */
export async function predictImageFiles(source: ModelSource, files: string[], options?: PredictOptions): Promise<ImagePrediction[]> {
  const images = await Promise.all(files.map(async (file) => ({ file, image: decodeImage(await readImageBytes(file), file) })));
  return predictImages(source, images, options);
}

export async function predictImageFile(source: ModelSource, file: string, options?: PredictOptions): Promise<ImagePrediction> {
  return (await predictImageFiles(source, [file], options))[0]!;
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
export async function predictKaggleTest(source: ModelSource, file: string, tta?: Tta): Promise<{ set: FaceSet; predictions: TestSetPrediction[] }> {
  const model = withTta(keypointModelOf(source), tta);
  const { imageIds, set } = await readKaggleTest(file);
  const out = await predictFaceSet(model, set);
  const K = model.keypoints.length;
  const predictions = Array.from(imageIds, (imageId, r) => ({
    imageId,
    keypoints: model.keypoints.map((name, k) => ({ name, x: out[(r * K + k) * 2]!, y: out[(r * K + k) * 2 + 1]! })),
  }));
  return { set, predictions };
}
