import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { decodeImage, encodeJpeg, encodePng, KAGGLE_KEYPOINTS, readFaceSet, resizeGray, syntheticFaceSet, toGray } from '../src/index.ts';
import { keypointsCsv, writePhoto } from './fixtures/faces.ts';
import { tempDir, writeText } from './fixtures/files.ts';

describe('image codecs', () => {
  test('PNG and JPEG round trips, decoded by content whatever the extension', () => {
    const data = new Uint8Array(8 * 6 * 4);
    for (let i = 0; i < 48; i++) data.set([i * 5, 255 - i * 5, 100, 255], i * 4);
    const img = { width: 8, height: 6, data };
    const png = decodeImage(encodePng(img), 'a.jpg');
    assert.deepEqual([png.width, png.height], [8, 6]);
    assert.deepEqual(png.data, data);
    const jpg = decodeImage(encodeJpeg(img, 95), 'a.png');
    assert.deepEqual([jpg.width, jpg.height], [8, 6]);
    assert.ok(Math.abs(jpg.data[4 * 20]! - data[4 * 20]!) < 25);
  });

  test('grey conversion weighs colours by luma and composites alpha on white', () => {
    const g = toGray({ width: 3, height: 1, data: new Uint8Array([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 0, 0]) });
    assert.ok(Math.abs(g[0]! - 0.299) < 1e-6 && Math.abs(g[1]! - 0.587) < 1e-6 && g[2] === 1);
  });

  test('resizing: area averaging down, bilinear up, constant images stay constant', () => {
    const src = Float32Array.from({ length: 16 }, (_, i) => (i % 4 < 2 ? 0 : 1));
    assert.deepEqual([...resizeGray(src, 4, 4, 2, 2)], [0, 1, 0, 1]);
    const up = resizeGray(new Float32Array(9).fill(0.4), 3, 3, 7, 7);
    assert.ok(up.every((v) => Math.abs(v - 0.4) < 1e-6));
    assert.ok(Math.abs(resizeGray(Float32Array.of(0, 1), 2, 1, 4, 1)[1]! - 0.25) < 1e-6);
  });

  test('undecodable images are named: unknown content, and a PNG or JPEG cut short', () => {
    assert.throws(() => decodeImage(new TextEncoder().encode('hello'), 'x.png'), /^InputError: x\.png: not a PNG or JPEG image/);
    const png = encodePng({ width: 16, height: 16, data: new Uint8Array(1024).fill(200) });
    assert.throws(() => decodeImage(png.subarray(0, 40), 'cut.png'), /cut\.png: the PNG image is truncated or corrupt/);
    const jpg = encodeJpeg({ width: 16, height: 16, data: new Uint8Array(1024).fill(200) });
    assert.throws(() => decodeImage(jpg.subarray(0, 30), 'cut.jpg'), /cut\.jpg: the JPEG image is truncated or corrupt/);
  });
});

