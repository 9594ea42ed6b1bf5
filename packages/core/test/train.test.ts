import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { resolveConfig } from '../src/config/resolve.ts';
import { OPTIMIZER_DEFAULTS } from '../src/config/optimizers.ts';
import type { KeypointsConfig, ScheduleConfig } from '../src/config/schema.ts';
import { splitIndices, subset } from '../src/data/split.ts';
import { syntheticFaceSet } from '../src/data/synthetic.ts';
import type { FaceSet } from '../src/data/types.ts';
import { initBackend } from '../src/backend/index.ts';
import { UserError } from '../src/errors.ts';
import type { TrainingEvent } from '../src/train/events.ts';
import { maskedMse, l2Penalty } from '../src/train/loss.ts';
import { loadCheckpoint, loadRun, predictBatch, readMetrics, saveCheckpoint } from '../src/train/run-folder.ts';
import type { Checkpoint } from '../src/train/run-folder.ts';
import { learningRateAt } from '../src/train/schedule.ts';
import { loadTrainingData, train } from '../src/train/trainer.ts';
import { evaluateModel } from '../src/evaluate/index.ts';

before(async () => {
  await initBackend('wasm');
});

const root = mkdtempSync(path.join(tmpdir(), 'kp-train-test-'));
let runs = 0;
const runDir = (name: string) => path.join(root, `${name}-${++runs}`);

/** Small synthetic faces (32×32) split 80/20: every test trains in seconds. */
function smallData(count = 160, seed = 3): { train: FaceSet; val: FaceSet } {
  const all = syntheticFaceSet({ count, seed, size: 32 });
  const sp = splitIndices(all.count, 0.2, 1);
  return { train: subset(all, sp.train), val: subset(all, sp.val) };
}

/** A small network with every kind of layer the trainer must handle (batch norm, dropout, L2). */
function smallConfig(over: Record<string, unknown> = {}, train: Record<string, unknown> = {}): KeypointsConfig {
  return resolveConfig({
    preset: 'tiny',
    backend: 'wasm',
    seed: 5,
    model: { conv: [{ filters: 8, kernel: 3, batchNorm: true }, { filters: 16, kernel: 3 }], dense: [32], dropout: 0.3, l2: 1e-4 },
    train: { epochs: 4, batchSize: 16, augment: { flip: true, shift: 2, rotate: 5, brightness: 0.1 }, ...train },
    ...over,
  });
}

/** RMSE in pixels of predicting every coordinate at its training-set mean. */
function meanBaselineRmse(trainSet: FaceSet, val: FaceSet): number {
  const K2 = trainSet.keypoints.length * 2;
  const sum = new Float64Array(K2), n = new Float64Array(K2);
  for (let r = 0; r < trainSet.count; r++) {
    for (let j = 0; j < K2; j++) {
      const v = trainSet.coords[r * K2 + j]!;
      if (!Number.isNaN(v)) (sum[j] += v), n[j]++;
    }
  }
  let se = 0, c = 0;
  for (let r = 0; r < val.count; r++) {
    for (let j = 0; j < K2; j++) {
      const v = val.coords[r * K2 + j]!;
      if (!Number.isNaN(v)) (se += (v - sum[j]! / n[j]!) ** 2), c++;
    }
  }
  return Math.sqrt(se / c);
}

