import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AugmentConfig } from '../src/config/schema.ts';
import { createRng, flipPairs, flipPermutation, fromNormalized, KAGGLE_KEYPOINTS, makeBatch, splitIndices, subset, syntheticFaceSet, toNormalized } from '../src/index.ts';
import { centroid, dotSet } from './fixtures/faces.ts';

const none: AugmentConfig = { flip: false, shift: 0, rotate: 0, scale: 0, brightness: 0 };

describe('augmentation keeps keypoints on the pixels they label', () => {
  test('shift + rotation + scale + flip: the dot moves exactly where its keypoint goes', () => {
    const set = dotSet([[[30, 40]], [[60.3, 55.7]], [[48, 48]]], ['dot']);
    const rng = createRng(5);
    const aug: AugmentConfig = { flip: true, shift: 8, rotate: 25, scale: 0.2, brightness: 0 };
    let flipped = 0, checked = 0;
    for (let rep = 0; rep < 10; rep++) {
      const b = makeBatch(set, [0, 1, 2], { augment: aug, rng });
      for (let i = 0; i < 3; i++) {
        assert.equal(b.mask[2 * i], 1);
        const kx = fromNormalized(b.y[2 * i]!, 96), ky = fromNormalized(b.y[2 * i + 1]!, 96);
        const [cx, cy] = centroid(b.x, i);
        assert.ok(Math.hypot(kx - cx, ky - cy) < 0.25, `keypoint (${kx.toFixed(2)}, ${ky.toFixed(2)}) vs dot (${cx.toFixed(2)}, ${cy.toFixed(2)})`);
        const ox = set.coords[2 * i]!;
        if (Math.abs(kx - (96 - ox)) < Math.abs(kx - ox) - 10) flipped++;
        checked++;
      }
    }
    assert.equal(checked, 30);
    assert.ok(flipped > 5 && flipped < 25, `about half the images are flipped (${flipped}/30)`);
  });

  test('a known shift moves every keypoint by that shift', () => {
    // shift draws tx, ty uniformly in [-shift, shift]; with a 1-pixel-wide range every keypoint must move by the same (tx, ty).
    const set = syntheticFaceSet({ count: 2, seed: 4 });
    const b = makeBatch(set, [0, 1], { augment: { ...none, shift: 5 }, rng: createRng(2) });
    for (let i = 0; i < 2; i++) {
      const d = (k: number, c: 0 | 1) => fromNormalized(b.y[(i * 15 + k) * 2 + c]!, 96) - set.coords[(i * 15 + k) * 2 + c]!;
      const tx = d(0, 0), ty = d(0, 1);
      assert.ok(Math.abs(tx) <= 5 && Math.abs(ty) <= 5 && Math.hypot(tx, ty) > 0.01);
      for (let k = 0; k < 15; k++) {
        if (b.mask[(i * 15 + k) * 2] === 0) continue;
        assert.ok(Math.abs(d(k, 0) - tx) < 1e-3 && Math.abs(d(k, 1) - ty) < 1e-3);
      }
    }
  });

  test('keypoints pushed out of the frame are masked, with target 0', () => {
    const set = dotSet([[[1.5, 48], [48, 48]]], ['edge', 'centre']);
    const rng = createRng(3);
    let masked = 0, kept = 0;
    for (let rep = 0; rep < 40; rep++) {
      const b = makeBatch(set, [0], { augment: { ...none, shift: 10 }, rng });
      if (b.mask[0] === 0) {
        masked++;
        assert.equal(b.y[0], 0);
        assert.equal(b.y[1], 0);
        assert.equal(b.mask[1], 0, 'x and y are masked together');
      } else {
        kept++;
        assert.ok(b.y[0]! >= -1 && b.y[0]! <= 1);
      }
      assert.equal(b.mask[2], 1, 'the centre keypoint stays');
    }
    assert.ok(masked > 5 && kept > 5, `${masked} masked, ${kept} kept`);
  });

  test('missing keypoints stay missing under augmentation', () => {
    const set = syntheticFaceSet({ count: 1, seed: 8 });
    set.coords[4] = NaN;
    set.coords[5] = NaN;
    for (let rep = 0; rep < 10; rep++) {
      const b = makeBatch(set, [0], { augment: { flip: true, shift: 3, rotate: 5, scale: 0.05, brightness: 0.2 }, rng: createRng(rep) });
      // Keypoint 2 (left_eye_inner_corner) is missing; a flip moves it to slot 4 (right_eye_inner_corner).
      const slot = b.mask[4] === 0 ? 4 : 8;
      assert.equal(b.mask[slot], 0);
      assert.equal(b.mask.reduce((s, v) => s + v, 0), 28);
    }
  });

  test('brightness/contrast jitter changes pixels, keeps them in [0, 1], and leaves keypoints alone', () => {
    const set = syntheticFaceSet({ count: 4, seed: 6 });
    const plain = makeBatch(set, [0, 1, 2, 3]);
    const b = makeBatch(set, [0, 1, 2, 3], { augment: { ...none, brightness: 0.5 }, rng: createRng(1) });
    assert.deepEqual(b.y, plain.y);
    let diff = 0;
    for (let i = 0; i < b.x.length; i++) {
      assert.ok(b.x[i]! >= 0 && b.x[i]! <= 1);
      diff += Math.abs(b.x[i]! - plain.x[i]!);
    }
    assert.ok(diff / b.x.length > 0.01);
  });

  test('the same rng state gives the same batch (resumable training)', () => {
    const set = syntheticFaceSet({ count: 3, seed: 1 });
    const aug: AugmentConfig = { flip: true, shift: 4, rotate: 10, scale: 0.1, brightness: 0.2 };
    const r1 = createRng(9);
    makeBatch(set, [0, 1, 2], { augment: aug, rng: r1 });
    const state = r1.getState();
    const a = makeBatch(set, [0, 1, 2], { augment: aug, rng: r1 });
    const r2 = createRng(0);
    r2.setState(state);
    const b = makeBatch(set, [0, 1, 2], { augment: aug, rng: r2 });
    assert.deepEqual(a, b);
  });

  test('flip swap: pairs, perm and the default (pairs from the names) agree', () => {
    const set = syntheticFaceSet({ count: 4, seed: 2 });
    const aug: AugmentConfig = { ...none, flip: true };
    const viaPairs = makeBatch(set, [0, 1, 2, 3], { augment: aug, rng: createRng(4), pairs: flipPairs(set.keypoints) });
    const viaPerm = makeBatch(set, [0, 1, 2, 3], { augment: aug, rng: createRng(4), perm: flipPermutation(set.keypoints) });
    const byDefault = makeBatch(set, [0, 1, 2, 3], { augment: aug, rng: createRng(4) });
    assert.deepEqual(viaPairs, viaPerm);
    assert.deepEqual(byDefault, viaPerm);
    // After any flip the subject's left eye is still on the image's right.
    for (let i = 0; i < 4; i++) assert.ok(viaPairs.y[i * 30]! > viaPairs.y[i * 30 + 2]!);
  });

  test('flipping twice is the identity for batches too', () => {
    const set = syntheticFaceSet({ count: 1, seed: 12 });
    // Find an rng that flips: then flip the flipped face again.
    const b1 = makeBatch(set, [0], { augment: { ...none, flip: true }, rng: createRng(1) });
    const once = b1.x[0] !== set.pixels[0] ? b1 : makeBatch(set, [0], { augment: { ...none, flip: true }, rng: createRng(2) });
    assert.notEqual(once.x[0], set.pixels[0]);
    const flippedSet = { ...set, pixels: once.x, coords: once.y.map((v, j) => fromNormalized(v, 96) + 0 * j) };
    let twice;
    for (let s = 1; ; s++) {
      twice = makeBatch(flippedSet, [0], { augment: { ...none, flip: true }, rng: createRng(s) });
      if (twice.x[0] !== once.x[0]) break;
    }
    for (let i = 0; i < 96 * 96; i++) assert.ok(Math.abs(twice.x[i]! - set.pixels[i]!) < 1e-6);
    for (let j = 0; j < 30; j++) assert.ok(Math.abs(fromNormalized(twice.y[j]!, 96) - set.coords[j]!) < 1e-4);
  });
});

