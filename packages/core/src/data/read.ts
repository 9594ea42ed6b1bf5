import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';
import { csvRecords, isDirectory } from './csv.js';
import { decodeImage, resizeGray, toGray } from './image.js';
import type { FaceSet } from './types.js';

export interface ReadOptions {
  /** Side of the square images produced from a photo folder (CSV images keep their own size). */
  imageSize?: number;
  onProgress?: (rows: number) => void;
}

/**
 * Reads faces from Kaggle's layout (`.csv`, `.csv.gz`, a `.zip` holding the CSV) or from a folder of
 * photos with a `keypoints.csv`. Every problem is an InputError naming the file, row and field.
 */
export async function readFaceSet(file: string, opts: ReadOptions = {}): Promise<FaceSet> {
  if (await isDirectory(file)) return readPhotoFolder(file, opts);
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

/** Pairs `<name>_x`/`<name>_y` columns in order of first appearance. */
function parseHeader(file: string, fields: string[], needImage: boolean, extra: string[] = []): Header {
  const cols = fields.map((f) => f.trim());
  const imageCol = cols.indexOf('Image');
  if (needImage && imageCol < 0) throw new InputError({ file, row: 1, field: 'Image' }, `no "Image" column (columns: ${cols.slice(0, 6).join(', ')}${cols.length > 6 ? ', …' : ''})`);
  const keypoints: string[] = [], xCol: number[] = [], yCol: number[] = [];
  cols.forEach((c, i) => {
    const m = /^(.+)_x$/.exec(c);
    if (!m) return;
    const y = cols.indexOf(`${m[1]}_y`);
    if (y < 0) throw new InputError({ file, row: 1, field: c }, `column "${c}" has no matching "${m[1]}_y"`);
    keypoints.push(m[1]!);
    xCol.push(i);
    yCol.push(y);
  });
  for (const c of cols) {
    const m = /^(.+)_y$/.exec(c);
    if (m && !cols.includes(`${m[1]}_x`)) throw new InputError({ file, row: 1, field: c }, `column "${c}" has no matching "${m[1]}_x"`);
    if (!m && !/_x$/.test(c) && c !== 'Image' && !extra.includes(c) && needImage) {
      throw new InputError({ file, row: 1, field: c }, `unexpected column "${c}": expected <keypoint>_x, <keypoint>_y and Image`);
    }
  }
  if (keypoints.length === 0) throw new InputError({ file, row: 1 }, 'no keypoint columns (expected pairs named <keypoint>_x, <keypoint>_y)');
  return { keypoints, xCol, yCol, imageCol, columns: cols.length };
}

/** Parses "12 255 0 …" into `out` (scaled to [0,1]) without splitting the 36 kB string. Returns the count or -1 at a bad token. */
function parsePixels(s: string, out: Float32Array | undefined, bad: { token?: string; index?: number }): number {
  let n = 0, i = 0;
  const len = s.length;
  while (i < len) {
    let c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) { i++; continue; }
    const start = i;
    let v = 0, frac = 0, div = 1, ok = true;
    while (i < len && (c = s.charCodeAt(i)) !== 32 && c !== 9 && c !== 10 && c !== 13) {
      if (c >= 48 && c <= 57) {
        if (frac) { div *= 10; v += (c - 48) / div; } else v = v * 10 + (c - 48);
      } else if (c === 46 && !frac) frac = 1;
      else ok = false;
      i++;
    }
    if (!ok || v > 255) {
      bad.token = s.slice(start, i);
      bad.index = n;
      return -1;
    }
    if (out && n < out.length) out[n] = v / 255;
    n++;
  }
  return n;
}

function parseCoord(file: string, row: number, field: string, text: string | undefined, size: number): number {
  const t = (text ?? '').trim();
  if (t === '') return NaN;
  const v = Number(t);
  if (!Number.isFinite(v)) throw new InputError({ file, row, field }, `"${t.slice(0, 40)}" is not a number`);
  if (v < -size / 2 || v > size * 1.5) throw new InputError({ file, row, field }, `${v} is far outside the ${size}×${size} image`);
  return v;
}

class Growing {
  private chunks: Float32Array[] = [];
  push(a: Float32Array) { this.chunks.push(a); }
  concat(): Float32Array {
    const total = this.chunks.reduce((s, c) => s + c.length, 0);
    const out = new Float32Array(total);
    let o = 0;
    for (const c of this.chunks) { out.set(c, o); o += c.length; }
    this.chunks = [];
    return out;
  }
}

