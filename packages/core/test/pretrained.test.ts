import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/index.ts';
import { resolveConfig } from '../src/config/resolve.ts';
import { readFaceSet } from '../src/data/read.ts';
import { flipPermutation, KAGGLE_KEYPOINTS } from '../src/data/schema.ts';
import { splitIndices, subset } from '../src/data/split.ts';
import { syntheticFaceSet } from '../src/data/synthetic.ts';
import type { FaceSet } from '../src/data/types.ts';
import { applySimilarity, evaluateCalibrated, fitSimilarity } from '../src/evaluate/zero-shot.ts';
import { scorePredictions } from '../src/evaluate/index.ts';
import { buildModel, forwardTrain, modelParams, regularisedWeights } from '../src/model/index.ts';
import { buildFaceApiModel, faceApiModelDir, faceApiZeroShot, FACE_API_INPUT, IBUG68_NAMES, ibug68Sources, KAGGLE_FROM_IBUG68, loadFaceApiWeights } from '../src/model/face-api.ts';
import type { TrainingEvent } from '../src/train/events.ts';
import { maskedMse } from '../src/train/loss.ts';
import { loadCheckpoint, loadRun, predictBatch, readMetrics, saveModel } from '../src/train/run-folder.ts';
import { train } from '../src/train/trainer.ts';

// wasm runs these forwards in milliseconds; the gradient test compares it with cpu.
before(async () => {
  await initBackend('wasm');
});

const root = mkdtempSync(path.join(tmpdir(), 'kp-pretrained-test-'));
const FACES96 = path.resolve(import.meta.dirname, '../../../../shared/data/faces96/train.csv.gz');

// Loaded once: the tensors stay alive for the whole file (350 kB).
let weights: tf.NamedTensorMap | undefined;
const W = () => (weights ??= loadFaceApiWeights().tensors);

/** Seeded pseudo-random gray images in [0, 1] with some structure (a bright blob), n × S × S. */
function images(n: number, S: number, seed = 1): Float32Array {
  const out = new Float32Array(n * S * S);
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < n; i++) {
    const cx = S * (0.3 + 0.4 * rnd()), cy = S * (0.3 + 0.4 * rnd());
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) out[(i * S + y) * S + x] = 0.3 * rnd() + 0.6 * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (0.05 * S * S));
  }
  return out;
}

/**
 * face-api's FaceLandmark68Net forward written with tfjs-core ops straight from its source
 * (src/faceFeatureExtractor/FaceFeatureExtractor.ts, denseBlock.ts, src/common/*), independent of
 * our layers: normalize(rgb·255, meanRgb)/255, denseBlock4 ×4, avgPool 7×7 stride 2 'valid', fc.
 * Input n × 112 × 112 × 3 in [0, 255]; output n × 136 relative positions.
 */
