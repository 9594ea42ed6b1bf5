import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/index.ts';
import { resolveConfig } from '../src/config/resolve.ts';
import { lossFn, maskedMse, maskedWing } from '../src/train/loss.ts';

before(async () => {
  await initBackend('wasm');
});

/** Wing loss of one error, as the paper writes it. */
const wing = (x: number, w: number, e: number) => (Math.abs(x) < w ? w * Math.log(1 + Math.abs(x) / e) : Math.abs(x) - (w - w * Math.log(1 + w / e)));
/** Its derivative in x. */
const dwing = (x: number, w: number, e: number) => Math.sign(x) * (Math.abs(x) < w ? w / (e + Math.abs(x)) : 1);

// Errors on both sides of w, both signs, and one masked coordinate with a large error.
const pred = [0.3, -0.06, 0.012, -0.4, 0.09, 2];
const y = [0.1, 0.05, 0, 0.2, 0.1, -1];
const mask = [1, 1, 1, 1, 1, 0];
const W = 0.1, E = 0.02;

describe('Wing loss', () => {
  it('equals the paper\'s piecewise formula over the present coordinates (mean, missing ones left out)', () => {
    const got = maskedWing(tf.tensor2d(pred, [2, 3]), tf.tensor2d(y, [2, 3]), tf.tensor2d(mask, [2, 3]), W, E).dataSync()[0]!;
    let sum = 0;
    pred.forEach((p, i) => (sum += mask[i]! * wing(p - y[i]!, W, E)));
    assert.ok(Math.abs(got - sum / 5) < 1e-6, `${got} vs ${sum / 5}`);
  });

  it('has the paper\'s gradient on the wasm backend (masked coordinates get none)', () => {
    assert.equal(tf.getBackend(), 'wasm');
    const p = tf.variable(tf.tensor2d(pred, [2, 3]));
    const { grads } = tf.variableGrads(() => maskedWing(p, tf.tensor2d(y, [2, 3]), tf.tensor2d(mask, [2, 3]), W, E), [p]);
    const g = grads[p.name]!.dataSync();
    pred.forEach((v, i) => {
      const want = (mask[i]! * dwing(v - y[i]!, W, E)) / 5;
      assert.ok(Math.abs(g[i]! - want) < 1e-5, `coordinate ${i}: ${g[i]} vs ${want}`);
    });
    p.dispose();
  });

  it('train.loss picks the loss; wing\'s width and curvature are pixels of the input, converted to normalised units', () => {
    const tc = resolveConfig({ train: { loss: { type: 'wing', wingWidth: 4.8, wingCurvature: 0.96 } } }).train;
    const f = lossFn(tc.loss, 96);
    const a = tf.tensor2d(pred, [2, 3]), b = tf.tensor2d(y, [2, 3]), m = tf.tensor2d(mask, [2, 3]);
    // 4.8 px of a 96 px image is 0.1 in normalised units (half the image is 1), 0.96 px is 0.02.
    assert.ok(Math.abs(f(a, b, m).dataSync()[0]! - maskedWing(a, b, m, 0.1, 0.02).dataSync()[0]!) < 1e-7);
    assert.equal(lossFn(resolveConfig({}).train.loss, 96), maskedMse, 'mse unless set');
  });
});
