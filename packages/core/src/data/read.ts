/** Reads faces from Kaggle's CSV layout (plain, .gz, .zip) or a photo folder, and Kaggle's test and lookup files. */
import path from 'node:path';
import { InputError, quoteInput } from '../errors.js';
import { csvRecords, isDirectory } from './csv.js';
import { resizeGray } from './image.js';
import { Growing, parseCoord, parseHeader, uniqueColumns, type Header, type ReadOptions } from './columns.js';
import { readPhotoFolder } from './read-folder.js';
import type { FaceSet } from './types.js';

export type { ReadOptions } from './columns.js';

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
  for await (const { row, fields } of csvRecords(file, opts.signal)) {
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
