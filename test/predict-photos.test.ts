// `keypoints predict` on photos, as a process: every face found, boxed in the overlay; no face is
// a message naming the file and exit code 6. Real photos come from faces96 when present.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeImage, encodeJpeg, encodePng, syntheticFaceSet, writeKaggleCsv } from '../packages/core/src/index.ts';
import type { RgbaImage } from '../packages/core/src/index.ts';

const CLI = path.resolve(import.meta.dirname, '../packages/cli/dist/keypoints.js');
const PHOTOS = path.resolve(import.meta.dirname, '../../shared/data/faces96/photos');
const skipPhotos = existsSync(PHOTOS) ? false : `no faces96 photos at ${PHOTOS}`;
const work = mkdtempSync(path.join(tmpdir(), 'kp-photos-'));

function kp(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: work, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const blank = (width: number, height: number): RgbaImage => ({ width, height, data: new Uint8Array(width * height * 4).fill(235) });

describe('keypoints predict on photos', () => {
  after(() => rmSync(work, { recursive: true, force: true }));
  before(async () => {
    assert.ok(existsSync(CLI), `build the CLI first (${CLI})`);
    // A small model is enough: these tests are about finding faces and mapping points back.
    await writeKaggleCsv(syntheticFaceSet({ count: 64, seed: 5 }), path.join(work, 'faces.csv'));
    const t = kp(['train', '--data', 'faces.csv', '--preset', 'tiny', '--epochs', '1', '--out', 'run', '--json']);
    assert.equal(t.code, 0, t.stderr);
    writeFileSync(path.join(work, 'wall.jpg'), encodeJpeg(blank(320, 200)));
  });

  test('no face: the message names the file, exit code 6, and the other images are still predicted', () => {
    const r = kp(['predict', '--model', 'run', 'wall.jpg']);
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /keypoints: wall\.jpg: no face found \(tiny detector, min score 0\.5, second look down to 0\.3\); try --detector ssd .* --detect off/);
    const once = kp(['predict', '--model', 'run', 'wall.jpg', '--no-second-look']);
    assert.equal(once.code, 6, once.stderr);
    assert.match(once.stderr, /no face found \(tiny detector, min score 0\.5\); try --detector ssd/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.deepEqual(JSON.parse(r.stdout).faces, []);
    // --detect off: the whole image is one face, as before detection existed.
    const off = kp(['predict', '--model', 'run', 'wall.jpg', '--detect', 'off', '--json']);
    assert.equal(off.code, 0, off.stderr);
    const rec = JSON.parse(off.stdout);
    assert.equal(rec.detected, false);
    assert.equal(rec.faces.length, 1);
    assert.equal(rec.faces[0].score, undefined);
    const bad = kp(['predict', '--model', 'run', 'wall.jpg', '--min-score', '2']);
    assert.equal(bad.code, 2);
  });

  test('a photo with two faces: both, with box, score and keypoints in its pixels; the overlay boxes both', { skip: skipPhotos }, () => {
    const a = decodeImage(readFileSync(path.join(PHOTOS, 'Ahmed_Ahmed_42.png')), 'a');
    const b = decodeImage(readFileSync(path.join(PHOTOS, 'Alejandro_Toledo_51.png')), 'b');
    const W = a.width + b.width, H = Math.max(a.height, b.height);
    const data = new Uint8Array(W * H * 4).fill(128);
    for (const [img, ox] of [[a, 0], [b, a.width]] as const) for (let y = 0; y < img.height; y++) data.set(img.data.subarray(y * img.width * 4, (y + 1) * img.width * 4), (y * W + ox) * 4);
    writeFileSync(path.join(work, 'two.png'), encodePng({ width: W, height: H, data }));

    const r = kp(['predict', '--model', 'run', 'two.png', 'wall.jpg', '--overlay', 'out', '--json']);
    assert.equal(r.code, 6, 'one image had no face');
    const [two, wall] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(two.detected, true);
    assert.equal(two.faces.length, 2);
    assert.deepEqual(wall.faces, []);
    for (const f of two.faces) {
      assert.ok(f.score > 0.5 && f.score <= 1);
      assert.deepEqual(Object.keys(f.detection).sort(), ['height', 'width', 'x', 'y']);
      assert.ok(f.box.size > 10, 'the square the network saw');
      assert.equal(f.keypoints.length, 15);
      for (const k of f.keypoints) assert.ok(Number.isFinite(k.x) && Number.isFinite(k.y));
    }
    const left = two.faces.filter((f: { detection: { x: number; width: number } }) => f.detection.x + f.detection.width / 2 < a.width);
    assert.equal(left.length, 1, 'one face on each photo');
    // The overlay: the image scaled up, with both boxes drawn (cyan outlines).
    const png = decodeImage(readFileSync(path.join(work, 'out', 'two.keypoints.png')), 'two.keypoints.png');
    const scale = png.width / W;
    // Each box's left edge: cyan along most of its height (labels may cover a few rows).
    const cyanAt = (x: number, y: number) => {
      for (let dx = -2; dx <= 2; dx++) {
        const i = 4 * (y * png.width + x + dx);
        if (png.data[i]! < 80 && png.data[i + 1]! > 180 && png.data[i + 2]! > 180) return true;
      }
      return false;
    };
    const edges = two.faces.map((f: { detection: { x: number; y: number; height: number } }) => {
      const x = Math.round(f.detection.x * scale), y0 = Math.ceil(f.detection.y * scale) + 2, y1 = Math.floor((f.detection.y + f.detection.height) * scale) - 2;
      let hits = 0;
      for (let y = y0; y <= y1; y++) if (cyanAt(x, y)) hits++;
      return hits / (y1 - y0 + 1);
    });
    for (const e of edges) assert.ok(e > 0.5, `a face box's left edge is drawn (${edges.map((v: number) => v.toFixed(2))})`);

    // Text mode: one line per face on stderr, the JSON document on stdout.
    const text = kp(['predict', '--model', 'run', 'two.png']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stderr, /two\.png: 2 faces\n  face 1: score 0\.\d\d, box \d+,\d+,\d+,\d+ \(x,y,w,h\)\n  face 2: /);
  });

  test('--model face-api-68 (no training): a photo\'s eye centres and bottom lip land near the truth', { skip: skipPhotos }, () => {
    const file = 'Agbani_Darego_52.png';
    const row = readFileSync(path.join(PHOTOS, 'keypoints.csv'), 'utf8').split('\n').find((l) => l.startsWith(file + ','))!;
    const p = row.split(',').slice(1).map(Number);
    const mean = (a: number, b: number) => [0, 1].map((o) => Array.from({ length: b - a + 1 }, (_, i) => p[2 * (a + i) + o]!).reduce((x, y) => x + y) / (b - a + 1));
    const truth: Record<string, number[]> = { left_eye_center: mean(42, 47), right_eye_center: mean(36, 41), mouth_center_bottom_lip: [p[114]!, p[115]!] };
    const iod = Math.hypot(truth.left_eye_center![0]! - truth.right_eye_center![0]!, truth.left_eye_center![1]! - truth.right_eye_center![1]!);
    const r = kp(['predict', '--model', 'face-api-68', path.join(PHOTOS, file), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rec = JSON.parse(r.stdout);
    assert.equal(rec.faces.length, 1);
    assert.equal(rec.faces[0].keypoints.length, 15);
    for (const [name, [x, y]] of Object.entries(truth)) {
      const k = rec.faces[0].keypoints.find((q: { name: string }) => q.name === name);
      const d = Math.hypot(k.x - x!, k.y - y!) / iod;
      assert.ok(d < 0.25, `${name}: ${d.toFixed(2)} IOD from the truth`);
    }
  });

  test('a model-sized crop is predicted as it is (auto), unless --detect on', () => {
    const faces = syntheticFaceSet({ count: 1, seed: 3 });
    const img: RgbaImage = { width: 96, height: 96, data: new Uint8Array(96 * 96 * 4) };
    for (let i = 0; i < 9216; i++) img.data.set([faces.pixels[i]! * 255, faces.pixels[i]! * 255, faces.pixels[i]! * 255, 255], 4 * i);
    writeFileSync(path.join(work, 'crop.png'), encodePng(img));
    const r = kp(['predict', '--model', 'run', 'crop.png', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rec = JSON.parse(r.stdout);
    assert.equal(rec.detected, false);
    assert.deepEqual(rec.faces[0].box, { x: 0, y: 0, size: 96 });
    const on = kp(['predict', '--model', 'run', 'crop.png', '--detect', 'on', '--json']);
    assert.equal(JSON.parse(on.stdout).detected, true);
  });

  test('evaluate --framing on a folder of photos with 68-point labels: faces found, NME in the photos\' pixels, the pictures', { skip: skipPhotos }, () => {
    const dir = path.join(work, 'eval-photos');
    mkdirSync(dir);
    const lines = readFileSync(path.join(PHOTOS, 'keypoints.csv'), 'utf8').trim().split('\n');
    for (const l of lines.slice(1, 4)) copyFileSync(path.join(PHOTOS, l.split(',')[0]!), path.join(dir, l.split(',')[0]!));
    writeFileSync(path.join(dir, 'keypoints.csv'), lines.slice(0, 4).join('\n') + '\n');
    const r = kp(['evaluate', '--model', 'face-api-68', '--data', dir, '--framing', 'detector', '--out', 'eval-pics', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.photos.photos, 3);
    assert.equal(j.photos.found + j.missed, 3);
    assert.equal(Object.keys(j.perKeypoint).length, 68, 'face-api answers on all 68 of the data\'s points');
    assert.deepEqual(j.normalisers, { 'outer-eye-corners': j.photos.found });
    assert.ok(j.nme > 0 && j.nme < 0.2, `NME ${j.nme}`);
    for (const f of ['per-keypoint.png', 'ced.png', 'worst.png']) assert.ok(existsSync(path.join(work, 'eval-pics', f)), f);
    const bad = kp(['evaluate', '--model', 'face-api-68', '--data', path.join(dir, 'keypoints.csv'), '--framing', 'truth']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--framing is for a folder of photos/);
  });
});
