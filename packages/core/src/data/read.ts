import { access } from 'node:fs/promises';
import path from 'node:path';
import { InputError, quoteInput } from '../errors.js';
import { readRegularFile, resolveInside } from '../util/paths.js';
import { csvRecords, isDirectory } from './csv.js';
import { decodeImage, resizeGray, toGray } from './image.js';
import { cropFromLandmarks, cropFromPoints } from './framing.js';
import type { FaceSet } from './types.js';

export interface ReadOptions {
  /**
   * Side of the square images produced: photo folders are cropped to it (default 96); CSV images
   * are resized to it when given and different from their own size, coordinates scaled alike.
   */
  imageSize?: number;
  onProgress?: (rows: number) => void;
}

/**
 * Reads faces from Kaggle's layout (`.csv`, `.csv.gz`, a `.zip` holding the CSV) or from a folder of
 * photos with a `keypoints.csv`. Every problem is an InputError naming the file, row and field.
 */
export async function readFaceSet(file: string, opts: ReadOptions = {}): Promise<FaceSet> {
  if (await isDirectory(file)) return readPhotoFolder(file, opts);
  // A photo folder's own keypoints.csv names the folder too (`--data photos/keypoints.csv`).
  if (path.basename(file).toLowerCase() === 'keypoints.csv') return readPhotoFolder(path.dirname(file), opts, file);
  return readKaggleCsv(file, opts);
}

interface Header {
  keypoints: string[];
  /** Column index of name_x for each keypoint (name_y is looked up separately). */
  xCol: number[];
  yCol: number[];
  imageCol: number;
  columns: number;
}

/** A column named twice would silently lose one of them (a keypoint, or the image). */
function uniqueColumns(file: string, cols: string[]): void {
  const dup = cols.find((c, i) => cols.indexOf(c) !== i);
  if (dup !== undefined) throw new InputError({ file, row: 1, field: dup }, `column ${quoteInput(dup, 60)} appears twice in the header: which one holds the values is ambiguous`);
}

/** Pairs `<name>_x`/`<name>_y` columns in order of first appearance. */
function parseHeader(file: string, fields: string[], needImage: boolean, extra: string[] = []): Header {
  const cols = fields.map((f) => f.trim());
  const imageCol = cols.indexOf('Image');
  if (needImage && imageCol < 0) throw new InputError({ file, row: 1, field: 'Image' }, `no "Image" column (columns: ${cols.slice(0, 6).map((c) => quoteInput(c, 30)).join(', ')}${cols.length > 6 ? ', …' : ''})`);
  if (needImage && cols.includes('ImageId') && !cols.some((c) => /_[xy]$/.test(c))) {
    throw new InputError({ file, row: 1 }, "this looks like Kaggle's test.csv (ImageId,Image): it has no keypoints to train or evaluate on; predict on it, or make a submission with `keypoints submit`");
  }
  uniqueColumns(file, cols);
  const keypoints: string[] = [], xCol: number[] = [], yCol: number[] = [];
  cols.forEach((c, i) => {
    const m = /^(.+)_x$/.exec(c);
    if (!m) return;
    const y = cols.indexOf(`${m[1]}_y`);
    if (y < 0) throw new InputError({ file, row: 1, field: c }, `column ${quoteInput(c, 60)} has no matching "${m[1]}_y"`);
    keypoints.push(m[1]!);
    xCol.push(i);
    yCol.push(y);
  });
  for (const c of cols) {
    const m = /^(.+)_y$/.exec(c);
    if (m && !cols.includes(`${m[1]}_x`)) throw new InputError({ file, row: 1, field: c }, `column ${quoteInput(c, 60)} has no matching "${m[1]}_x"`);
    if (!m && !/_x$/.test(c) && c !== 'Image' && !extra.includes(c) && needImage) {
      throw new InputError({ file, row: 1, field: c }, `unexpected column ${quoteInput(c, 60)}: expected <keypoint>_x, <keypoint>_y and Image`);
    }
  }
  if (keypoints.length === 0) throw new InputError({ file, row: 1 }, 'no keypoint columns (expected pairs named <keypoint>_x, <keypoint>_y)');
  return { keypoints, xCol, yCol, imageCol, columns: cols.length };
}

/**
 * Parses "12 255 0 …" without splitting the 36 kB string, writing 8-bit grey levels into
 * `out` at `offset` (decimals are rounded: the column holds 8-bit grey levels by definition).
 * Returns the count, or -1 at a bad token (described in `bad`).
 */
