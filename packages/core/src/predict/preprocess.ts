import type { RgbaImage } from '../data/image.js';
import { resizeGray, toGray } from '../data/image.js';

/**
 * How an image of any size became the model's square input: the image is centred in a square of
 * side max(w, h) (padding with its mean grey, so the pad reads as background, not as a black
 * frame), then resized to `size`. `toImage` is the exact inverse, so keypoints come back in the
 * image's own pixels.
 */
export interface InputTransform {
  size: number;
  scale: number; // input pixels per image pixel
  offsetX: number; // padding left of the image, in image pixels
  offsetY: number;
}

export function letterboxTransform(width: number, height: number, size: number): InputTransform {
  const side = Math.max(width, height);
  return { size, scale: size / side, offsetX: (side - width) / 2, offsetY: (side - height) / 2 };
}

export function toImage(t: InputTransform, x: number, y: number): [number, number] {
  return [x / t.scale - t.offsetX, y / t.scale - t.offsetY];
}

export function toInput(t: InputTransform, x: number, y: number): [number, number] {
  return [(x + t.offsetX) * t.scale, (y + t.offsetY) * t.scale];
}

/** Grey pixels in [0, 1], size×size, ready for the network, and the transform that undoes it. */
export function preprocessImage(img: RgbaImage, size: number): { input: Float32Array; transform: InputTransform } {
  const gray = toGray(img);
  const t = letterboxTransform(img.width, img.height, size);
  const side = Math.max(img.width, img.height);
  let square = gray, sw = img.width, sh = img.height;
  if (img.width !== img.height) {
    let mean = 0;
    for (let i = 0; i < gray.length; i++) mean += gray[i]!;
    mean /= gray.length || 1;
    square = new Float32Array(side * side).fill(mean);
    const ox = Math.floor(t.offsetX), oy = Math.floor(t.offsetY);
    for (let y = 0; y < img.height; y++) square.set(gray.subarray(y * img.width, (y + 1) * img.width), (y + oy) * side + ox);
    // Integer placement: keep the transform exact by using the offsets actually applied.
    t.offsetX = ox;
    t.offsetY = oy;
    sw = sh = side;
  }
  const input = sw === size && sh === size ? square : resizeGray(square, sw, sh, size, size);
  return { input, transform: t };
}

/**
 * A square region of an image (e.g. around a detected face, possibly reaching past the image's
 * edges) as the model's size×size input. The region is snapped to whole pixels, so the returned
 * transform is exact; pixels outside the image repeat its nearest edge pixel (a face cut by the
 * frame continues into background-like texture rather than a flat block the network never saw).
 */
export function preprocessRegion(gray: Float32Array, width: number, height: number, region: { x: number; y: number; size: number }, size: number): { input: Float32Array; transform: InputTransform } {
  const side = Math.max(1, Math.round(region.size));
  const x0 = Math.round(region.x + region.size / 2 - side / 2), y0 = Math.round(region.y + region.size / 2 - side / 2);
  const square = new Float32Array(side * side);
  for (let y = 0; y < side; y++) {
    const sy = Math.min(height - 1, Math.max(0, y0 + y)) * width;
    for (let x = 0; x < side; x++) square[y * side + x] = gray[sy + Math.min(width - 1, Math.max(0, x0 + x))]!;
  }
  const input = side === size ? square : resizeGray(square, side, side, size, size);
  return { input, transform: { size, scale: size / side, offsetX: -x0, offsetY: -y0 } };
}