async function readKaggleCsv(file: string, opts: ReadOptions): Promise<FaceSet> {
  let header: Header | undefined;
  let side = 0;
  const pixels = new Growing(), coords = new Growing();
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
    const text = fields[h.imageCol]!;
    const bad: { token?: string; index?: number } = {};
    if (side === 0) {
      const n = parsePixels(text, undefined, bad);
      if (n < 0) throw new InputError({ file, row, field: 'Image' }, `pixel ${bad.index! + 1} is "${bad.token}", not a number from 0 to 255`);
      side = Math.round(Math.sqrt(n));
      if (n === 0 || side * side !== n) throw new InputError({ file, row, field: 'Image' }, `${n} pixel values do not make a square image (96×96 needs 9216)`);
    }
    const px = new Float32Array(side * side);
    const n = parsePixels(text, px, bad);
    if (n < 0) throw new InputError({ file, row, field: 'Image' }, `pixel ${bad.index! + 1} is "${bad.token}", not a number from 0 to 255`);
    if (n !== side * side) throw new InputError({ file, row, field: 'Image' }, `${n} pixel values, expected ${side * side} (${side}×${side} as in the first row)`);
    const c = new Float32Array(h.keypoints.length * 2);
    h.keypoints.forEach((name, k) => {
      c[2 * k] = parseCoord(file, row, `${name}_x`, fields[h.xCol[k]!], side);
      c[2 * k + 1] = parseCoord(file, row, `${name}_y`, fields[h.yCol[k]!], side);
    });
    pixels.push(px);
    coords.push(c);
    rows.push(row);
    if (opts.onProgress && rows.length % 500 === 0) opts.onProgress(rows.length);
  }
  if (!header) throw new InputError({ file }, 'the file is empty (no header row)');
  if (rows.length === 0) throw new InputError({ file }, 'no data rows after the header');
  opts.onProgress?.(rows.length);
  return { source: file, width: side, height: side, keypoints: header.keypoints, count: rows.length, pixels: pixels.concat(), coords: coords.concat(), rows: Int32Array.from(rows) };
}

/** Kaggle's test.csv: `ImageId,Image`. */
export async function readKaggleTest(file: string): Promise<{ imageIds: Int32Array; set: FaceSet }> {
  let cols: string[] | undefined;
  let side = 0;
  const ids: number[] = [], rows: number[] = [];
  const pixels = new Growing();
  for await (const { row, fields } of csvRecords(file)) {
    if (!cols) {
      cols = fields.map((f) => f.trim());
      for (const need of ['ImageId', 'Image']) if (!cols.includes(need)) throw new InputError({ file, row: 1, field: need }, `no "${need}" column (Kaggle's test.csv has ImageId,Image)`);
      continue;
    }
    if (fields.length !== cols.length) throw new InputError({ file, row }, `expected ${cols.length} columns as in the header, found ${fields.length}`);
    const id = Number(fields[cols.indexOf('ImageId')]);
    if (!Number.isInteger(id)) throw new InputError({ file, row, field: 'ImageId' }, `"${fields[cols.indexOf('ImageId')]}" is not an integer id`);
    const text = fields[cols.indexOf('Image')]!;
    const bad: { token?: string; index?: number } = {};
    if (side === 0) {
      const n = parsePixels(text, undefined, bad);
      side = Math.round(Math.sqrt(Math.max(0, n)));
      if (n <= 0 || side * side !== n) throw new InputError({ file, row, field: 'Image' }, n < 0 ? `pixel ${bad.index! + 1} is "${bad.token}", not a number from 0 to 255` : `${n} pixel values do not make a square image`);
    }
    const px = new Float32Array(side * side);
    const n = parsePixels(text, px, bad);
    if (n !== side * side) throw new InputError({ file, row, field: 'Image' }, n < 0 ? `pixel ${bad.index! + 1} is "${bad.token}", not a number from 0 to 255` : `${n} pixel values, expected ${side * side}`);
    ids.push(id);
    rows.push(row);
    pixels.push(px);
  }
  if (!cols || ids.length === 0) throw new InputError({ file }, 'no data rows');
  return {
    imageIds: Int32Array.from(ids),
    set: { source: file, width: side, height: side, keypoints: [], count: ids.length, pixels: pixels.concat(), coords: new Float32Array(0), rows: Int32Array.from(rows) },
  };
}