function parsePixels(s: string, out: Uint8Array | undefined, offset: number, limit: number, bad: { token?: string; index?: number }): number {
  let n = 0, i = 0;
  const len = s.length;
  while (i < len) {
    let c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) { i++; continue; }
    const start = i;
    let v = 0, frac = 0, div = 1, ok = true, digits = 0;
    while (i < len && (c = s.charCodeAt(i)) !== 32 && c !== 9 && c !== 10 && c !== 13) {
      if (c >= 48 && c <= 57) {
        digits++;
        if (frac) { div *= 10; v += (c - 48) / div; } else v = v * 10 + (c - 48);
      } else if (c === 46 && !frac) frac = 1;
      else ok = false;
      i++;
    }
    if (!ok || digits === 0 || v > 255) {
      bad.token = s.slice(start, i);
      bad.index = n;
      return -1;
    }
    if (out && n < limit) out[offset + n] = Math.round(v);
    n++;
  }
  return n;
}

function parseCoord(file: string, row: number, field: string, text: string | undefined, size: number): number {
  const t = (text ?? '').trim();
  if (t === '') return NaN;
  const v = Number(t);
  if (!Number.isFinite(v)) throw new InputError({ file, row, field }, `${quoteInput(t)} is not a number`);
  if (v < -size / 2 || v > size * 1.5) throw new InputError({ file, row, field }, `${v} is far outside the ${size}×${size} image`);
  return v;
}

/**
 * An append-only typed buffer that doubles its capacity. Pixels are staged as bytes (a quarter of
 * the float size) and widened once at the end, so reading Kaggle's file peaks near 1.25× the final
 * pixel array instead of 2× (chunks plus their concatenation).
 */
