import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { InputError } from '../errors.js';
import { limitNote, limits } from '../util/limits.js';

/** A decoded picture, always RGBA 8-bit, whatever the file held (grey, palette, colour). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export type ImageFormat = 'png' | 'jpeg';

/** The format by content (magic bytes), never by file extension. */
export function sniffImage(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

/** Width and height from a PNG's IHDR or a JPEG's SOF segment, without decoding; undefined when the header is cut short or malformed. */
export function imageHeaderSize(bytes: Uint8Array, format: ImageFormat): { width: number; height: number } | undefined {
  const u16 = (i: number) => (bytes[i]! << 8) | bytes[i + 1]!;
  if (format === 'png') {
    // Signature (8), then the IHDR chunk: length (4), "IHDR", width (4), height (4).
    if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return undefined;
    return { width: u16(16) * 65536 + u16(18), height: u16(20) * 65536 + u16(22) };
  }
  // JPEG: walk the marker segments to the first start-of-frame (SOF0–SOF15, not DHT/JPG/DAC).
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const m = bytes[i + 1]!;
    if (m === 0xff) { i++; continue; } // fill byte
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { i += 2; continue; } // no length
    if (m === 0xd9 || m === 0xda) return undefined; // end of image or scan data before any frame header
    const len = u16(i + 2);
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (i + 9 > bytes.length) return undefined;
      return { width: u16(i + 7), height: u16(i + 5) };
    }
    if (len < 2) return undefined;
    i += 2 + len;
  }
  return undefined;
}

/**
 * Decodes a PNG or JPEG after checking its header's dimensions against the limits, so a 69-byte
 * file claiming 60000×60000 is refused at once instead of allocating gigabytes. Any decoder failure
 * reads as "truncated or corrupt": the decoders' own messages (zlib, stream state) mean nothing to a user.
 */
export function decodeImage(bytes: Uint8Array, file: string): RgbaImage {
  const format = sniffImage(bytes);
  if (!format) throw new InputError({ file }, 'not a PNG or JPEG image (unrecognised content)');
  const kind = format.toUpperCase();
  const dims = imageHeaderSize(bytes, format);
  if (!dims) throw new InputError({ file }, `the ${kind} image is truncated or corrupt (no readable header)`);
  if (dims.width === 0 || dims.height === 0) throw new InputError({ file }, `the ${kind} image is ${dims.width}×${dims.height}: it has no pixels`);
  const lim = limits();
  if (Math.max(dims.width, dims.height) > lim.imageSide) {
    throw new InputError({ file }, `the ${kind} image is ${dims.width}×${dims.height}, wider or taller than the ${lim.imageSide}-pixel side limit (${limitNote('imageSide', lim.imageSide)})`);
  }
  if (dims.width * dims.height > lim.imagePixels) {
    throw new InputError({ file }, `the ${kind} image is ${dims.width}×${dims.height}, more pixels than the limit (${limitNote('imagePixels', lim.imagePixels)})`);
  }
  try {
    if (format === 'png') {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    }
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: Math.ceil(lim.imagePixels / 1e6), maxMemoryUsageInMB: Math.ceil((lim.imagePixels * 8) / 2 ** 20) + 64 });
    return { width: img.width, height: img.height, data: img.data };
  } catch {
    throw new InputError({ file }, `the ${kind} image is truncated or corrupt (it cannot be decoded)`);
  }
}

export function encodePng(img: RgbaImage): Uint8Array {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return new Uint8Array(PNG.sync.write(png));
}

export function encodeJpeg(img: RgbaImage, quality = 90): Uint8Array {
  return new Uint8Array(jpeg.encode({ width: img.width, height: img.height, data: img.data }, quality).data);
}

/** Luma (ITU-R BT.601, as most greyscale conversions) in [0, 1]; alpha composited on white. */
export function toGray(img: RgbaImage): Float32Array {
  const n = img.width * img.height, d = img.data, out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = d[4 * i + 3]! / 255;
    const y = (0.299 * d[4 * i]! + 0.587 * d[4 * i + 1]! + 0.114 * d[4 * i + 2]!) / 255;
    out[i] = y * a + (1 - a);
  }
  return out;
}

/** Grey [0, 1] pixels back to an RGBA image, for overlays of dataset rows. */
export function grayToRgba(gray: Float32Array, width: number, height: number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const v = Math.max(0, Math.min(255, Math.round(gray[i]! * 255)));
    data[4 * i] = data[4 * i + 1] = data[4 * i + 2] = v;
    data[4 * i + 3] = 255;
  }
  return { width, height, data };
}

/**
 * Resize by area averaging when shrinking and bilinear interpolation when enlarging, with pixel
 * centres aligned (output pixel i covers input [i·s, (i+1)·s)), so a coordinate x in the input maps
 * to x·(outW/w) in the output: the convention keypoint coordinates use (origin at a pixel's corner).
 */
export function resizeGray(src: Float32Array, w: number, h: number, outW: number, outH: number): Float32Array {
  if (w === outW && h === outH) return src.slice();
  const tmp = resizeAxis(src, w, h, outW, true);
  return resizeAxis(tmp, outW, h, outH, false);
}

function resizeAxis(src: Float32Array, w: number, h: number, n: number, horizontal: boolean): Float32Array {
  const len = horizontal ? w : h; // length along the resized axis
  const other = horizontal ? h : w;
  const out = new Float32Array(horizontal ? n * h : w * n);
  const scale = len / n;
  // Precompute, for every output position, the input taps and weights along this axis.
  const taps: Array<{ idx: number[]; wt: number[] }> = [];
  for (let i = 0; i < n; i++) {
    const idx: number[] = [], wt: number[] = [];
    if (scale > 1) {
      const a = i * scale, b = (i + 1) * scale;
      for (let j = Math.floor(a); j < Math.ceil(b); j++) {
        const cover = Math.min(b, j + 1) - Math.max(a, j);
        if (cover > 1e-9) { idx.push(Math.min(len - 1, j)); wt.push(cover / scale); }
      }
    } else {
      const c = Math.max(0, Math.min(len - 1, (i + 0.5) * scale - 0.5));
      const j = Math.floor(c), f = c - j;
      idx.push(j); wt.push(1 - f);
      if (j + 1 < len) { idx.push(j + 1); wt.push(f); }
    }
    taps.push({ idx, wt });
  }
  for (let o = 0; o < other; o++) {
    for (let i = 0; i < n; i++) {
      const { idx, wt } = taps[i]!;
      let s = 0;
      for (let t = 0; t < idx.length; t++) s += wt[t]! * src[horizontal ? o * w + idx[t]! : idx[t]! * w + o]!;
      out[horizontal ? o * n + i : i * w + o] = s;
    }
  }
  return out;
}
