import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { PNG } from 'pngjs';
import {
  encodeJpeg,
  encodePng,
  isImageFile,
  letterboxTransform,
  predictFaceSet,
  predictImageFiles,
  predictImages,
  predictKaggleTest,
  preprocessImage,
  toImage,
  toInput,
} from '../src/index.ts';
import type { FaceSet, KeypointModel, RgbaImage } from '../src/index.ts';
import { tempDir } from './fixtures/files.ts';

const dir = tempDir('kp-predict-');
after(() => rmSync(dir, { recursive: true, force: true }));

/** An RGBA image: white background (tinted when `colour`), with a black disc at (cx, cy). */
function discImage(width: number, height: number, cx: number, cy: number, radius: number, colour = false): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = Math.hypot(x + 0.5 - cx, y + 0.5 - cy) <= radius;
      const i = 4 * (y * width + x);
      data.set(inside ? [0, 0, 0, 255] : colour ? [250, 235, 215, 255] : [255, 255, 255, 255], i);
    }
  }
  return { width, height, data };
}

/**
 * A stand-in network honouring the KeypointModel contract: it "finds" one keypoint at the centroid
 * of the dark pixels of its input, in input pixels (pixel i spans [i, i+1]). With it, predict's
 * whole pipeline (decode, grey, letterbox, resize, inverse map) can be checked against a known
 * answer without training anything.
 */
function darkCentroidModel(imageSize: number): KeypointModel & { inputs: Float32Array[] } {
  const inputs: Float32Array[] = [];
  return {
    keypoints: ['dot'],
    imageSize,
    inputs,
    predict(x, n) {
      const S = imageSize, out = new Float32Array(n * 2);
      for (let b = 0; b < n; b++) {
        const img = x.subarray(b * S * S, (b + 1) * S * S);
        inputs.push(img.slice());
        let w = 0, sx = 0, sy = 0;
        for (let y = 0; y < S; y++) {
          for (let i = 0; i < S; i++) {
            const d = Math.max(0, 0.5 - img[y * S + i]!);
            w += d;
            sx += d * (i + 0.5);
            sy += d * (y + 0.5);
          }
        }
        out[2 * b] = sx / w;
        out[2 * b + 1] = sy / w;
      }
      return out;
    },
  };
}

describe('input transform', () => {
  test('toImage is the exact inverse of toInput for any image shape', () => {
    for (const [w, h] of [[96, 96], [640, 480], [120, 300], [37, 53], [1, 1000]] as const) {
      const t = letterboxTransform(w, h, 96);
      for (const [x, y] of [[0, 0], [w, h], [w / 3, h * 0.71], [12.25, 7.5]] as const) {
        const [ix, iy] = toInput(t, x, y);
        const [bx, by] = toImage(t, ix, iy);
        assert.ok(Math.abs(bx - x) < 1e-9 && Math.abs(by - y) < 1e-9, `${w}×${h} (${x}, ${y}) -> (${bx}, ${by})`);
      }
      // The image's corners land inside the square input, centred on the long axis.
      const [x0, y0] = toInput(t, 0, 0), [x1, y1] = toInput(t, w, h);
      assert.ok(x0 >= 0 && y0 >= 0 && x1 <= 96 + 1e-9 && y1 <= 96 + 1e-9);
      assert.ok(Math.abs(x0 - (96 - x1)) < 1e-9 && Math.abs(y0 - (96 - y1)) < 1e-9);
    }
  });

  test('a model-sized grey image is passed through as pixels / 255', () => {
    const data = new Uint8Array(4 * 4 * 4);
    for (let i = 0; i < 16; i++) data.set([i * 16, i * 16, i * 16, 255], 4 * i);
    const { input, transform } = preprocessImage({ width: 4, height: 4, data }, 4);
    assert.deepEqual([...input].map((v) => Math.round(v * 255)), Array.from({ length: 16 }, (_, i) => i * 16));
    assert.deepEqual([transform.scale, transform.offsetX, transform.offsetY], [1, 0, 0]);
  });

  test('a non-square image is letterboxed with its mean grey, not black', () => {
    const { input, transform } = preprocessImage(discImage(200, 100, 100, 50, 10), 50);
    assert.equal(input.length, 50 * 50);
    assert.equal(transform.offsetY, 50);
    // Top rows are padding: the mean grey of a mostly white image, far from black.
    assert.ok(input[0]! > 0.9 && input[0]! < 1);
  });
});