/** Kaggle's IdLookupTable.csv: `RowId,ImageId,FeatureName,Location`. */
export async function readIdLookup(file: string): Promise<Array<{ rowId: number; imageId: number; featureName: string }>> {
  let cols: string[] | undefined;
  const out: Array<{ rowId: number; imageId: number; featureName: string }> = [];
  for await (const { row, fields } of csvRecords(file)) {
    if (!cols) {
      cols = fields.map((f) => f.trim());
      for (const need of ['RowId', 'ImageId', 'FeatureName']) if (!cols.includes(need)) throw new InputError({ file, row: 1, field: need }, `no "${need}" column (Kaggle's IdLookupTable.csv has RowId,ImageId,FeatureName,Location)`);
      continue;
    }
    const get = (name: string) => fields[cols!.indexOf(name)] ?? '';
    const rowId = Number(get('RowId')), imageId = Number(get('ImageId'));
    if (!Number.isInteger(rowId)) throw new InputError({ file, row, field: 'RowId' }, `"${get('RowId')}" is not an integer`);
    if (!Number.isInteger(imageId)) throw new InputError({ file, row, field: 'ImageId' }, `"${get('ImageId')}" is not an integer`);
    out.push({ rowId, imageId, featureName: get('FeatureName').trim() });
  }
  if (!cols) throw new InputError({ file }, 'the file is empty');
  return out;
}

/**
 * A folder of photos with `keypoints.csv` (a file-name column, then <name>_x,<name>_y in the
 * photo's own pixels). Each face is cut as a square centred on its keypoints' bounding box, with
 * side 1.5 × the box's larger side (so 68-point faces keep their jaw and 15-point faces some
 * forehead), then greyed and resized to `imageSize`; coordinates follow the crop.
 */
async function readPhotoFolder(dir: string, opts: ReadOptions): Promise<FaceSet> {
  const size = opts.imageSize ?? 96;
  const csv = path.join(dir, 'keypoints.csv');
  let header: Header | undefined;
  let fileCol = 0;
  const pixels = new Growing(), coords = new Growing();
  const rows: number[] = [];
  for await (const { row, fields } of csvRecords(csv)) {
    if (!header) {
      const cols = fields.map((f) => f.trim());
      fileCol = cols.findIndex((c) => !/_[xy]$/.test(c));
      if (fileCol < 0) throw new InputError({ file: csv, row: 1 }, 'no file-name column (expected e.g. "file" before the <keypoint>_x,<keypoint>_y columns)');
      header = parseHeader(csv, fields, false);
      continue;
    }
    const h = header;
    if (fields.length !== h.columns) throw new InputError({ file: csv, row }, `expected ${h.columns} columns as in the header, found ${fields.length}`);
    const name = fields[fileCol]!.trim();
    const imgPath = path.resolve(dir, name);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(imgPath);
    } catch {
      throw new InputError({ file: csv, row, field: 'file' }, `image "${name}" not found in ${dir}`);
    }
    const img = decodeImage(bytes, imgPath);
    const K = h.keypoints.length;
    const raw = new Float64Array(K * 2);
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let k = 0; k < K; k++) {
      const x = parseCoord(csv, row, `${h.keypoints[k]}_x`, fields[h.xCol[k]!], Math.max(img.width, img.height));
      const y = parseCoord(csv, row, `${h.keypoints[k]}_y`, fields[h.yCol[k]!], Math.max(img.width, img.height));
      raw[2 * k] = x;
      raw[2 * k + 1] = y;
      if (!Number.isNaN(x) && !Number.isNaN(y)) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    }
    if (!Number.isFinite(x0)) throw new InputError({ file: csv, row }, 'no keypoints labelled, so the face cannot be located');
    const side = Math.max(8, Math.round(1.5 * Math.max(x1 - x0, y1 - y0)));
    const left = Math.round((x0 + x1) / 2 - side / 2), top = Math.round((y0 + y1) / 2 - side / 2);
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
  return { source: dir, width: size, height: size, keypoints: header.keypoints, count: rows.length, pixels: pixels.concat(), coords: coords.concat(), rows: Int32Array.from(rows) };
}