class Growing<T extends Uint8Array | Float32Array> {
  private buf: T;
  length = 0;
  constructor(private readonly make: (n: number) => T, initial = 1 << 16) {
    this.buf = make(initial);
  }
  /** Room for `n` more values; returns the offset to write them at (then call `commit(n)`). */
  reserve(n: number): T {
    if (this.length + n > this.buf.length) {
      const next = this.make(Math.max(this.buf.length * 2, this.length + n));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    return this.buf;
  }
  commit(n: number): void { this.length += n; }
  push(a: ArrayLike<number>): void {
    this.reserve(a.length).set(a, this.length);
    this.length += a.length;
  }
  take(): T { return this.buf.subarray(0, this.length) as T; }
}

/** 8-bit grey levels -> [0, 1] floats through a 256-entry table. */
function widen(bytes: Uint8Array): Float32Array {
  const lut = new Float32Array(256);
  for (let i = 0; i < 256; i++) lut[i] = i / 255;
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = lut[bytes[i]!]!;
  return out;
}

/** Reads the Image field of one row into `pixels`, fixing the side from the first row. Returns the side. */
function readImageField(file: string, row: number, text: string, side: number, pixels: Growing<Uint8Array>): number {
  const bad: { token?: string; index?: number } = {};
  const badPixel = () => new InputError({ file, row, field: 'Image' }, `pixel ${bad.index! + 1} is ${quoteInput(bad.token!)}, not a number from 0 to 255`);
  if (side === 0) {
    const n = parsePixels(text, undefined, 0, 0, bad);
    if (n < 0) throw badPixel();
    side = Math.round(Math.sqrt(n));
    if (n === 0 || side * side !== n) throw new InputError({ file, row, field: 'Image' }, `${n} pixel values do not make a square image (96×96 needs 9216)`);
  }
  const S = side * side;
  const n = parsePixels(text, pixels.reserve(S), pixels.length, S, bad);
  if (n < 0) throw badPixel();
  if (n !== S) throw new InputError({ file, row, field: 'Image' }, `${n} pixel values, expected ${S} (${side}×${side} as in the first row)`);
  pixels.commit(S);
  return side;
}

async function readKaggleCsv(file: string, opts: ReadOptions): Promise<FaceSet> {
  let header: Header | undefined;
  let side = 0;
  const pixels = new Growing((n) => new Uint8Array(n), 1 << 20), coords = new Growing((n) => new Float32Array(n));
  const rows: number[] = [];
  for await (const { row, fields } of csvRecords(file)) {
    if (!header) {
      header = parseHeader(file, fields, true);
      continue;
    }
    const h = header;
    if (fields.length !== h.columns) {
      throw new InputError({ file, row }, `expected ${h.columns} columns as in the header, found ${fields.length}`);
    }
    side = readImageField(file, row, fields[h.imageCol]!, side, pixels);
    const c = new Float32Array(h.keypoints.length * 2);
    h.keypoints.forEach((name, k) => {
      c[2 * k] = parseCoord(file, row, `${name}_x`, fields[h.xCol[k]!], side);
      c[2 * k + 1] = parseCoord(file, row, `${name}_y`, fields[h.yCol[k]!], side);
    });
    coords.push(c);
    rows.push(row);
    if (opts.onProgress && rows.length % 500 === 0) opts.onProgress(rows.length);
  }
  if (!header) throw new InputError({ file }, 'the file is empty (no header row)');
  if (rows.length === 0) throw new InputError({ file }, 'no data rows after the header');
  opts.onProgress?.(rows.length);
  const set: FaceSet = { source: file, width: side, height: side, keypoints: header.keypoints, count: rows.length, pixels: widen(pixels.take()), coords: coords.take().slice(), rows: Int32Array.from(rows) };
  return opts.imageSize && opts.imageSize !== side ? resizeSet(set, opts.imageSize) : set;
}

/** Every image resized to size×size (area averaging down, bilinear up), coordinates scaled to match. */
function resizeSet(set: FaceSet, size: number): FaceSet {
  const S = set.width * set.height, T = size * size, pixels = new Float32Array(set.count * T);
  for (let r = 0; r < set.count; r++) pixels.set(resizeGray(set.pixels.subarray(r * S, (r + 1) * S), set.width, set.height, size, size), r * T);
  const k = size / set.width;
  return { ...set, width: size, height: size, pixels, coords: set.coords.map((v) => v * k) };
}

/** Keypoint labels without images (e.g. faces96's train-full-labels.csv.gz, row for row with train.csv.gz). */
export interface LabelTable {
  readonly source: string;
  readonly keypoints: readonly string[];
  readonly count: number;
  /** count × keypoints × 2, NaN where blank. */
  readonly coords: Float32Array;
  readonly rows: Int32Array;
}

/**
 * Reads only the `<name>_x,<name>_y` columns of a CSV (plain, gzip or zip); an Image column, if
 * any, is skipped unparsed. Coordinates are checked against an `imageSize` square (default 96).
 */
export async function readLabels(file: string, opts: { imageSize?: number } = {}): Promise<LabelTable> {
  const size = opts.imageSize ?? 96;
  let header: Header | undefined;
  const coords = new Growing((n) => new Float32Array(n));
  const rows: number[] = [];
  for await (const { row, fields } of csvRecords(file)) {
    if (!header) {
      header = parseHeader(file, fields, false);
      continue;
    }
    const h = header;
    if (fields.length !== h.columns) throw new InputError({ file, row }, `expected ${h.columns} columns as in the header, found ${fields.length}`);
    h.keypoints.forEach((name, k) => {
      coords.push([parseCoord(file, row, `${name}_x`, fields[h.xCol[k]!], size), parseCoord(file, row, `${name}_y`, fields[h.yCol[k]!], size)]);
    });
    rows.push(row);
  }
  if (!header) throw new InputError({ file }, 'the file is empty (no header row)');
  if (rows.length === 0) throw new InputError({ file }, 'no data rows after the header');
  return { source: file, keypoints: header.keypoints, count: rows.length, coords: coords.take().slice(), rows: Int32Array.from(rows) };
}

/** Kaggle's test.csv: `ImageId,Image`. */
export async function readKaggleTest(file: string): Promise<{ imageIds: Int32Array; set: FaceSet }> {
  let cols: string[] | undefined;
  let side = 0;
  const ids: number[] = [], rows: number[] = [];
  const pixels = new Growing((n) => new Uint8Array(n), 1 << 20);
  for await (const { row, fields } of csvRecords(file)) {
    if (!cols) {
      cols = fields.map((f) => f.trim());
      uniqueColumns(file, cols);
      for (const need of ['ImageId', 'Image']) if (!cols.includes(need)) throw new InputError({ file, row: 1, field: need }, `no "${need}" column (Kaggle's test.csv has ImageId,Image)`);
      continue;
    }
    if (fields.length !== cols.length) throw new InputError({ file, row }, `expected ${cols.length} columns as in the header, found ${fields.length}`);
    const idText = fields[cols.indexOf('ImageId')]!.trim();
    const id = idText === '' ? NaN : Number(idText);
    if (!Number.isInteger(id)) throw new InputError({ file, row, field: 'ImageId' }, `${quoteInput(idText)} is not an integer id`);
    side = readImageField(file, row, fields[cols.indexOf('Image')]!, side, pixels);
    ids.push(id);
    rows.push(row);
  }
  if (!cols) throw new InputError({ file }, 'the file is empty (no header row)');
  if (ids.length === 0) throw new InputError({ file }, 'no data rows after the header');
  return {
    imageIds: Int32Array.from(ids),
    set: { source: file, width: side, height: side, keypoints: [], count: ids.length, pixels: widen(pixels.take()), coords: new Float32Array(0), rows: Int32Array.from(rows) },
  };
}

/** Kaggle's IdLookupTable.csv: `RowId,ImageId,FeatureName,Location`. */
export async function readIdLookup(file: string): Promise<Array<{ rowId: number; imageId: number; featureName: string }>> {
  let cols: string[] | undefined;
  const out: Array<{ rowId: number; imageId: number; featureName: string }> = [];
  for await (const { row, fields } of csvRecords(file)) {
    if (!cols) {
      cols = fields.map((f) => f.trim());
      uniqueColumns(file, cols);
      for (const need of ['RowId', 'ImageId', 'FeatureName']) if (!cols.includes(need)) throw new InputError({ file, row: 1, field: need }, `no "${need}" column (Kaggle's IdLookupTable.csv has RowId,ImageId,FeatureName,Location)`);
      continue;
    }
    const get = (name: string) => fields[cols!.indexOf(name)] ?? '';
    const rowId = Number(get('RowId')), imageId = Number(get('ImageId'));
    if (!Number.isInteger(rowId)) throw new InputError({ file, row, field: 'RowId' }, `${quoteInput(get('RowId'))} is not an integer`);
    if (!Number.isInteger(imageId)) throw new InputError({ file, row, field: 'ImageId' }, `${quoteInput(get('ImageId'))} is not an integer`);
    out.push({ rowId, imageId, featureName: get('FeatureName').trim() });
  }
  if (!cols) throw new InputError({ file }, 'the file is empty');
  return out;
}

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

/**
 * A folder of photos with `keypoints.csv` (a file-name column, then <name>_x,<name>_y in the
 * photo's own pixels). Each face is cut as a square framed like the matching training crops:
 * with Kaggle's keypoint names, eyes near (48.4, 37.8) and bottom lip near (48.6, 78.9) of 96 as in
 * Kaggle's file; otherwise (e.g. the iBUG 68 points) like train-68.csv.gz, the keypoints' bounding
 * box centred and spanning 77.42 of 96 pixels. Parts of the square outside the photo repeat its edge.
 * The crop is greyed and resized (area averaging) to `imageSize`; coordinates follow the crop.
 */
async function readPhotoFolder(dir: string, opts: ReadOptions, csv = path.join(dir, 'keypoints.csv')): Promise<FaceSet> {
  const size = opts.imageSize ?? 96;
  try {
    await access(csv);
  } catch {
    throw new InputError({ file: dir }, 'a folder of photos needs a keypoints.csv (file name, then <keypoint>_x,<keypoint>_y columns in the photo\'s pixels)');
  }
  let header: Header | undefined;
  let anchors: ReturnType<typeof anchorsFor>;
  let fileCol = 0, fileField = 'file';
  const pixels = new Growing((n) => new Float32Array(n), size * size * 64), coords = new Growing((n) => new Float32Array(n));
  const rows: number[] = [];
  for await (const { row, fields } of csvRecords(csv)) {
    if (!header) {
      const cols = fields.map((f) => f.trim());
      fileCol = cols.findIndex((c) => !/_[xy]$/.test(c));
      if (fileCol < 0) throw new InputError({ file: csv, row: 1 }, 'no file-name column (expected e.g. "file" before the <keypoint>_x,<keypoint>_y columns)');
      fileField = cols[fileCol]!;
      header = parseHeader(csv, fields, false);
      anchors = anchorsFor(header.keypoints);
      continue;
    }
    const h = header;
    if (fields.length !== h.columns) throw new InputError({ file: csv, row }, `expected ${h.columns} columns as in the header, found ${fields.length}`);
    const name = fields[fileCol]!.trim();
    // Only regular files inside the folder: a row naming /dev/zero, a FIFO or ../../x is refused, not read.
    const at = { file: csv, row, field: fileField };
    const imgPath = await resolveInside(dir, name, at, 'image');
    let img: ReturnType<typeof decodeImage>;
    try {
      img = decodeImage(await readRegularFile(imgPath, at, 'image'), imgPath);
    } catch (err) {
      // The row that names the image is where the user looks; the image's own path would not say which row.
      if (err instanceof InputError && err.location.file === imgPath) throw new InputError(at, `image ${quoteInput(name, 80)}: ${err.problem}`);
      throw err;
    }
    const K = h.keypoints.length;
    const raw = new Float64Array(K * 2);
    for (let k = 0; k < K; k++) {
      raw[2 * k] = parseCoord(csv, row, `${h.keypoints[k]}_x`, fields[h.xCol[k]!], Math.max(img.width, img.height));
      raw[2 * k + 1] = parseCoord(csv, row, `${h.keypoints[k]}_y`, fields[h.yCol[k]!], Math.max(img.width, img.height));
    }
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
  if (!header) throw new InputError({ file: csv }, 'the file is empty (no header row)');
  if (rows.length === 0) throw new InputError({ file: csv }, 'no data rows after the header');
  opts.onProgress?.(rows.length);
  return { source: dir, width: size, height: size, keypoints: header.keypoints, count: rows.length, pixels: pixels.take().slice(), coords: coords.take().slice(), rows: Int32Array.from(rows) };
}