const floats = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
/** The checkpoint's current weights as one array, wherever the checkpoint stores them. */
const lastWeights = async (dir: string) => Float32Array.from((await loadCheckpoint(dir)).weights.flatMap((w) => Array.from(w)));

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe('learningRateAt', () => {
  const sched = (s: Partial<ScheduleConfig>): ScheduleConfig => ({ type: 'constant', decayRate: 0.5, decayEpochs: 2, minFactor: 0.1, warmupEpochs: 0, ...s });
  const ctx = (s: Partial<ScheduleConfig>) => ({ base: 0.1, schedule: sched(s), stepsPerEpoch: 10, totalSteps: 100 });

  it('constant', () => {
    for (const step of [0, 5, 99, 500]) assert.equal(learningRateAt(step, ctx({})), 0.1);
  });

  it('linear warm-up reaches the base rate at the end of warm-up', () => {
    const c = ctx({ warmupEpochs: 1 });
    assert.ok(Math.abs(learningRateAt(0, c) - 0.01) < 1e-12);
    assert.ok(Math.abs(learningRateAt(4, c) - 0.05) < 1e-12);
    assert.ok(Math.abs(learningRateAt(9, c) - 0.1) < 1e-12);
    assert.equal(learningRateAt(10, c), 0.1);
    for (let s = 1; s < 10; s++) assert.ok(learningRateAt(s, c) > learningRateAt(s - 1, c));
  });

  it('exponential decays smoothly by decayRate per decay period (after warm-up)', () => {
    const c = ctx({ type: 'exponential', warmupEpochs: 1 });
    assert.ok(Math.abs(learningRateAt(10, c) - 0.1) < 1e-12);
    assert.ok(Math.abs(learningRateAt(30, c) - 0.05) < 1e-12); // 20 steps = one 2-epoch period
    assert.ok(Math.abs(learningRateAt(20, c) - 0.1 * Math.SQRT1_2) < 1e-12);
  });

  it('staircase drops in steps', () => {
    const c = ctx({ type: 'staircase' });
    assert.equal(learningRateAt(0, c), 0.1);
    assert.equal(learningRateAt(19, c), 0.1);
    assert.equal(learningRateAt(20, c), 0.05);
    assert.equal(learningRateAt(39, c), 0.05);
    assert.equal(learningRateAt(40, c), 0.025);
  });

  it('cosine goes from the base rate after warm-up to minFactor·base at the planned end', () => {
    const c = ctx({ type: 'cosine', warmupEpochs: 2 });
    assert.ok(Math.abs(learningRateAt(19, c) - 0.1) < 1e-12); // last warm-up step
    assert.ok(Math.abs(learningRateAt(20, c) - 0.1) < 1e-12); // cosine start
    assert.ok(Math.abs(learningRateAt(60, c) - 0.1 * (0.1 + 0.9 * 0.5)) < 1e-12); // half way: mean of base and floor
    assert.ok(Math.abs(learningRateAt(100, c) - 0.01) < 1e-12);
    assert.ok(Math.abs(learningRateAt(1000, c) - 0.01) < 1e-12); // stays at the floor
    for (let s = 21; s <= 100; s++) assert.ok(learningRateAt(s, c) < learningRateAt(s - 1, c));
  });

  it('cosine follows a shrunken totalSteps (time-limit fitting)', () => {
    const c = { ...ctx({ type: 'cosine' }), totalSteps: 40 };
    assert.ok(Math.abs(learningRateAt(40, c) - 0.01) < 1e-12);
  });
});

describe('loss', () => {
  it('masked MSE averages squared errors over the present coordinates only', () => {
    const pred = tf.tensor2d([[0.5, -0.5, 0.2, 9], [0, 0, 7, -7]]);
    const y = tf.tensor2d([[0.1, -0.1, 0.0, 0], [0.3, 0.3, 0, 0]]);
    const mask = tf.tensor2d([[1, 1, 1, 0], [1, 1, 0, 0]]);
    const got = maskedMse(pred, y, mask).dataSync()[0]!;
    // Present: 0.4², 0.4², 0.2², 0.3², 0.3² over 5 coordinates; the wild masked values are ignored.
    const expected = (0.16 + 0.16 + 0.04 + 0.09 + 0.09) / 5;
    assert.ok(Math.abs(got - expected) < 1e-6, `${got} vs ${expected}`);
    // All missing: zero, not NaN.
    assert.equal(maskedMse(pred, y, tf.zerosLike(mask)).dataSync()[0], 0);
    tf.dispose([pred, y, mask]);
  });

  it('L2 penalty is coef·Σw²', () => {
    const w = [tf.tensor1d([1, 2]), tf.tensor2d([[3]])];
    assert.ok(Math.abs(l2Penalty(w, 0.5).dataSync()[0]! - 0.5 * 14) < 1e-6);
    assert.equal(l2Penalty(w, 0).dataSync()[0], 0);
    tf.dispose(w);
  });
});

