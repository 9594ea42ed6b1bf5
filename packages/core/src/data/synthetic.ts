import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { createRng } from '../util/random.js';
import { KAGGLE_KEYPOINTS } from './schema.js';
import type { FaceSet } from './types.js';

/** Canonical keypoints (unit: pixels at scale 1, origin at the face centre, y down); subject's left is +x. */
const CANON: Record<(typeof KAGGLE_KEYPOINTS)[number], [number, number]> = {
  left_eye_center: [15, -12],
  right_eye_center: [-15, -12],
  left_eye_inner_corner: [8, -12],
  left_eye_outer_corner: [22, -12],
  right_eye_inner_corner: [-8, -12],
  right_eye_outer_corner: [-22, -12],
  left_eyebrow_inner_end: [7, -21],
  left_eyebrow_outer_end: [25, -20],
  right_eyebrow_inner_end: [-7, -21],
  right_eyebrow_outer_end: [-25, -20],
  nose_tip: [0, 4],
  mouth_left_corner: [12, 19],
  mouth_right_corner: [-12, 19],
  mouth_center_top_lip: [0, 15],
  mouth_center_bottom_lip: [0, 23],
};

const smooth = (d: number) => (d <= -0.5 ? 1 : d >= 0.5 ? 0 : 0.5 - d); // anti-aliased coverage from signed distance

/**
 * Cartoon faces with Kaggle's 15 keypoints: a face oval, eyes with pupils, brows, a nose and a
 * mouth, each placed from the keypoints so the labels are determined by the picture. Position,
 * size, rotation, proportions, brightness and noise vary; the set is the same for the same seed.
 * Used when no data is given, and by tests.
 */