// These check the whole-image path (letterbox and its inverse) on synthetic discs, which hold no
// face for a detector: detection is off here and tested on real photos in detect.test.ts.
describe('predictImages / predictImageFiles (whole image, --detect off)', () => {
  const cases: Array<{ name: string; w: number; h: number; cx: number; cy: number; r: number; colour?: boolean; tol: number }> = [
    { name: 'model-sized', w: 96, h: 96, cx: 30.5, cy: 61, r: 4, tol: 0.05 },
    { name: 'large wide colour photo', w: 640, h: 360, cx: 500, cy: 90, r: 25, colour: true, tol: 1.5 },
    { name: 'tall', w: 150, h: 420, cx: 40, cy: 333, r: 15, tol: 1.5 },
    { name: 'small (upscaled)', w: 40, h: 32, cx: 12, cy: 20, r: 3, tol: 0.3 },
  ];

  for (const c of cases) {
    test(`keypoints come back in the image's own pixels: ${c.name} ${c.w}×${c.h}`, async () => {
      const model = darkCentroidModel(96);
      const [res] = await predictImages(model, [{ file: c.name, image: discImage(c.w, c.h, c.cx, c.cy, c.r, c.colour) }], { detect: 'off' });
      assert.equal(res!.width, c.w);
      assert.equal(res!.height, c.h);
      const k = res!.faces[0]!.keypoints[0]!;
      assert.equal(k.name, 'dot');
      assert.ok(Math.abs(k.x - c.cx) < c.tol && Math.abs(k.y - c.cy) < c.tol, `expected (${c.cx}, ${c.cy}), got (${k.x.toFixed(2)}, ${k.y.toFixed(2)})`);
      const box = res!.faces[0]!.box;
      assert.equal(box.size, Math.max(c.w, c.h));
    });
  }

  test('files are decoded by content: a JPEG named .png, an RGB PNG and a greyscale PNG', async () => {
    const wide = discImage(300, 200, 210, 70, 12, true);
    const jpegAsPng = path.join(dir, 'photo.png');
    writeFileSync(jpegAsPng, encodeJpeg(wide, 95));
    const rgb = path.join(dir, 'rgb.image');
    writeFileSync(rgb, encodePng(wide));
    // A true 8-bit greyscale PNG (colour type 0).
    const g = new PNG({ width: 300, height: 200 });
    g.data = Buffer.from(discImage(300, 200, 210, 70, 12).data);
    const grey = path.join(dir, 'grey.png');
    writeFileSync(grey, PNG.sync.write(g, { colorType: 0 }));
    assert.equal(PNG.sync.read(readFileSync(grey)).color, false);

    const results = await predictImageFiles(darkCentroidModel(96), [jpegAsPng, rgb, grey], { detect: 'off' });
    for (const r of results) {
      const k = r.faces[0]!.keypoints[0]!;
      assert.ok(Math.abs(k.x - 210) < 1.5 && Math.abs(k.y - 70) < 1.5, `${r.file}: (${k.x}, ${k.y})`);
    }
    assert.equal(await isImageFile(jpegAsPng), true);
    const csv = path.join(dir, 'x.csv');
    writeFileSync(csv, 'ImageId,Image\n');
    assert.equal(await isImageFile(csv), false);
  });

  test('an undecodable or missing image is an InputError naming the file', async () => {
    const bad = path.join(dir, 'broken.jpg');
    writeFileSync(bad, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    await assert.rejects(predictImageFiles(darkCentroidModel(96), [bad]), (e: Error) => e.name === 'InputError' && e.message.includes('broken.jpg'));
    await assert.rejects(predictImageFiles(darkCentroidModel(96), [path.join(dir, 'nope.png')]), /nope\.png: the image does not exist/);
  });
});

describe('predictFaceSet / predictKaggleTest', () => {
  function dotSet(side: number, dots: Array<[number, number]>): FaceSet {
    const pixels = new Float32Array(dots.length * side * side).fill(1);
    dots.forEach(([cx, cy], r) => {
      for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) if (Math.hypot(x + 0.5 - cx, y + 0.5 - cy) <= side / 24) pixels[r * side * side + y * side + x] = 0;
    });
    return { source: 'dots', width: side, height: side, keypoints: [], count: dots.length, pixels, coords: new Float32Array(0), rows: Int32Array.from(dots, (_, i) => i + 2) };
  }

  test('rows of another size are resized for the model and the keypoints scaled back', async () => {
    const out = await predictFaceSet(darkCentroidModel(96), dotSet(48, [[10, 30], [40, 8]]));
    assert.ok(Math.abs(out[0]! - 10) < 0.3 && Math.abs(out[1]! - 30) < 0.3, String([...out]));
    assert.ok(Math.abs(out[2]! - 40) < 0.3 && Math.abs(out[3]! - 8) < 0.3, String([...out]));
  });

  test("Kaggle's test.csv: one prediction per ImageId, in order", async () => {
    const set = dotSet(96, [[20, 70], [75, 25]]);
    const file = path.join(dir, 'test.csv');
    const row = (r: number) => Array.from(set.pixels.subarray(r * 9216, (r + 1) * 9216), (v) => Math.round(v * 255)).join(' ');
    writeFileSync(file, `ImageId,Image\n7,${row(0)}\n9,${row(1)}\n`);
    const { predictions } = await predictKaggleTest(darkCentroidModel(96), file);
    assert.deepEqual(predictions.map((p) => p.imageId), [7, 9]);
    assert.ok(Math.abs(predictions[1]!.keypoints[0]!.x - 75) < 0.1 && Math.abs(predictions[1]!.keypoints[0]!.y - 25) < 0.1);
  });
});