function referenceForward(x255: tf.Tensor4D, w: tf.NamedTensorMap): tf.Tensor2D {
  return tf.tidy(() => {
    const mean = tf.tensor1d([122.782, 117.001, 104.298]);
    const sep = (x: tf.Tensor4D, p: string, stride: number) => tf.add(tf.separableConv2d(x, w[`${p}/depthwise_filter`] as tf.Tensor4D, w[`${p}/pointwise_filter`] as tf.Tensor4D, stride, 'same'), w[`${p}/bias`]!) as tf.Tensor4D;
    const block = (x: tf.Tensor4D, b: number, first: boolean) => {
      const out1 = tf.relu(first ? tf.add(tf.conv2d(x, w[`dense${b}/conv0/filters`] as tf.Tensor4D, 2, 'same'), w[`dense${b}/conv0/bias`]!) : sep(x, `dense${b}/conv0`, 2)) as tf.Tensor4D;
      const out2 = sep(out1, `dense${b}/conv1`, 1);
      const in3 = tf.relu(tf.add(out1, out2)) as tf.Tensor4D;
      const out3 = sep(in3, `dense${b}/conv2`, 1);
      const in4 = tf.relu(tf.add(out1, tf.add(out2, out3))) as tf.Tensor4D;
      const out4 = sep(in4, `dense${b}/conv3`, 1);
      return tf.relu(tf.add(out1, tf.add(out2, tf.add(out3, out4)))) as tf.Tensor4D;
    };
    let h = tf.div(tf.sub(x255, mean), 255) as tf.Tensor4D;
    h = block(h, 0, true);
    for (let b = 1; b < 4; b++) h = block(h, b, false);
    const pooled = tf.avgPool(h, [7, 7], [2, 2], 'valid');
    return tf.add(tf.matMul(tf.reshape(pooled, [x255.shape[0], -1]), w['fc/weights'] as tf.Tensor2D), w['fc/bias']!) as tf.Tensor2D;
  });
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

describe('face-api weights', () => {
  it('load from the npm package on disk and dequantise to the manifest\'s shapes and ranges', () => {
    const dir = faceApiModelDir();
    const manifest = JSON.parse(readFileSync(path.join(dir, 'face_landmark_68_model-weights_manifest.json'), 'utf8')) as Array<{ paths: string[]; weights: Array<{ name: string; shape: number[]; quantization?: { dtype: string; scale: number; min: number } }> }>;
    const specs = manifest.flatMap((g) => g.weights);
    const elements = specs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
    // uint8-quantised: one byte per weight, so the .bin holds exactly the manifest's element count.
    assert.equal(manifest.flatMap((g) => g.paths).reduce((s, p) => s + statSync(path.join(dir, p)).size, 0), elements);
    const { tensors } = loadFaceApiWeights(dir);
    try {
      assert.equal(Object.keys(tensors).length, specs.length);
      assert.equal(specs.length, 4 * 4 * 3 - 1 + 2, '4 blocks × 4 convs × (depthwise, pointwise, bias), the first conv plain (filters, bias), fc weights and bias');
      for (const s of specs) {
        const t = tensors[s.name]!;
        assert.deepEqual(t.shape, s.shape, s.name);
        assert.equal(t.dtype, 'float32');
        const q = s.quantization!;
        assert.equal(q.dtype, 'uint8');
        const v = t.dataSync();
        let lo = Infinity, hi = -Infinity;
        for (const x of v) (lo = Math.min(lo, x)), (hi = Math.max(hi, x));
        assert.ok(lo >= q.min - 1e-6 && hi <= q.min + 255 * q.scale + 1e-6, `${s.name}: ${lo}..${hi} outside the quantisation range`);
        // Every value is min + k·scale for an integer k (that is what dequantising means).
        const k = (v[0]! - q.min) / q.scale;
        assert.ok(Math.abs(k - Math.round(k)) < 1e-3, `${s.name}: ${v[0]} is not on the uint8 grid`);
      }
      assert.deepEqual(tensors['fc/weights']!.shape, [256, 136]);
    } finally {
      Object.values(tensors).forEach((t) => t.dispose());
    }
  });
});

describe('face-api network as a tfjs-layers model', () => {
  it('reproduces face-api\'s own forward (written from its source with tfjs-core ops) on 112×112 input', () => {
    const n = 3, S = FACE_API_INPUT;
    const gray = images(n, S);
    const model = buildFaceApiModel({ imageSize: S, keypoints: IBUG68_NAMES, seed: 1, weights: W() });
    try {
      assert.ok(!model.layers.some((l) => l.name.startsWith('resize')), 'no resize at the native size');
      const ours = tf.tidy(() => (model.predict(tf.tensor4d(gray, [n, S, S, 1])) as tf.Tensor).dataSync());
      const ref = tf.tidy(() => {
        const rgb = tf.tile(tf.mul(tf.tensor4d(gray, [n, S, S, 1]), 255), [1, 1, 1, 3]) as tf.Tensor4D;
        return tf.sub(tf.mul(referenceForward(rgb, W()), 2), 1).dataSync(); // relative [0, 1] → our [-1, 1]
      });
      const d = maxAbs(ours, ref);
      assert.ok(d < 1e-4, `max difference ${d}`);
      // Not a constant: the points move with the image.
      assert.ok(maxAbs(ours.slice(0, 136), ours.slice(136, 272)) > 1e-3);
    } finally {
      model.dispose();
    }
  });

  it('a 96×96 input is resized to 112 inside the model like tf.image.resizeBilinear with half-pixel centres', () => {
    const n = 2;
    const gray = images(n, 96, 7);
    const model = buildFaceApiModel({ imageSize: 96, keypoints: IBUG68_NAMES, seed: 1, weights: W() });
    try {
      const ours = tf.tidy(() => (model.predict(tf.tensor4d(gray, [n, 96, 96, 1])) as tf.Tensor).dataSync());
      const ref = tf.tidy(() => {
        const resized = tf.image.resizeBilinear(tf.tensor4d(gray, [n, 96, 96, 1]), [112, 112], false, true);
        return tf.sub(tf.mul(referenceForward(tf.tile(tf.mul(resized, 255), [1, 1, 1, 3]) as tf.Tensor4D, W()), 2), 1).dataSync();
      });
      assert.ok(maxAbs(ours, ref) < 1e-4, `max difference ${maxAbs(ours, ref)}`);
    } finally {
      model.dispose();
    }
  });

  it('the new head for Kaggle\'s names is exactly face-api\'s points mapped; unmapped names start at the given bias', () => {
    const n = 2, S = 96;
    const x = images(n, S, 3);
    const names = [...KAGGLE_KEYPOINTS, 'chin_tip'];
    const bias = new Float32Array(2 * names.length).fill(0.25);
    const m68 = buildFaceApiModel({ imageSize: S, keypoints: IBUG68_NAMES, seed: 1, weights: W() });
    const mk = buildFaceApiModel({ imageSize: S, keypoints: names, seed: 1, weights: W(), outputBias: bias });
    try {
      const p68 = predictBatch(m68, x, n, S), pk = predictBatch(mk, x, n, S);
      const K = names.length;
      ibug68Sources(names).forEach((src, k) => {
        for (let i = 0; i < n; i++) {
          for (let c = 0; c < 2; c++) {
            const got = pk[(i * K + k) * 2 + c]!;
            if (!src) continue;
            const want = src.reduce((s, j) => s + p68[(i * 68 + j) * 2 + c]!, 0) / src.length;
            assert.ok(Math.abs(got - want) < 1e-3, `${names[k]}: ${got} vs ${want}`);
          }
        }
      });
      // chin_tip maps to nothing: a small random kernel around the bias, 0.25 → 60 px.
      const [kernel, b] = mk.getLayer('output').getWeights();
      const bv = b!.dataSync();
      assert.equal(bv[2 * 15], 0.25);
      assert.equal(bv[2 * 15 + 1], 0.25);
      const col = tf.tidy(() => tf.slice(kernel!, [0, 30], [256, 2]).dataSync());
      assert.ok(Math.max(...Array.from(col, Math.abs)) < 0.05 && Math.max(...Array.from(col, Math.abs)) > 0, 'small, non-zero fresh weights');
    } finally {
      m68.dispose();
      mk.dispose();
    }
  });

  it('Kaggle↔iBUG table: a left keypoint\'s points mirror to its right partner\'s (flip pairs agree)', () => {
    const kPerm = flipPermutation(KAGGLE_KEYPOINTS), iPerm = flipPermutation(IBUG68_NAMES);
    KAGGLE_KEYPOINTS.forEach((name, k) => {
      const mirrored = KAGGLE_FROM_IBUG68[name].map((i) => iPerm[i]!).sort((a, b) => a - b);
      const partner = [...KAGGLE_FROM_IBUG68[KAGGLE_KEYPOINTS[kPerm[k]!]!]].sort((a, b) => a - b);
      assert.deepEqual(mirrored, partner, name);
    });
    // Subject's left eye is iBUG 42–47 (the image's right).
    assert.deepEqual(KAGGLE_FROM_IBUG68.left_eye_center, [42, 43, 44, 45, 46, 47]);
  });

  it('buildModel with model.init builds it; cost matches countParams; L2 includes depthwise and pointwise kernels but not fixed layers', () => {
    const cfg = resolveConfig({ preset: 'pretrained' });
    assert.equal(cfg.model.init, 'face-api-68');
    const m = buildModel(cfg.model, { imageSize: 96, outputs: 30, seed: 1 });
    try {
      assert.equal(m.countParams(), modelParams(cfg.model, 96, 30));
      const { conv, dense } = regularisedWeights(m);
      assert.equal(dense.length, 1);
      assert.equal(conv.length, 1 + 15 * 2, 'the first conv, then depthwise + pointwise of 15 separable convs');
      assert.ok(!m.getLayer('rgb').trainable);
      assert.equal(m.trainableWeights.length, 2 + 15 * 3 + 2);
    } finally {
      m.dispose();
    }
  });

  it('saves to model.json and loads back with identical predictions', async () => {
    const model = buildFaceApiModel({ imageSize: 96, keypoints: [...KAGGLE_KEYPOINTS], seed: 1, weights: W() });
    const dir = path.join(root, 'saved');
    try {
      const { mkdir } = await import('node:fs/promises');
      await mkdir(dir, { recursive: true });
      await saveModel(model, dir, { keypoints: [...KAGGLE_KEYPOINTS], imageSize: 96, preset: 'pretrained', epoch: 0, valRmse: NaN });
      const run = await loadRun(dir);
      try {
        const x = images(2, 96, 11);
        const a = predictBatch(model, x, 2, 96), b = predictBatch(run.model, x, 2, 96);
        assert.ok(maxAbs(a, b) < 1e-5, `differ by ${maxAbs(a, b)}`);
      } finally {
        run.model.dispose();
      }
    } finally {
      model.dispose();
    }
  });

  it('gradients through the separable convs (last block) agree on wasm and cpu', async () => {
    const x = images(1, 48, 5);
    const y = tf.tidy(() => tf.randomUniform([1, 30], -0.5, 0.5, 'float32', 3).dataSync());
    const grads = async (backend: 'cpu' | 'wasm') => {
      await initBackend(backend);
      const m = buildFaceApiModel({ imageSize: 48, keypoints: [...KAGGLE_KEYPOINTS], seed: 1, weights: loadFaceApiWeights().tensors });
      try {
        // The last block and the head: separable convs with strides 2 and 1 (the whole backward pass is slow on cpu).
        const vars = m.layers.filter((l) => /^(dense3_|output)/.test(l.name)).flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable));
        assert.equal(vars.length, 4 * 3 + 2);
        return tf.tidy(() => {
          const { grads: g } = tf.variableGrads(() => maskedMse(forwardTrain(m, tf.tensor4d(x, [1, 48, 48, 1]), 0), tf.tensor2d(y, [1, 30]), tf.ones([1, 30])) as tf.Scalar, vars);
          return vars.map((v) => ({ name: v.name.replace(/_\d+\//, '/'), g: g[v.name]!.dataSync().slice() }));
        });
      } finally {
        m.dispose();
      }
    };
    try {
      const cpu = await grads('cpu'), wasm = await grads('wasm');
      assert.equal(cpu.length, wasm.length);
      cpu.forEach((c, i) => {
        const scale = Math.max(1e-6, ...Array.from(c.g, Math.abs));
        const d = maxAbs(c.g, wasm[i]!.g) / scale;
        assert.ok(d < 2e-3, `${c.name}: relative difference ${d}`);
      });
    } finally {
      await initBackend('wasm');
    }
  });
});

describe('zero-shot and calibration', () => {
  it('a fitted similarity transform recovers a known one exactly', () => {
    const set = syntheticFaceSet({ count: 12, seed: 2, size: 48 });
    const K = set.keypoints.length;
    const truth = { a: 1.05 * Math.cos(0.1), b: 1.05 * Math.sin(0.1), tx: -3, ty: 2.5 };
    // Predictions = inverse transform of the labels, so fitting maps them back onto the labels.
    const det = truth.a * truth.a + truth.b * truth.b;
    const pred = new Float32Array(set.count * K * 2);
    for (let i = 0; i < pred.length; i += 2) {
      const X = set.coords[i]! - truth.tx, Y = set.coords[i + 1]! - truth.ty;
      pred[i] = (truth.a * X + truth.b * Y) / det;
      pred[i + 1] = (-truth.b * X + truth.a * Y) / det;
    }
    const index = set.keypoints.map((_, k) => k);
    const s = fitSimilarity(pred, set, index, K);
    for (const key of ['a', 'b', 'tx', 'ty'] as const) assert.ok(Math.abs(s[key] - truth[key]) < 1e-3, `${key}: ${s[key]} vs ${truth[key]}`);
    assert.ok(scorePredictions(applySimilarity(Float32Array.from(pred), s), set, index, K).rmse < 1e-3);
  });

  it('on faces96 (when present): zero-shot beats the mean shape by far, calibration (fitted on other rows) improves it', async (t) => {
    if (!existsSync(FACES96)) {
      t.skip(`${FACES96} not present`);
      return;
    }
    {
      const all = await readFaceSet(FACES96);
      const sp = splitIndices(all.count, 0.1, 42);
      const val = subset(subset(all, sp.val), Array.from({ length: 64 }, (_, i) => i));
      const fit = subset(subset(all, sp.train), Array.from({ length: 200 }, (_, i) => i));
      const zs = faceApiZeroShot(all.keypoints);
      try {
        const index = all.keypoints.map((_, k) => k);
        const zero = scorePredictions(await zs.predict(val.pixels, val.count), val, index, 15).rmse;
        const mean = meanShapeRmse(subset(all, sp.train), val);
        const cal = (await evaluateCalibrated(zs, fit, val)).rmse;
        assert.ok(zero < 0.6 * mean, `zero-shot ${zero.toFixed(2)} px vs mean shape ${mean.toFixed(2)} px`);
        assert.ok(zero < 3, `zero-shot ${zero.toFixed(2)} px (measured 2.28 on the whole validation split)`);
        assert.ok(cal < zero - 0.2, `calibrated ${cal.toFixed(2)} px vs ${zero.toFixed(2)}`);
      } finally {
        zs.dispose();
      }
    }
  });
});

function meanShapeRmse(trainSet: FaceSet, val: FaceSet): number {
  const K2 = trainSet.keypoints.length * 2;
  const sum = new Float64Array(K2), n = new Float64Array(K2);
  for (let r = 0; r < trainSet.count; r++)
    for (let j = 0; j < K2; j++) {
      const v = trainSet.coords[r * K2 + j]!;
      if (!Number.isNaN(v)) (sum[j] += v), n[j]++;
    }
  let se = 0, c = 0;
  for (let r = 0; r < val.count; r++)
    for (let j = 0; j < K2; j++) {
      const v = val.coords[r * K2 + j]!;
      if (!Number.isNaN(v)) (se += (v - sum[j]! / n[j]!) ** 2), c++;
    }
  return Math.sqrt(se / c);
}

describe('fine-tuning with the trainer', () => {
  function data(): { train: FaceSet; val: FaceSet } {
    const all = syntheticFaceSet({ count: 30, seed: 4, size: 32 });
    const sp = splitIndices(all.count, 6, 1);
    return { train: subset(all, sp.train), val: subset(all, sp.val) };
  }
  const config = () =>
    resolveConfig({ preset: 'pretrained', backend: 'wasm', seed: 3, train: { epochs: 3, batchSize: 8, freezeEpochs: 0.5, learningRate: 1e-3, schedule: { type: 'constant' } } });

  it('trains the head alone first, then the unfrozen layers; fixed layers never change; the loss falls', async () => {
    const dir = path.join(root, 'fine-tune');
    const logs: string[] = [];
    const cfg = config();
    const before = buildModel(cfg.model, { imageSize: 32, outputs: 30, seed: 3, keypoints: [...KAGGLE_KEYPOINTS] });
    const summary = await train({ config: cfg, runDir: dir, data: data(), onEvent: (e: TrainingEvent) => void (e.type === 'log' && logs.push(e.message)) });
    try {
      assert.equal(summary.epochsRun, 3);
      assert.ok(logs.some((l) => /output layer alone for 2 steps/.test(l)), logs.join('\n'));
      assert.ok(logs.some((l) => /unfroze every layer after 2/.test(l)), logs.join('\n'));
      const m = await readMetrics(dir);
      assert.ok(m[2]!.trainLoss < m[0]!.trainLoss, `train loss ${m.map((e) => e.trainLoss.toExponential(2)).join(' → ')}`);
      const run = await loadRun(dir);
      try {
        const w = (model: typeof before, layer: string) => model.getLayer(layer).getWeights()[0]!.dataSync();
        assert.equal(maxAbs(w(before, 'dense0_conv1'), w(run.model, 'dense0_conv1')), 0, 'dense0 is fixed');
        assert.equal(maxAbs(w(before, 'dense1_conv3'), w(run.model, 'dense1_conv3')), 0, 'dense1 is fixed');
        assert.ok(maxAbs(w(before, 'dense3_conv2'), w(run.model, 'dense3_conv2')) > 0, 'dense3 trained');
        assert.ok(maxAbs(w(before, 'output'), w(run.model, 'output')) > 0, 'the head trained');
      } finally {
        run.model.dispose();
      }
    } finally {
      before.dispose();
    }
  });

  it('resumes exactly from a checkpoint taken during the head-only phase', async () => {
    const cfg = config();
    const a = path.join(root, 'resume-full'), b = path.join(root, 'resume-cut');
    await train({ config: cfg, runDir: a, data: data() });
    let checks = 0;
    const signal = { get aborted() { return ++checks > 1; } } as unknown as AbortSignal;
    assert.equal((await train({ config: cfg, runDir: b, data: data(), signal })).reason, 'stopped');
    assert.equal((await loadCheckpoint(b)).state.step, 1, 'stopped inside the head-only phase');
    await train({ runDir: b, data: data(), resume: true });
    const last = async (d: string) => Float32Array.from((await loadCheckpoint(d)).weights.flatMap((w) => Array.from(w)));
    const wa = await last(a), wb = await last(b);
    assert.ok(maxAbs(wa, wb) < 1e-5, `weights differ by ${maxAbs(wa, wb)}`);
  });
});