describe('optimizer defaults', () => {
  it('switching optimizer without a learning rate takes that optimizer\'s defaults; explicit values win', () => {
    const m = resolveConfig({ preset: 'default', train: { optimizer: 'momentum' } }).train;
    assert.equal(m.learningRate, OPTIMIZER_DEFAULTS.momentum.learningRate);
    assert.equal(m.clipNorm, OPTIMIZER_DEFAULTS.momentum.clipNorm);
    assert.ok(m.schedule.warmupEpochs >= OPTIMIZER_DEFAULTS.momentum.warmupEpochs);
    const s = resolveConfig({ preset: 'seed', train: { optimizer: 'sgd', learningRate: 0.2, clipNorm: 5 } }).train;
    assert.equal(s.learningRate, 0.2);
    assert.equal(s.clipNorm, 5);
    // A resolved config resolves to itself (resume reads config.json back).
    const full = resolveConfig({ preset: 'seed', train: { optimizer: 'sgd' } });
    assert.deepEqual(resolveConfig(JSON.parse(JSON.stringify(full))), full);
  });
});

describe('trainer', () => {
  it('writes a complete run folder that loadRun and predictBatch read back', async () => {
    const data = smallData();
    const dir = runDir('folder');
    const events: TrainingEvent[] = [];
    const s = await train({ config: smallConfig({}, { epochs: 2 }), runDir: dir, data, onEvent: (e) => events.push(e) });
    assert.equal(s.reason, 'completed');
    assert.equal(s.epochsRun, 2);
    for (const f of ['config.json', 'model.json', 'weights.bin', 'metrics.jsonl', 'results.csv', 'summary.json', 'curves.html', 'curves.png', 'val-faces.png', 'checkpoint/state.json']) {
      assert.ok(existsSync(path.join(dir, f)), f);
    }
    const types = events.map((e) => e.type);
    assert.equal(types[0], 'start');
    assert.equal(types.at(-1), 'done');
    assert.equal(types.filter((t) => t === 'epochEnd').length, 2);
    assert.ok(types.includes('batchEnd') && types.includes('checkpoint'));
    const metrics = await readMetrics(dir);
    assert.equal(metrics.length, 2);
    for (const m of metrics) for (const k of ['trainLoss', 'valLoss', 'valRmse', 'learningRate', 'seconds', 'imagesPerSecond'] as const) assert.ok(Number.isFinite(m[k]), k);
    const summary = JSON.parse(await readFile(path.join(dir, 'summary.json'), 'utf8'));
    assert.equal(summary.bestEpoch, s.bestEpoch);
    assert.equal(summary.backend, 'wasm');

    const run = await loadRun(dir);
    assert.deepEqual(run.keypoints, [...data.train.keypoints]);
    assert.equal(run.imageSize, 32);
    assert.equal(run.summary?.reason, 'completed');
    // The saved model scores exactly the best epoch's validation RMSE.
    const px = predictBatch(run.model, data.val.pixels, data.val.count, 32);
    let se = 0, n = 0;
    for (let i = 0; i < px.length; i++) {
      const t = data.val.coords[i]!;
      if (!Number.isNaN(t)) (se += (px[i]! - t) ** 2), n++;
    }
    assert.ok(Math.abs(Math.sqrt(se / n) - s.bestValRmse) < 1e-3, `${Math.sqrt(se / n)} vs ${s.bestValRmse}`);
    // train.fitOffsets (default): offsets for both TTA modes in model.json, and the validation RMSE
    // `evaluate --split val` gives (flip-averaged, offsets off) in summary.json.
    const K2 = data.train.keypoints.length * 2;
    assert.equal(run.meta.offsets?.flip.length, K2);
    assert.equal(run.meta.offsets?.none.length, K2);
    assert.equal(run.meta.offsets?.faces, Math.min(512, data.train.count));
    const fromRun = await evaluateModel(run, data.val);
    assert.ok(Math.abs(fromRun.rmse - summary.finalValRmse) < 1e-4, `${fromRun.rmse} vs ${summary.finalValRmse}`);
    run.model.dispose();

    // A second train into the same folder refuses instead of overwriting it.
    await assert.rejects(train({ config: smallConfig(), runDir: dir, data }), UserError);
  });

  it('loadRun names a folder without a model clearly', async () => {
    const dir = runDir('empty');
    await mkdir(dir, { recursive: true });
    await assert.rejects(loadRun(dir), (e: Error) => e instanceof UserError && /no model\.json/.test(e.message));
    await assert.rejects(loadRun(path.join(dir, 'nope')), (e: Error) => e instanceof UserError && /no such run folder/.test(e.message));
  });

  it('resume after a stop (mid-epoch) equals an uninterrupted run', async () => {
    const data = smallData();
    const cfg = smallConfig();
    const a = runDir('full'), b = runDir('resumed');
    const full = await train({ config: cfg, runDir: a, data });

    // The trainer looks at `aborted` once before every batch: this signal fires before step 13 of 32
    // (epoch 2, batch 5 of 8), deterministically.
    let checks = 0;
    const signal = { get aborted() { return ++checks > 12; } } as unknown as AbortSignal;
    const stopped = await train({ config: cfg, runDir: b, data, signal });
    assert.equal(stopped.reason, 'stopped');
    const ck = await loadCheckpoint(b);
    assert.equal(ck.state.epoch, 1);
    assert.equal(ck.state.batch, 4, 'checkpoint taken mid-epoch');
    assert.equal(ck.state.step, 12);

    const resumed = await train({ runDir: b, data, resume: true });
    assert.equal(resumed.reason, 'completed');
    const wa = await lastWeights(a);
    const wb = await lastWeights(b);
    assert.ok(maxAbsDiff(wa, wb) < 1e-5, `weights differ by ${maxAbsDiff(wa, wb)}`);
    const ma = await readMetrics(a), mb = await readMetrics(b);
    assert.equal(mb.length, 4);
    for (let i = 0; i < 4; i++) {
      assert.ok(Math.abs(ma[i]!.valLoss - mb[i]!.valLoss) < 1e-6);
      assert.ok(Math.abs(ma[i]!.trainLoss - mb[i]!.trainLoss) < 1e-5);
    }
    assert.equal(resumed.bestEpoch, full.bestEpoch);
  });

  it('a version 2 checkpoint (run folders from before RunState) still resumes exactly', async () => {
    const data = smallData();
    const cfg = smallConfig();
    const a = runDir('full-v2'), b = runDir('old-v2');
    await train({ config: cfg, runDir: a, data });
    let checks = 0;
    const signal = { get aborted() { return ++checks > 12; } } as unknown as AbortSignal;
    await train({ config: cfg, runDir: b, data, signal });
    // Rewrite state.json as version 2 wrote it: no planFixed, version 2.
    const file = path.join(b, 'checkpoint', 'state.json');
    const state = JSON.parse(await readFile(file, 'utf8'));
    delete state.planFixed;
    state.version = 2;
    await writeFile(file, JSON.stringify(state));
    const resumed = await train({ runDir: b, data, resume: true });
    assert.equal(resumed.reason, 'completed');
    const wa = await lastWeights(a);
    const wb = await lastWeights(b);
    assert.ok(maxAbsDiff(wa, wb) < 1e-5, `weights differ by ${maxAbsDiff(wa, wb)}`);
    assert.equal((await loadCheckpoint(b)).state.version, 4);
  });

  it('resume from an epoch boundary (2 epochs, then on to 4) equals an uninterrupted run', async () => {
    const data = smallData(120, 8);
    const cfg = smallConfig({}, { optimizer: 'momentum' }); // optimizer state (velocities) must survive too
    const a = runDir('full'), b = runDir('boundary');
    await train({ config: cfg, runDir: a, data });
    const ac = new AbortController();
    await train({ config: cfg, runDir: b, data, signal: ac.signal, onEvent: (e) => e.type === 'epochEnd' && e.epoch === 2 && ac.abort() });
    assert.equal((await loadCheckpoint(b)).state.epoch, 2);
    assert.equal((await loadCheckpoint(b)).state.batch, 0);
    await train({ runDir: b, data, resume: true });
    const wa = floats(await readFile(path.join(a, 'weights.bin')));
    const wb = floats(await readFile(path.join(b, 'weights.bin')));
    assert.ok(maxAbsDiff(wa, wb) < 1e-5);
  });

  it('train.ema: the saved model is the weight average, and a resume carries the average on exactly', async () => {
    const data = smallData(120, 8);
    const cfg = smallConfig({}, { ema: 0.9, epochs: 3, patience: 0 });
    const a = runDir('ema-full'), b = runDir('ema-resumed');
    await train({ config: cfg, runDir: a, data });
    assert.ok((await loadCheckpoint(a)).ema, 'a finished run keeps the average');
    const ac = new AbortController();
    await train({ config: cfg, runDir: b, data, signal: ac.signal, onEvent: (e) => e.type === 'epochEnd' && e.epoch === 1 && ac.abort() });
    // A stopped run's checkpoint (a finished one keeps only its best weights): the best weights
    // (model.json's) are the average of their epoch, not the trained weights.
    const ck = await loadCheckpoint(b);
    const flat = (ws: Float32Array[]) => Float32Array.from(ws.flatMap((w) => [...w]));
    assert.ok(ck.ema && ck.ema.length === ck.weights.length, 'the checkpoint holds the average');
    assert.ok(maxAbsDiff(flat(ck.best), flat(ck.weights)) > 1e-4);
    assert.ok(maxAbsDiff(flat(ck.best), flat(ck.ema)) < 1e-6, 'epoch 1 is the best so far: its average');
    await train({ runDir: b, data, resume: true });
    assert.ok(maxAbsDiff(floats(await readFile(path.join(a, 'weights.bin'))), floats(await readFile(path.join(b, 'weights.bin')))) < 1e-5);
    // The average is stored once: a finished run's may be its weights.bin, so read it through the checkpoint.
    assert.ok(maxAbsDiff(flat((await loadCheckpoint(a)).ema!), flat((await loadCheckpoint(b)).ema!)) < 1e-5);
  });

  it('early stopping ends after `patience` epochs without improvement and keeps the best weights', async () => {
    const data = smallData();
    const dir = runDir('early');
    // minDelta so large that nothing after epoch 1 counts as an improvement.
    const s = await train({ config: smallConfig({}, { epochs: 10, patience: 2, minDelta: 10 }), runDir: dir, data });
    assert.equal(s.reason, 'early-stopped');
    assert.equal(s.bestEpoch, 1);
    assert.equal(s.epochsRun, 3);
    const metrics = await readMetrics(dir);
    assert.notEqual(metrics[2]!.valLoss, metrics[0]!.valLoss);
    const run = await loadRun(dir);
    assert.equal(run.meta.epoch, 1);
    const ck = await loadCheckpoint(dir);
    // model.json holds the best (epoch 1) weights, the same as the checkpoint's best, not the last epoch's:
    // it scores epoch 1's validation RMSE.
    const saved = run.model.getWeights().map((w) => w.dataSync() as Float32Array);
    let o = 0;
    const best = ck.best.flatMap((a) => Array.from(a));
    let dBest = 0;
    for (const w of saved) for (const v of w) dBest = Math.max(dBest, Math.abs(v - best[o++]!));
    assert.equal(dBest, 0);
    const px = predictBatch(run.model, data.val.pixels, data.val.count, 32);
    let se = 0, n = 0;
    for (let i = 0; i < px.length; i++) if (!Number.isNaN(data.val.coords[i]!)) (se += (px[i]! - data.val.coords[i]!) ** 2), n++;
    assert.ok(Math.abs(Math.sqrt(se / n) - metrics[0]!.valRmse) < 1e-3, `${Math.sqrt(se / n)} vs epoch 1's ${metrics[0]!.valRmse}`);
    assert.ok(Math.abs(metrics[2]!.valRmse - metrics[0]!.valRmse) > 1e-3);
    run.model.dispose();
  });

  it('detects divergence (absurd learning rate), stops and keeps the best weights', async () => {
    const data = smallData();
    const dir = runDir('diverge');
    const cfg = smallConfig({}, { epochs: 1, optimizer: 'sgd', learningRate: 0.01, clipNorm: undefined });
    await train({ config: cfg, runDir: dir, data });
    const before = await readFile(path.join(dir, 'weights.bin'));
    // The user raises the rate absurdly and resumes for more epochs.
    const saved = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
    saved.train = { ...saved.train, epochs: 5, learningRate: 1e4, schedule: { ...saved.train.schedule, warmupEpochs: 0 } };
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(saved));
    const logs: string[] = [];
    const s = await train({ runDir: dir, data, resume: true, onEvent: (e) => e.type === 'log' && logs.push(e.message) });
    assert.equal(s.reason, 'diverged');
    assert.equal(s.bestEpoch, 1);
    assert.ok(logs.some((l) => /diverged/.test(l)), logs.join('\n'));
    assert.deepEqual(await readFile(path.join(dir, 'weights.bin')), before, 'best weights kept');
    const ck = await loadCheckpoint(dir);
    assert.equal(ck.state.epoch, 1, 'the diverged epoch is not checkpointed');
    assert.ok(ck.weights.every((w) => w.every(Number.isFinite)));
  });

  /** A clock that advances `tick` seconds every time the trainer reads it: time limits without timing anything. */
  const fakeClock = (tick: number) => {
    let t = 0;
    return () => (t += tick);
  };

  it('honours a time limit (fake clock): plans once after the first epoch, then finishes the planned epochs inside the budget', async () => {
    const data = smallData(200, 4);
    const dir = runDir('time');
    const limitMinutes = 0.05; // 3 s, 1 s of it kept for the final writes
    const logs: string[] = [];
    const epochsSeen: number[] = [];
    const s = await train({
      config: smallConfig({}, { epochs: 1000, timeLimitMinutes: limitMinutes, schedule: { type: 'cosine', warmupEpochs: 1 } }),
      runDir: dir,
      data,
      clock: fakeClock(0.02),
      onEvent: (e) => (e.type === 'log' && logs.push(e.message), e.type === 'epochEnd' && epochsSeen.push(e.epochs)),
    });
    assert.equal(s.reason, 'time-limit');
    assert.ok(s.seconds <= limitMinutes * 60, `ran ${s.seconds} s`);
    assert.ok(s.plannedEpochs >= 1 && s.plannedEpochs < 1000, `planned ${s.plannedEpochs}`);
    assert.equal(s.epochsRun, s.plannedEpochs, 'the planned epochs fit, so all of them ran');
    assert.equal(logs.filter((l) => /planning \d+ epochs?\b/.test(l)).length, 1, 'planned exactly once');
    // The plan is fitted at the top of epoch 2, from epoch 1's whole cycle (its checkpoint included).
    assert.deepEqual(epochsSeen[0], 1000);
    for (const e of epochsSeen.slice(1)) assert.equal(e, s.plannedEpochs, 'the plan never moved after it was fixed');
    const ck = await loadCheckpoint(dir);
    assert.equal(ck.state.plannedEpochs, s.plannedEpochs);
    assert.equal(ck.state.planFixed, true);
    assert.ok(existsSync(path.join(dir, 'model.json')));
  });

  it('a time limit without --epochs plans the epochs that fill it (fake clock): "auto", finished inside the budget, a few percent short at most', async () => {
    const data = smallData(160, 4);
    const limitMinutes = 1;
    const logs: string[] = [];
    const starts: number[] = [];
    const config = smallConfig({}, { epochs: undefined, batchSize: 32, timeLimitMinutes: limitMinutes, schedule: { type: 'cosine', warmupEpochs: 0.5 } });
    assert.equal(config.train.epochs, 'auto');
    // Every epoch costs 1.3 s on this clock (steps, validation and checkpoint together): a steady machine.
    let t = 0;
    const onEvent = (e: TrainingEvent) => {
      if (e.type === 'log') logs.push(e.message);
      if (e.type === 'start') starts.push(e.epochs);
      if (e.type === 'batchEnd' && e.batch === e.batches) t += 1.3;
    };
    const s = await train({ config, runDir: runDir('auto'), data, clock: () => t, onEvent });
    assert.deepEqual(starts, [0], 'not planned at the start');
    assert.equal(s.reason, 'completed', 'it finished the plan it made');
    assert.equal(s.epochsRun, s.plannedEpochs);
    assert.ok(s.plannedEpochs > 4, `planned ${s.plannedEpochs} (more than the preset's epochs)`);
    assert.ok(s.seconds <= limitMinutes * 60 && s.seconds >= 0.92 * limitMinutes * 60, `used ${s.seconds.toFixed(1)} of ${limitMinutes * 60} s`);
    assert.ok(logs.some((l) => /planned after the first full epoch/.test(l)), logs.join('\n'));
    assert.ok(logs.some((l) => new RegExp(`planning ${s.plannedEpochs} epochs .*cosine .* at epoch ${s.plannedEpochs}; expected to finish at \\d+:\\d\\d of the 1:00 budget`).test(l)), logs.join('\n'));
  });

  it('a run planned to its time limit does not stop early: it anneals to the end of its plan (fake clock)', async () => {
    const logs: string[] = [];
    let t = 0;
    const onEvent = (e: TrainingEvent) => {
      if (e.type === 'log') logs.push(e.message);
      if (e.type === 'batchEnd' && e.batch === e.batches) t += 1.3;
    };
    // patience 1 would stop this run at its first epoch without a new best.
    const config = smallConfig({}, { epochs: undefined, patience: 1, batchSize: 32, timeLimitMinutes: 0.5, schedule: { type: 'cosine', warmupEpochs: 0.5 } });
    const s = await train({ config, runDir: runDir('auto-patience'), data: smallData(160, 4), clock: () => t, onEvent });
    assert.equal(s.reason, 'completed');
    assert.equal(s.epochsRun, s.plannedEpochs);
    assert.ok(logs.some((l) => /^early stopping is off: the epochs are planned to the time limit/.test(l)), logs.join('\n'));
    const ms = await readMetrics(s.runDir);
    assert.ok(ms.some((m, i) => i > 0 && !m.best), 'some epoch brought no new best (else patience was never tested)');
  });

  it('--epochs with a time limit that holds them runs exactly those epochs (fake clock)', async () => {
    const s = await train({ config: smallConfig({}, { epochs: 3, timeLimitMinutes: 5 }), runDir: runDir('exact'), data: smallData(160, 4), clock: fakeClock(0.02) });
    assert.equal(s.reason, 'completed');
    assert.equal(s.epochsRun, 3);
    assert.equal(s.plannedEpochs, 3);
  });

  it('a time limit that ends inside the first epoch cuts it with a checkpoint (fake clock)', async () => {
    const data = smallData(200, 4);
    const dir = runDir('cut');
    const s = await train({ config: smallConfig({}, { epochs: 5, timeLimitMinutes: 0.02 }), runDir: dir, data, clock: fakeClock(0.02) });
    assert.equal(s.reason, 'time-limit');
    assert.equal(s.epochsRun, 0);
    const ck = await loadCheckpoint(dir);
    assert.ok(ck.state.batch! > 0 && ck.state.batch! < 10, `cut at batch ${ck.state.batch}`);
  });

  it('sgd and momentum (with their defaults) converge well below the mean-position baseline', async () => {
    const data = smallData(320, 11);
    const baseline = meanBaselineRmse(data.train, data.val);
    for (const optimizer of ['sgd', 'momentum'] as const) {
      const cfg = resolveConfig({
        preset: 'tiny',
        backend: 'wasm',
        seed: 2,
        model: { conv: [{ filters: 8, kernel: 3, batchNorm: true }, { filters: 16, kernel: 3, batchNorm: true }, { filters: 32, kernel: 3, batchNorm: true }], dense: [64], dropout: 0.1 },
        train: { optimizer, epochs: 8, batchSize: 16 },
      });
      const s = await train({ config: cfg, runDir: runDir(optimizer), data });
      assert.equal(s.reason, 'completed', optimizer);
      assert.ok(s.bestValRmse < 0.85 * baseline, `${optimizer}: ${s.bestValRmse.toFixed(3)} px vs baseline ${baseline.toFixed(3)} px`);
    }
  });

  it('throws (and emits no error event: the shell reports it, once) and keeps the folder when a resume has nothing to resume', async () => {
    const dir = runDir('noresume');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'notes.txt'), 'mine');
    const events: TrainingEvent[] = [];
    await assert.rejects(train({ runDir: dir, resume: true, onEvent: (e) => events.push(e) }), UserError);
    assert.deepEqual(events.filter((e) => e.type === 'error'), []);
    assert.equal(await readFile(path.join(dir, 'notes.txt'), 'utf8'), 'mine');
  });
});