export function syntheticFaceSet(opts: { count: number; seed: number; size?: number }): FaceSet {
  const size = opts.size ?? 96, S = size * size, K = KAGGLE_KEYPOINTS.length;
  const rng = createRng(opts.seed);
  const pixels = new Float32Array(opts.count * S), coords = new Float32Array(opts.count * K * 2);
  const u = size / 96;
  for (let r = 0; r < opts.count; r++) {
    const cx = size / 2 + rng.uniform(-5, 5) * u, cy = size / 2 + 4 * u + rng.uniform(-5, 5) * u;
    const sc = (1 + rng.uniform(-0.12, 0.12)) * u, th = (rng.uniform(-12, 12) * Math.PI) / 180;
    const eyeSpread = 1 + rng.uniform(-0.12, 0.12), mouthW = 1 + rng.uniform(-0.2, 0.2), browUp = rng.uniform(-2, 2);
    const cos = Math.cos(th), sin = Math.sin(th);
    const place = ([px, py]: [number, number]): [number, number] => [cx + sc * (cos * px - sin * py), cy + sc * (sin * px + cos * py)];
    const kp = KAGGLE_KEYPOINTS.map((name) => {
      let [px, py] = CANON[name];
      if (name.includes('eye') && !name.includes('brow')) px *= eyeSpread;
      if (name.includes('eyebrow')) { px *= eyeSpread; py += browUp; }
      if (name.startsWith('mouth') && name.includes('corner')) px *= mouthW;
      return place([px, py]);
    });
    kp.forEach(([x, y], k) => { coords[(r * K + k) * 2] = x; coords[(r * K + k) * 2 + 1] = y; });
    const at = (name: (typeof KAGGLE_KEYPOINTS)[number]) => kp[KAGGLE_KEYPOINTS.indexOf(name)]!;
    const bg = rng.uniform(0.1, 0.45), skin = rng.uniform(0.55, 0.85), dark = rng.uniform(0.02, 0.2);
    const img = pixels.subarray(r * S, (r + 1) * S);
    const gx = rng.uniform(-0.003, 0.003), gy = rng.uniform(-0.003, 0.003);
    // Shapes in drawing order: signed-distance function, grey value, and the box outside which it covers nothing.
    type Shape = { sdf: (x: number, y: number) => number; value: number; box: [number, number, number, number] };
    const ellipse = (ex: number, ey: number, rx: number, ry: number, value: number): Shape => {
      const rmax = Math.max(rx, ry) + 1, rmin = Math.min(rx, ry);
      return {
        value,
        box: [ex - rmax, ey - rmax, ex + rmax, ey + rmax],
        sdf: (x, y) => {
          const dx = x - ex, dy = y - ey;
          const lx = (cos * dx + sin * dy) / rx, ly = (-sin * dx + cos * dy) / ry;
          return (Math.sqrt(lx * lx + ly * ly) - 1) * rmin;
        },
      };
    };
    const segment = ([ax, ay]: [number, number], [bx, by]: [number, number], w: number, value: number): Shape => {
      const vx = bx - ax, vy = by - ay, vv = vx * vx + vy * vy || 1, m = w / 2 + 1;
      return {
        value,
        box: [Math.min(ax, bx) - m, Math.min(ay, by) - m, Math.max(ax, bx) + m, Math.max(ay, by) + m],
        sdf: (x, y) => {
          const t = Math.max(0, Math.min(1, ((x - ax) * vx + (y - ay) * vy) / vv));
          const ex = x - ax - t * vx, ey = y - ay - t * vy;
          return Math.sqrt(ex * ex + ey * ey) - w / 2;
        },
      };
    };
    const eye = (inner: [number, number], outer: [number, number]): Shape => {
      const rx = Math.hypot(outer[0] - inner[0], outer[1] - inner[1]) / 2;
      return ellipse((inner[0] + outer[0]) / 2, (inner[1] + outer[1]) / 2, rx, rx * 0.55, 0.95);
    };
    const mouthL = at('mouth_left_corner'), mouthR = at('mouth_right_corner'), top = at('mouth_center_top_lip'), bot = at('mouth_center_bottom_lip');
    const shapes: Shape[] = [
      ellipse(cx, cy, 33 * sc, 41 * sc, skin),
      eye(at('left_eye_inner_corner'), at('left_eye_outer_corner')),
      eye(at('right_eye_inner_corner'), at('right_eye_outer_corner')),
      ellipse(...at('left_eye_center'), 2.6 * sc, 2.6 * sc, dark),
      ellipse(...at('right_eye_center'), 2.6 * sc, 2.6 * sc, dark),
      segment(at('left_eyebrow_inner_end'), at('left_eyebrow_outer_end'), 2.5 * sc, dark + 0.1),
      segment(at('right_eyebrow_inner_end'), at('right_eyebrow_outer_end'), 2.5 * sc, dark + 0.1),
      segment(place([0, -8]), at('nose_tip'), 2 * sc, skin * 0.7),
      ellipse(...at('nose_tip'), 4 * sc, 2.2 * sc, skin * 0.55),
      ellipse((mouthL[0] + mouthR[0]) / 2, (top[1] + bot[1]) / 2, Math.hypot(mouthL[0] - mouthR[0], mouthL[1] - mouthR[1]) / 2, Math.hypot(top[0] - bot[0], top[1] - bot[1]) / 2, dark + 0.25),
      segment(mouthL, mouthR, 1.2 * sc, dark),
    ];
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) img[y * size + x] = bg + gx * (x - size / 2) + gy * (y - size / 2);
    // Each shape only visits its box (the face oval covers half the image; the rest are small).
    for (const { sdf, value, box } of shapes) {
      const x0 = Math.max(0, Math.floor(box[0])), y0 = Math.max(0, Math.floor(box[1]));
      const x1 = Math.min(size - 1, Math.ceil(box[2])), y1 = Math.min(size - 1, Math.ceil(box[3]));
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          const cover = smooth(sdf(x + 0.5, y + 0.5));
          if (cover > 0) img[y * size + x]! += (value - img[y * size + x]!) * cover;
        }
      }
    }
    for (let i = 0; i < S; i++) {
      const v = img[i]! + rng.normal() * 0.02;
      img[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  return { source: 'synthetic', width: size, height: size, keypoints: [...KAGGLE_KEYPOINTS], count: opts.count, pixels, coords, rows: Int32Array.from({ length: opts.count }, (_, i) => i + 2) };
}

/** Writes a face set in Kaggle's training.csv layout (gzip when the name ends in .gz); blanks for missing values. */
export async function writeKaggleCsv(set: FaceSet, file: string): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const K = set.keypoints.length, S = set.width * set.height;
  function* lines(): Generator<string> {
    yield set.keypoints.flatMap((k) => [`${k}_x`, `${k}_y`]).concat('Image').join(',') + '\n';
    for (let r = 0; r < set.count; r++) {
      const c: string[] = [];
      for (let j = 0; j < K * 2; j++) {
        const v = set.coords[r * K * 2 + j]!;
        c.push(Number.isNaN(v) ? '' : String(Math.round(v * 10000) / 10000));
      }
      const px: number[] = new Array(S);
      for (let i = 0; i < S; i++) px[i] = Math.round(set.pixels[r * S + i]! * 255);
      c.push(px.join(' '));
      yield c.join(',') + '\n';
    }
  }
  const src = Readable.from(lines());
  if (file.endsWith('.gz')) await pipeline(src, createGzip(), createWriteStream(file));
  else await pipeline(src, createWriteStream(file));
}
