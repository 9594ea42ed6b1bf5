/** A folder of photos with a keypoints.csv, each face cut and framed like the training crops. */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { InputError, quoteInput, throwIfCancelled } from '../errors.js';
import { readRegularFile, resolveInside } from '../util/paths.js';
import { csvRecords } from './csv.js';
import { decodeImage, resizeGray, toGray, type RgbaImage } from './image.js';
import { cropFromLandmarks, cropFromPoints } from './framing.js';
import { Growing, parseCoord, parseHeader, type Header, type ReadOptions } from './columns.js';
import type { FaceSet } from './types.js';

/** For a keypoint set, the indices of the eyes and the bottom lip, which frame a face as training crops do. */
function anchorsFor(names: readonly string[]): { eyes: number[]; lip: number } | undefined {
  const l = names.indexOf('left_eye_center'), r = names.indexOf('right_eye_center'), lip = names.indexOf('mouth_center_bottom_lip');
  if (l >= 0 && r >= 0 && lip >= 0) return { eyes: [l, r], lip };
  return undefined;
}

/**
 * The square (in photo pixels) to cut around one face. With eye and bottom-lip keypoints the face
 * is framed like Kaggle's crops (scale from the eye–lip distance, placed by their midpoint);
 * otherwise, or when those keypoints are missing, like train-68.csv.gz (POINTS_BOX_MARGIN × the box);
 * the geometry is data/framing.ts, which prediction on photos uses too.
 */
function faceSquare(raw: Float64Array, anchors: ReturnType<typeof anchorsFor>): { left: number; top: number; side: number } | undefined {
  if (anchors) {
    let ex = 0, ey = 0;
    for (const k of anchors.eyes) { ex += raw[2 * k]!; ey += raw[2 * k + 1]!; }
    ex /= anchors.eyes.length;
    ey /= anchors.eyes.length;
    const lx = raw[2 * anchors.lip]!, ly = raw[2 * anchors.lip + 1]!;
    if (!Number.isNaN(ex + ey + lx + ly) && Math.hypot(lx - ex, ly - ey) > 1) {
      const r = cropFromLandmarks([ex, ey], [lx, ly]);
      return { left: r.x, top: r.y, side: r.size };
    }
  }
  const r = cropFromPoints(Array.from({ length: raw.length / 2 }, (_, k) => ({ x: raw[2 * k]!, y: raw[2 * k + 1]! })), { minPoints: 1, minSize: 8 });
  return r && { left: r.x, top: r.y, side: r.size };
}

/** One labelled photo of a folder: its keypoints in the photo's own pixels (NaN where blank). */
export interface LabelledPhoto {
  /** The file name as keypoints.csv spells it, and the path read. */
  name: string;
  path: string;
  /** keypoints.csv's row (1-based, the header is row 1). */
  row: number;
  image: RgbaImage;
  /** K × 2, x then y per keypoint, in the photo's pixels. */
  points: Float64Array;
}

async function requireCsv(dir: string, csv: string): Promise<void> {
  try {
    await access(csv);
  } catch {
    throw new InputError({ file: dir }, 'a folder of photos needs a keypoints.csv (file name, then <keypoint>_x,<keypoint>_y columns in the photo\'s pixels)');
  }
}

/**
 * The rows of a photo folder's `keypoints.csv` (a file-name column, then <name>_x,<name>_y in the
 * photo's own pixels), each photo decoded, one at a time. `onHeader` gets the keypoint names first.
 */