describe('keypoint names, normalisation and splits', () => {
  test('flip pairs from "left"/"right" anywhere in a name, in any case', () => {
    const names = ['LeftEar', 'nose', 'RightEar', 'eye_left', 'eye_right', 'left_only', 'MOUTH_LEFT', 'MOUTH_RIGHT'];
    assert.deepEqual(flipPairs(names), [[0, 2], [3, 4], [6, 7]]);
    assert.equal(flipPairs(KAGGLE_KEYPOINTS).length, 6);
  });

  test('normalised coordinates: the image spans [-1, 1] and the round trip is exact', () => {
    assert.equal(toNormalized(0, 96), -1);
    assert.equal(toNormalized(48, 96), 0);
    assert.equal(toNormalized(96, 96), 1);
    assert.equal(fromNormalized(toNormalized(37.25, 96), 96), 37.25);
  });

  test('split sizes at the edges, and subsets keep source rows', () => {
    assert.equal(splitIndices(10, 0, 1).val.length, 0);
    assert.equal(splitIndices(10, 0.25, 1).val.length, 3);
    assert.equal(splitIndices(10, 50, 1).val.length, 10);
    const set = syntheticFaceSet({ count: 5, seed: 1 });
    const s = subset(set, [4, 1]);
    assert.deepEqual([...s.rows], [6, 3]);
    assert.deepEqual(s.coords.subarray(0, 30), set.coords.subarray(120, 150));
  });

  test('synthetic faces are deterministic per seed and differ across seeds', () => {
    const a = syntheticFaceSet({ count: 3, seed: 7 }), b = syntheticFaceSet({ count: 3, seed: 7 }), c = syntheticFaceSet({ count: 3, seed: 8 });
    assert.deepEqual(a.pixels, b.pixels);
    assert.deepEqual(a.coords, b.coords);
    assert.notDeepEqual(a.coords, c.coords);
    // The pupils are drawn at the eye-centre keypoints: darker than the face around them.
    for (let r = 0; r < 3; r++) {
      const px = (x: number, y: number) => a.pixels[r * 9216 + Math.floor(y) * 96 + Math.floor(x)]!;
      const [ex, ey] = [a.coords[r * 30]!, a.coords[r * 30 + 1]!];
      const [nx, ny] = [a.coords[r * 30 + 20]!, a.coords[r * 30 + 21]!];
      assert.ok(px(ex, ey) + 0.2 < px((ex + nx) / 2 + 3, (ey + ny) / 2), `row ${r}: pupil darker than the cheek`);
    }
  });
});
