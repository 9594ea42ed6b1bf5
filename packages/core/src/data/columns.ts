/** The column layout shared by the Kaggle CSV and photo-folder readers: header pairs, coordinates, growing buffers. */
import { InputError, quoteInput } from '../errors.js';

export interface ReadOptions {
  /**
   * Side of the square images produced: photo folders are cropped to it (default 96); CSV images
   * are resized to it when given and different from their own size, coordinates scaled alike.
   */
  imageSize?: number;
  onProgress?: (rows: number) => void;
  /** Stops the reading (a CancelledError) between chunks of the CSV and between a folder's photos. */
  signal?: AbortSignal;
}

export interface Header {
  keypoints: string[];
  /** Column index of name_x for each keypoint (name_y is looked up separately). */
  xCol: number[];
  yCol: number[];
  imageCol: number;
  columns: number;
}

/** A column named twice would silently lose one of them (a keypoint, or the image). */
export function uniqueColumns(file: string, cols: string[]): void {
  const dup = cols.find((c, i) => cols.indexOf(c) !== i);
  if (dup !== undefined) throw new InputError({ file, row: 1, field: dup }, `column ${quoteInput(dup, 60)} appears twice in the header: which one holds the values is ambiguous`);
}

/** Pairs `<name>_x`/`<name>_y` columns in order of first appearance. */
export function parseHeader(file: string, fields: string[], needImage: boolean, extra: string[] = []): Header {
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

export function parseCoord(file: string, row: number, field: string, text: string | undefined, size: number): number {
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
export class Growing<T extends Uint8Array | Float32Array> {
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