export async function* labelledPhotos(dir: string, csv = path.join(dir, 'keypoints.csv'), onHeader?: (keypoints: string[]) => void, signal?: AbortSignal): AsyncGenerator<LabelledPhoto> {
  await requireCsv(dir, csv);
  let header: Header | undefined;
  let fileCol = 0, fileField = 'file';
  for await (const { row, fields } of csvRecords(csv, signal)) {
    // Each photo is a file read and a decode: the cancel point between them.
    throwIfCancelled(signal, `reading ${dir}`);
    if (!header) {
      const cols = fields.map((f) => f.trim());
      fileCol = cols.findIndex((c) => !/_[xy]$/.test(c));
      if (fileCol < 0) throw new InputError({ file: csv, row: 1 }, 'no file-name column (expected e.g. "file" before the <keypoint>_x,<keypoint>_y columns)');
      fileField = cols[fileCol]!;
      header = parseHeader(csv, fields, false);
      onHeader?.(header.keypoints);
      continue;
    }
    const h = header;
    if (fields.length !== h.columns) throw new InputError({ file: csv, row }, `expected ${h.columns} columns as in the header, found ${fields.length}`);
    const name = fields[fileCol]!.trim();
    // Only regular files inside the folder: a row naming /dev/zero, a FIFO or ../../x is refused, not read.
    const at = { file: csv, row, field: fileField };
    const imgPath = await resolveInside(dir, name, at, 'image');
    let image: RgbaImage;
    try {
      image = decodeImage(await readRegularFile(imgPath, at, 'image'), imgPath);
    } catch (err) {
      // The row that names the image is where the user looks; the image's own path would not say which row.
      if (err instanceof InputError && err.location.file === imgPath) throw new InputError(at, `image ${quoteInput(name, 80)}: ${err.problem}`);
      throw err;
    }
    const K = h.keypoints.length;
    const points = new Float64Array(K * 2);
    for (let k = 0; k < K; k++) {
      points[2 * k] = parseCoord(csv, row, `${h.keypoints[k]}_x`, fields[h.xCol[k]!], Math.max(image.width, image.height));
      points[2 * k + 1] = parseCoord(csv, row, `${h.keypoints[k]}_y`, fields[h.yCol[k]!], Math.max(image.width, image.height));
    }
    yield { name, path: imgPath, row, image, points };
  }
  if (!header) throw new InputError({ file: csv }, 'the file is empty (no header row)');
}

/**
 * A folder of photos with `keypoints.csv` (see labelledPhotos). Each face is cut as a square framed like the matching training crops:
 * with Kaggle's keypoint names, eyes near (48.4, 37.8) and bottom lip near (48.6, 78.9) of 96 as in
 * Kaggle's file; otherwise (e.g. the iBUG 68 points) like train-68.csv.gz, the keypoints' bounding
 * box centred and spanning 77.42 of 96 pixels. Parts of the square outside the photo repeat its edge.
 * The crop is greyed and resized (area averaging) to `imageSize`; coordinates follow the crop.
 */
export async function readPhotoFolder(dir: string, opts: ReadOptions, csv = path.join(dir, 'keypoints.csv')): Promise<FaceSet> {
  const size = opts.imageSize ?? 96;
  let keypoints: string[] = [];
  let anchors: ReturnType<typeof anchorsFor>;
  const pixels = new Growing((n) => new Float32Array(n), size * size * 64), coords = new Growing((n) => new Float32Array(n));
  const rows: number[] = [];
  const photos = labelledPhotos(
    dir,
    csv,
    (names) => {
      keypoints = names;
      anchors = anchorsFor(names);
    },
    opts.signal,
  );
  for await (const { row, image: img, points: raw } of photos) {
    const K = keypoints.length;
    const sq = faceSquare(raw, anchors);
    if (!sq) throw new InputError({ file: csv, row }, 'no keypoints labelled, so the face cannot be located');
    // Whole photo pixels, so the crop-to-output mapping below is exact.
    const side = Math.max(8, Math.round(sq.side)), left = Math.round(sq.left), top = Math.round(sq.top);
    const gray = toGray(img);
    const crop = new Float32Array(side * side);
    for (let y = 0; y < side; y++) {
      const sy = Math.min(img.height - 1, Math.max(0, top + y));
      for (let x = 0; x < side; x++) crop[y * side + x] = gray[sy * img.width + Math.min(img.width - 1, Math.max(0, left + x))]!;
    }
    pixels.push(resizeGray(crop, side, side, size, size));
    const s = size / side;
    const c = new Float32Array(K * 2);
    for (let k = 0; k < K; k++) {
      c[2 * k] = (raw[2 * k]! - left) * s;
      c[2 * k + 1] = (raw[2 * k + 1]! - top) * s;
    }
    coords.push(c);
    rows.push(row);
    if (opts.onProgress && rows.length % 50 === 0) opts.onProgress(rows.length);
  }
  if (rows.length === 0) throw new InputError({ file: csv }, 'no data rows after the header');
  opts.onProgress?.(rows.length);
  return { source: dir, width: size, height: size, keypoints, count: rows.length, pixels: pixels.take().slice(), coords: coords.take().slice(), rows: Int32Array.from(rows) };
}