describe('checkpoints are atomic', () => {
  const ck = (v: number): Checkpoint => ({
    state: { version: 2, epoch: v, step: v * 10, plannedEpochs: 5, elapsedSeconds: 1, bestValLoss: 0.5, bestEpoch: v, sinceBest: 0, shapes: { weights: [[3]], best: [[3]], optimizer: [[3]] }, optimizer: 'adam', optimizerStep: v * 10, batch: 0 },
    weights: [new Float32Array([v, v, v])],
    best: [new Float32Array([v, v, v])],
    optimizer: [new Float32Array([v, v, v])],
  });

  it('a write that fails half way leaves the previous checkpoint intact', async () => {
    const dir = runDir('atomic');
    await mkdir(dir, { recursive: true });
    await saveCheckpoint(dir, ck(1));
    const bad = ck(2);
    (bad.state as unknown as { poison: bigint }).poison = 1n; // JSON.stringify throws after the .bin files were written
    await assert.rejects(saveCheckpoint(dir, bad));
    const back = await loadCheckpoint(dir);
    assert.equal(back.state.epoch, 1);
    assert.deepEqual(Array.from(back.weights[0]!), [1, 1, 1]);
    // The half-written temp folder is never taken for the checkpoint.
    const leftovers = (await readdir(dir)).filter((f) => f.startsWith('checkpoint.tmp'));
    assert.ok(leftovers.length <= 1);
    await saveCheckpoint(dir, ck(3));
    assert.equal((await loadCheckpoint(dir)).state.epoch, 3);
  });

  it('a crash between the two renames still finds the previous checkpoint', async () => {
    const dir = runDir('swap');
    await mkdir(dir, { recursive: true });
    await saveCheckpoint(dir, ck(4));
    const { rename } = await import('node:fs/promises');
    await rename(path.join(dir, 'checkpoint'), path.join(dir, 'checkpoint.old')); // as if cut right after the first rename
    assert.equal((await loadCheckpoint(dir)).state.epoch, 4);
  });

  it('a checkpoint taken before the first validation (bestValLoss = Infinity) round-trips', async () => {
    const dir = runDir('inf');
    await mkdir(dir, { recursive: true });
    const c = ck(0);
    c.state.bestValLoss = Infinity;
    await saveCheckpoint(dir, c);
    assert.equal((await loadCheckpoint(dir)).state.bestValLoss, Infinity);
  });
});

const FACES96 = '/work/shared/data/faces96/train.csv.gz';
const faces96 = process.env.KEYPOINTS_FACES96 ?? path.resolve(import.meta.dirname, '../../../../shared/data/faces96/train.csv.gz');
const realData = [faces96, FACES96].find((f) => existsSync(f));

describe('real data', { skip: realData ? false : 'faces96 not present' }, () => {
  it('a short default-preset training on faces96 beats the mean-position baseline', async () => {
    const config = resolveConfig({ preset: 'default', backend: 'wasm', data: { path: realData, validation: 0.1, limit: 1200 }, train: { epochs: 6, timeLimitMinutes: 1.5 } });
    const data = await loadTrainingData(config);
    const baseline = meanBaselineRmse(data.train, data.val);
    const s = await train({ config, runDir: runDir('faces96'), data });
    assert.ok(s.bestValRmse < baseline, `${s.bestValRmse.toFixed(3)} px vs mean baseline ${baseline.toFixed(3)} px`);
  });
});