describe('image folders with keypoints.csv', () => {
  const faces = syntheticFaceSet({ count: 3, seed: 31 });

  test("Kaggle keypoints: photos of any size are framed like Kaggle's crops, keypoints follow the pixels", async () => {
    const dir = tempDir('kp-photos-');
    const rows: Array<[string, number[]]> = [
      ['a.png', writePhoto(dir, 'a.png', faces, 0, { scale: 2.5, ox: 40, oy: 15, w: 320, h: 270 })],
      ['b.jpg', writePhoto(dir, 'b.jpg', faces, 1, { scale: 1.2, ox: 0, oy: 20, w: 130, h: 150, jpeg: true })],
      // A JPEG named .png: decoding goes by content.
      ['c.png', writePhoto(dir, 'c.png', faces, 2, { scale: 0.8, ox: 5, oy: 5, w: 90, h: 90, jpeg: true })],
    ];
    keypointsCsv(dir, KAGGLE_KEYPOINTS, rows);
    const progress: number[] = [];
    const set = await readFaceSet(dir, { onProgress: (n) => progress.push(n) });
    assert.equal(set.count, 3);
    assert.equal(set.width, 96);
    assert.deepEqual(set.keypoints, [...KAGGLE_KEYPOINTS]);
    assert.deepEqual([...set.rows], [2, 3, 4]);
    assert.equal(progress.at(-1), 3);
    const L = 0, R = 1, LIP = 14;
    for (let r = 0; r < 3; r++) {
      const c = (k: number, j: number) => set.coords[(r * 15 + k) * 2 + j]!;
      // Framing: the eyes' midpoint and the bottom lip land where Kaggle's faces have them (up to whole-pixel cropping).
      const ex = (c(L, 0) + c(R, 0)) / 2, ey = (c(L, 1) + c(R, 1)) / 2;
      const lx = c(LIP, 0), ly = c(LIP, 1), tol = 1;
      assert.ok(Math.abs(Math.hypot(lx - ex, ly - ey) - Math.hypot(0.2, 78.9 - 37.8)) < tol, `row ${r}: eye–lip distance ${Math.hypot(lx - ex, ly - ey)}`);
      assert.ok(Math.hypot((ex + lx) / 2 - 48.5, (ey + ly) / 2 - (37.8 + 78.9) / 2) < tol, `row ${r}: placement`);
      // The pupils are where the keypoints say.
      const px = (x: number, y: number) => set.pixels[r * 9216 + Math.floor(y) * 96 + Math.floor(x)]!;
      assert.ok(px(c(L, 0), c(L, 1)) + 0.15 < px((c(L, 0) + c(10, 0)) / 2 + 3, (c(L, 1) + c(10, 1)) / 2), `row ${r}: left pupil darker than the cheek`);
      assert.ok(px(c(R, 0), c(R, 1)) + 0.15 < px((c(R, 0) + c(10, 0)) / 2 - 3, (c(R, 1) + c(10, 1)) / 2), `row ${r}: right pupil darker than the cheek`);
    }
  });

  test('other keypoint sets: the bounding box, centred, spans 77.42 of 96 pixels (as train-68.csv.gz)', async () => {
    const dir = tempDir('kp-photos-');
    writeText(dir, 'p.png', encodePng({ width: 200, height: 100, data: new Uint8Array(200 * 100 * 4).fill(128) }));
    keypointsCsv(dir, ['a', 'b', 'c'], [['p.png', [50, 40, 130, 60, 90, 80]]]);
    const set = await readFaceSet(dir, { imageSize: 64 });
    assert.equal(set.width, 64);
    const xs = [0, 2, 4].map((i) => set.coords[i]!), ys = [1, 3, 5].map((i) => set.coords[i]!);
    const span = (Math.max(...xs) - Math.min(...xs)) / 64;
    assert.ok(Math.abs(span - 77.42 / 96) < 0.01, `span ${span}`);
    assert.ok(Math.abs((Math.max(...xs) + Math.min(...xs)) / 2 - 32) < 0.6);
    assert.ok(Math.abs((Math.max(...ys) + Math.min(...ys)) / 2 - 32) < 0.6);
  });

  const bad: Array<[string, (dir: string) => void, RegExp]> = [
    ['no keypoints.csv', () => {}, /a folder of photos needs a keypoints\.csv/],
    ['an empty keypoints.csv', (d) => writeText(d, 'keypoints.csv', ''), /keypoints\.csv: the file is empty/],
    ['a missing image', (d) => writeText(d, 'keypoints.csv', 'file,a_x,a_y\ngone.jpg,1,2\n'), /keypoints\.csv, row 2, field "file": image "gone\.jpg" not found/],
    ['an undecodable image', (d) => { writeText(d, 'keypoints.csv', 'name,a_x,a_y\nx.png,1,2\n'); writeText(d, 'x.png', 'not an image'); }, /keypoints\.csv, row 2, field "name": image "x\.png": not a PNG or JPEG image/],
    ['a truncated PNG', (d) => {
      writeText(d, 'keypoints.csv', 'file,a_x,a_y\nt.png,1,2\n');
      writeText(d, 't.png', encodePng({ width: 32, height: 32, data: new Uint8Array(4096).fill(9) }).subarray(0, 50));
    }, /keypoints\.csv, row 2, field "file": image "t\.png": the PNG image is truncated or corrupt/],
    ['a coordinate far outside the photo', (d) => {
      writeText(d, 'keypoints.csv', 'file,a_x,a_y\nok.png,1,900\n');
      writeText(d, 'ok.png', encodePng({ width: 32, height: 32, data: new Uint8Array(4096).fill(9) }));
    }, /keypoints\.csv, row 2, field "a_y": 900 is far outside the 32×32 image/],
    ['a row with no keypoints', (d) => {
      writeText(d, 'keypoints.csv', 'file,a_x,a_y\nok.png,,\n');
      writeText(d, 'ok.png', encodePng({ width: 32, height: 32, data: new Uint8Array(4096).fill(9) }));
    }, /keypoints\.csv, row 2: no keypoints labelled/],
    ['a short row', (d) => writeText(d, 'keypoints.csv', 'file,a_x,a_y\nok.png,3\n'), /keypoints\.csv, row 2: expected 3 columns as in the header, found 2/],
  ];
  for (const [name, make, re] of bad) {
    test(`malformed folder: ${name}`, async () => {
      const dir = tempDir('kp-badphotos-');
      make(dir);
      await assert.rejects(readFaceSet(dir), (err: Error) => {
        assert.equal(err.name, 'InputError');
        assert.match(err.message, re);
        assert.ok(err.message.startsWith(dir), 'names the folder or a file in it');
        return true;
      });
    });
  }

  test('a relative folder path, or its keypoints.csv, reads the same faces', async () => {
    const dir = tempDir('kp-photos-');
    keypointsCsv(dir, KAGGLE_KEYPOINTS, [['a.png', writePhoto(dir, 'a.png', faces, 0, { scale: 1, ox: 2, oy: 3, w: 100, h: 100 })]]);
    const rel = path.relative(process.cwd(), dir);
    const set = await readFaceSet(rel);
    assert.equal(set.count, 1);
    // Naming the folder's keypoints.csv reads the folder.
    assert.deepEqual((await readFaceSet(path.join(rel, 'keypoints.csv'))).coords, set.coords);
    assert.ok(readFileSync(path.join(dir, 'keypoints.csv'), 'utf8').startsWith('file,left_eye_center_x'));
  });
});
