import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FaceSet } from '../src/data/types.ts';
import { evaluateModel } from '../src/evaluate/index.ts';
import type { KeypointModel } from '../src/predict/model.ts';
import { flipAveraged, mirrorImages, withTta } from '../src/predict/tta.ts';

const S = 8;
const NAMES = ['left_eye_center', 'right_eye_center', 'nose_tip'];

/**
 * A fake network that reads two bright pixels: the subject's left eye is the image's right one, the
 * right eye the left one, the nose their midpoint, a little lower; every x carries a bias `bias`
 * (a network that leans one way). Pixel centres are at col + 0.5.
 */
function leaningModel(bias: number): KeypointModel {
  return {
    keypoints: NAMES,
    imageSize: S,
    predict(x, n) {
      const out = new Float32Array(n * NAMES.length * 2);
      for (let i = 0; i < n; i++) {
        const bright: Array<[number, number]> = [];
        for (let p = 0; p < S * S; p++) if (x[i * S * S + p]! > 0.5) bright.push([(p % S) + 0.5, Math.floor(p / S) + 0.5]);
        bright.sort((a, b) => a[0] - b[0]);
        const [l, r] = [bright[0]!, bright[bright.length - 1]!];
        const pts = [r, l, [(l[0] + r[0]) / 2, (l[1] + r[1]) / 2 + 2]];
        pts.forEach(([px, py], k) => ((out[(i * 3 + k) * 2] = px! + bias), (out[(i * 3 + k) * 2 + 1] = py!)));
      }
      return out;
    },
  };
}

/** n images with two bright pixels each, at (c1, row) and (c2, row2). */
function images(dots: Array<[number, number, number, number]>): Float32Array {
  const x = new Float32Array(dots.length * S * S);
  dots.forEach(([c1, r1, c2, r2], i) => ((x[i * S * S + r1 * S + c1] = 1), (x[i * S * S + r2 * S + c2] = 1)));
  return x;
}

describe('test-time flip averaging', () => {
  it('mirrors each image left to right', () => {
    const x = Float32Array.from({ length: 2 * S * S }, (_, i) => i);
    const m = mirrorImages(x, 2, S);
    for (let i = 0; i < 2; i++) for (let r = 0; r < S; r++) for (let c = 0; c < S; c++) assert.equal(m[i * S * S + r * S + c], x[i * S * S + r * S + (S - 1 - c)]);
  });

  it('equals a straightforward reference: predict the mirror, swap left/right by name, x → S − x, average', async () => {
    const model = leaningModel(0.75);
    const x = images([[1, 2, 5, 3], [2, 4, 6, 4], [0, 0, 7, 7]]);
    const got = await flipAveraged(model).predict(x, 3);
    const plain = await model.predict(x, 3);
    // The reference mirrors with its own index formula and maps points by name.
    const mirrored = new Float32Array(x.length);
    for (let i = 0; i < 3; i++) for (let r = 0; r < S; r++) for (let c = 0; c < S; c++) mirrored[i * S * S + r * S + c] = x[i * S * S + r * S + S - 1 - c]!;
    const flipped = await model.predict(mirrored, 3);
    const partner = (name: string) => (name.includes('left') ? name.replace('left', 'right') : name.replace('right', 'left'));
    for (let i = 0; i < 3; i++) {
      NAMES.forEach((name, k) => {
        const j = NAMES.indexOf(partner(name));
        const ex = (plain[(i * 3 + k) * 2]! + S - flipped[(i * 3 + j) * 2]!) / 2;
        const ey = (plain[(i * 3 + k) * 2 + 1]! + flipped[(i * 3 + j) * 2 + 1]!) / 2;
        assert.ok(Math.abs(got[(i * 3 + k) * 2]! - ex) < 1e-6 && Math.abs(got[(i * 3 + k) * 2 + 1]! - ey) < 1e-6, `image ${i} ${name}`);
      });
    }
  });

  it('cancels a network that leans one way: the averaged points are the true ones', async () => {
    const x = images([[1, 2, 5, 3]]);
    const truth = await leaningModel(0).predict(x, 1);
    const leaning = await leaningModel(1.5).predict(x, 1);
    const averaged = await flipAveraged(leaningModel(1.5)).predict(x, 1);
    assert.notDeepEqual(Array.from(leaning), Array.from(truth));
    truth.forEach((v, i) => assert.ok(Math.abs(averaged[i]! - v) < 1e-6, `coordinate ${i}: ${averaged[i]} vs ${v}`));
  });

  it('leaves a model without left/right pairs as it is, and `none` predicts once', () => {
    const model = { ...leaningModel(1), keypoints: ['a', 'b', 'c'] };
    assert.equal(flipAveraged(model), model);
    const paired = leaningModel(1);
    assert.equal(withTta(paired, 'none'), paired);
    assert.notEqual(withTta(paired, 'flip'), paired);
  });

  it('evaluate scores the averaged predictions (default) or the plain ones (tta none)', async () => {
    const x = images([[1, 2, 5, 3], [2, 4, 6, 4]]);
    const truth = await leaningModel(0).predict(x, 2);
    const set: FaceSet = { source: 'fake.csv', width: S, height: S, count: 2, keypoints: NAMES, pixels: x, coords: truth, rows: Int32Array.from([2, 3]) };
    const plain = await evaluateModel(leaningModel(1.5), set, { tta: 'none' });
    const averaged = await evaluateModel(leaningModel(1.5), set);
    assert.ok(Math.abs(plain.rmse - 1.5 / Math.SQRT2) < 1e-6, `plain ${plain.rmse}`);
    assert.ok(averaged.rmse < 1e-6, `averaged ${averaged.rmse}`);
  });
});
