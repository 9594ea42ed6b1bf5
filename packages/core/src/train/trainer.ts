import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/index.js';
import type { KeypointsConfig } from '../config/schema.js';
import { resolveConfig } from '../config/resolve.js';
import { dropIncomplete, splitIndices, subset } from '../data/split.js';
import { makeBatch, toNormalized } from '../data/batch.js';
import { readFaceSet } from '../data/read.js';
import { flipPermutation } from '../data/schema.js';
import { syntheticFaceSet } from '../data/synthetic.js';
import type { FaceSet } from '../data/types.js';
import { InputError, UserError } from '../errors.js';
import { buildModel, forwardInfer, forwardTrain, modelFlops, regularisedWeights } from '../model/index.js';
import { writeCurves } from '../report/curves.js';
import { writeFileAtomic } from '../util/atomic.js';
import { createRng, deriveSeed } from '../util/random.js';
import type { EpochMetrics, TrainingEvent, TrainingEventMap, TrainingListener } from './events.js';
import { maskedMse } from './loss.js';
import { addL2 } from '../backend/ops/weight-decay.js';
import { gpuBatchConfig } from './gpu-batch.js';
import { addL2OnDevice, clipByGlobalNormOnDevice, keepsLossOnDevice, LossWindow } from './device-step.js';
import { createOptimizer } from './optimizers.js';
import { loadCheckpoint, readMetrics, saveCheckpoint, saveModel } from './run-folder.js';
import type { CheckpointState } from './run-folder.js';
import { learningRateAt } from './schedule.js';

export interface TrainOptions {
  config: KeypointsConfig;
  runDir: string;
  /** Continue the run in runDir from its checkpoint (its saved config is used). */
  resume?: boolean;
  signal?: AbortSignal;
  onEvent?: TrainingListener;
  /** Already loaded and split data (tests, the server); otherwise config.data decides. */
  data?: { train: FaceSet; val: FaceSet };
}

export type TrainSummary = TrainingEventMap['done'] & {
  backend: string;
  trainCount: number;
  valCount: number;
  imagesPerSecond: number;
  preset: string;
  /** Epochs the run planned at its end (fitted to the time limit). */
  plannedEpochs: number;
};

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Loads and splits the data a config names: split first, so every preset is scored on the same validation rows. */
export async function loadTrainingData(config: KeypointsConfig, onLog?: (msg: string) => void): Promise<{ train: FaceSet; val: FaceSet; all: FaceSet }> {
  const read = config.data.path ? await readFaceSet(config.data.path) : syntheticFaceSet({ count: config.data.syntheticCount, seed: config.seed });
  const { all, val, train: split } = splitForTraining(read, config);
  let train = split;
  if (config.data.missing === 'drop') {
    const before = train.count;
    train = dropIncomplete(train);
    onLog?.(`missing: drop — training on ${train.count} of ${before} rows (complete labels only)`);
  }
  if (train.count === 0) throw new UserError(`${all.source}: no rows left to train on after the validation split (${all.count} rows, validation ${config.data.validation})`);
  return { train, val, all };
}

/**
 * The training and validation rows a config takes from a whole set (data.limit, then the seeded
 * split), before missing: drop. `keypoints evaluate --split` uses it to score the same rows.
 */
export function splitForTraining(set: FaceSet, config: Pick<KeypointsConfig, 'seed' | 'data'>): { train: FaceSet; val: FaceSet; all: FaceSet } {
  let all = set;
  if (config.data.limit && config.data.limit < all.count) {
    const order = createRng(deriveSeed(config.seed, 7)).shuffle(Int32Array.from({ length: all.count }, (_, i) => i));
    all = subset(all, order.slice(0, config.data.limit).sort());
  }
  const split = splitIndices(all.count, config.data.validation, config.seed);
  return { train: subset(all, split.train), val: subset(all, split.val), all };
}

/** Seconds kept free before a time limit for the final writes (model, curves, summary). */
const reserveSeconds = (limit: number): number => Math.min(15, Math.max(1, 0.02 * limit));

function errorCode(err: unknown): string {
  if (err instanceof InputError) return 'input';
  if (err instanceof UserError) return 'user';
  return 'internal';
}

/**
 * Trains a model as the config says and writes the run folder: config.json, model.json +
 * weights.bin (best weights so far, rewritten on every improvement), checkpoint/ (every epoch and
 * on stop or time limit, atomically), metrics.jsonl, curves.html/png and summary.json.
 * Never deletes what is already in the folder; an error is emitted as an `error` event and rethrown.
 */
export async function train(opts: TrainOptions): Promise<TrainSummary> {
  try {
    return await runTraining(opts);
  } catch (err) {
    opts.onEvent?.({ type: 'error', message: (err as Error).message ?? String(err), code: errorCode(err) });
    throw err;
  }
}

async function runTraining(opts: TrainOptions): Promise<TrainSummary> {
  const runDir = path.resolve(opts.runDir);
  const emit = <K extends TrainingEvent['type']>(type: K, payload: TrainingEventMap[K]) => opts.onEvent?.({ type, ...payload } as TrainingEvent);
  const log = (message: string, level: 'info' | 'warn' = 'info') => emit('log', { level, message });

  let config = opts.config;
  if (opts.resume) {
    const file = path.join(runDir, 'config.json');
    if (!(await exists(file))) throw new UserError(`${runDir}: not a run folder (no config.json to resume from)`);
    let saved: unknown;
    try {
      saved = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new InputError({ file }, `not valid JSON (${(err as Error).message})`);
    }
    config = resolveConfig(saved, file);
  } else if ((await exists(path.join(runDir, 'model.json'))) || (await exists(path.join(runDir, 'checkpoint')))) {
    throw new UserError(`${runDir} already holds a run; resume it with --resume ${opts.runDir}, or choose another --out`);
  }
  await mkdir(runDir, { recursive: true });

  const backend = await initBackend(config.backend);
  if (!opts.resume) {
    // GPU backends train with a larger batch (train/gpu-batch.ts); the saved config.json holds it, so resume matches.
    const g = gpuBatchConfig(config, backend);
    config = g.config;
    if (g.note) log(g.note);
  }
  const { train: trainSet, val: valSet } = opts.data ?? (await loadTrainingData(config, (m) => log(m)));
  if (trainSet.width !== trainSet.height) throw new UserError(`${trainSet.source}: images are ${trainSet.width}×${trainSet.height}; the network takes square images`);
  const S = trainSet.width, K = trainSet.keypoints.length;
  if (valSet.count === 0) log('no validation rows: early stopping and best-epoch selection use the training loss', 'warn');
  if (!opts.resume) await writeFileAtomic(path.join(runDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');

  const tc = config.train;
  // A new run starts predicting the mean face (resume overwrites every weight anyway).
  const model = buildModel(config.model, { imageSize: S, outputs: 2 * K, seed: config.seed, outputBias: opts.resume ? undefined : meanNormalisedCoords(trainSet), keypoints: trainSet.keypoints });
  const flops = modelFlops(config.model, S, 2 * K);
  const frozen = (name: string) => tc.freezeLayers.some((p) => name.startsWith(p));
  const allVars = model.layers.filter((l) => !frozen(l.name)).flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable));
  if (tc.freezeLayers.length) log(`fixed for the whole run: ${model.layers.filter((l) => frozen(l.name) && l.trainableWeights.length).map((l) => l.name).join(', ') || `nothing (no layer matches ${tc.freezeLayers.join(', ')})`}`);
  const stepsPerEpoch = Math.ceil(trainSet.count / tc.batchSize);
  // train.freezeEpochs: the first steps train the output layer alone (no backward pass through the
  // rest), with an optimizer of its own; then every layer with a fresh optimizer (Adam's moments
  // restart with its bias correction instead of meeting the backbone at an old step count).
  const freezeSteps = Math.round(tc.freezeEpochs * stepsPerEpoch);
  const headVars = model.getLayer('output').trainableWeights.map((w) => w.read() as tf.Variable);
  const varsAt = (step: number) => (step < freezeSteps ? headVars : allVars);
  let vars = varsAt(0);
  let optimizer = createOptimizer(tc.optimizer, vars, { momentum: tc.momentum });
  const perm = flipPermutation(trainSet.keypoints);
  const l2 = regularisedWeights(model);
  // Training: batch norm on batch statistics, dropout with a per-step seed (exact resume); else inference mode.
  const forward = (x: tf.Tensor, training: boolean, seed = 0): tf.Tensor => (training ? forwardTrain(model, x, seed) : forwardInfer(model, x));

  let state: CheckpointState = {
    version: 2,
    epoch: 0,
    step: 0,
    plannedEpochs: tc.epochs,
    elapsedSeconds: 0,
    bestValLoss: Infinity,
    bestEpoch: 0,
    sinceBest: 0,
    shapes: { weights: [], best: [], optimizer: [] },
    optimizer: tc.optimizer,
    optimizerStep: 0,
    batch: 0,
  };
  let best: Float32Array[] | undefined;
  let metrics: EpochMetrics[] = [];
  // Asynchronous reads: webgpu has no synchronous one in Node.
  const readAll = (ts: tf.Tensor[]) => Promise.all(ts.map(async (t) => (await t.data()).slice() as Float32Array));
  const setAll = (target: tf.Tensor[], values: Float32Array[]) => target.forEach((t, i) => (t as tf.Variable).assign(tf.tensor(values[i]!, t.shape)));

  if (opts.resume) {
    const ck = await loadCheckpoint(runDir);
    if (varsAt(ck.state.step) !== vars) {
      optimizer.dispose();
      vars = varsAt(ck.state.step);
      optimizer = createOptimizer(tc.optimizer, vars, { momentum: tc.momentum });
    }
    if (ck.state.optimizer !== tc.optimizer) throw new InputError({ file: path.join(runDir, 'checkpoint', 'state.json'), field: 'optimizer' }, `is ${ck.state.optimizer} but config.json says ${tc.optimizer}`);
    const shapes = model.getWeights().map((w) => w.shape.join('×')).join(',');
    if (ck.state.shapes.weights.map((s) => s.join('×')).join(',') !== shapes) {
      throw new InputError({ file: path.join(runDir, 'checkpoint', 'weights.bin') }, 'does not fit the network config.json describes (weight shapes differ)');
    }
    state = { ...ck.state, version: 2 };
    // config.json may have been edited to train longer: without a time limit the configured epochs
    // count; with one, the checkpoint's fitted plan (exact resume), never above the configured epochs.
    state.plannedEpochs = tc.timeLimitMinutes ? Math.min(state.plannedEpochs, tc.epochs) : tc.epochs;
    tf.tidy(() => {
      model.setWeights(ck.weights.map((w, i) => tf.tensor(w, ck.state.shapes.weights[i])));
      setAll(optimizer.state(), ck.optimizer);
    });
    optimizer.step = state.optimizerStep;
    best = ck.best.length ? ck.best : undefined;
    metrics = (await readMetrics(runDir)).filter((m) => m.epoch <= state.epoch);
    log(`resuming ${runDir} after epoch ${state.epoch}${state.batch ? ` and ${state.batch} of ${stepsPerEpoch} batches of epoch ${state.epoch + 1}` : ''} (step ${state.step})`);
  }

  emit('start', {
    runDir,
    backend: backend.name,
    backendNote: backend.note,
    dataSource: trainSet.source,
    synthetic: trainSet.source === 'synthetic',
    trainCount: trainSet.count,
    valCount: valSet.count,
    keypoints: [...trainSet.keypoints],
    epochs: state.plannedEpochs,
    stepsPerEpoch,
    startEpoch: state.epoch + 1,
    parameters: model.countParams(),
    flopsPerImage: flops,
  });

  if (freezeSteps > state.step) log(`training the output layer alone for ${freezeSteps - state.step} steps (train.freezeEpochs ${tc.freezeEpochs}), then every layer`);
  const startTime = performance.now();
  const priorSeconds = state.elapsedSeconds; // time spent before a resume
  const elapsed = () => priorSeconds + (performance.now() - startTime) / 1000;
  const limitSeconds = tc.timeLimitMinutes ? tc.timeLimitMinutes * 60 : Infinity;
  const deadline = limitSeconds - reserveSeconds(limitSeconds);
  const valBatch = Math.max(64, tc.batchSize);
  // With a frozen start the head trains at the base rate, and the schedule (warm-up included) starts
  // over when every layer trains; still a pure function of the step.
  const lrAt = (step: number) =>
    step < freezeSteps
      ? tc.learningRate
      : learningRateAt(step - freezeSteps, { base: tc.learningRate, schedule: tc.schedule, stepsPerEpoch, totalSteps: state.plannedEpochs * stepsPerEpoch - freezeSteps });

  const evaluate = async (): Promise<{ loss: number; rmse: number }> => {
    if (valSet.count === 0) return { loss: NaN, rmse: NaN };
    let se = 0, n = 0;
    for (let s = 0; s < valSet.count; s += valBatch) {
      const idx = Array.from({ length: Math.min(valBatch, valSet.count - s) }, (_, i) => s + i);
      const b = makeBatch(valSet, idx);
      const [e, c] = tf.tidy(() => {
        const pred = forward(tf.tensor4d(b.x, [b.size, S, S, 1]), false);
        const m = tf.tensor2d(b.mask, [b.size, 2 * K]);
        return [tf.sum(tf.mul(tf.squaredDifference(pred, tf.tensor2d(b.y, [b.size, 2 * K])), m)), tf.sum(m)];
      });
      se += (await e!.data())[0]!;
      n += (await c!.data())[0]!;
      e!.dispose();
      c!.dispose();
    }
    const loss = n ? se / n : NaN;
    // Coordinates are normalised by half the image size, so the RMSE in pixels is sqrt(MSE)·S/2.
    return { loss, rmse: Math.sqrt(loss) * (S / 2) };
  };

  const saveAll = async (): Promise<void> => {
    const weights = await readAll(model.getWeights());
    const opt = await readAll(optimizer.state());
    state.optimizerStep = optimizer.step;
    state.shapes = { weights: model.getWeights().map((w) => w.shape), best: best ? model.getWeights().map((w) => w.shape) : [], optimizer: optimizer.state().map((w) => w.shape) };
    state.elapsedSeconds = elapsed();
    await saveCheckpoint(runDir, { state: { ...state }, weights, best: best ?? [], optimizer: opt });
    await writeFileAtomic(path.join(runDir, 'metrics.jsonl'), metrics.map((m) => JSON.stringify(m)).join('\n') + (metrics.length ? '\n' : ''));
  };

  /**
   * Under a time limit, plans as many epochs as fit (never more than configured) from the recent
   * epochs' wall time, so the cosine schedule ends with the budget. Re-fitted every epoch: the
   * first epoch carries one-off costs and the machine's load may change.
   */
  const epochEnds: number[] = [elapsed()];
  // Head-only steps (train.freezeEpochs) are several times faster than full ones: once an epoch
  // after the unfreeze has ended, only such epochs are timed.
  let fitFrom = 0;
  const fitToBudget = (): void => {
    if (!Number.isFinite(limitSeconds)) return;
    let ends = epochEnds.slice(fitFrom).slice(-4);
    if (ends.length < 2) ends = epochEnds.slice(-4);
    const perEpoch = (ends[ends.length - 1]! - ends[0]!) / (ends.length - 1);
    const fit = state.epoch + Math.max(0, Math.floor((deadline - elapsed()) / (perEpoch * 1.03)));
    const planned = Math.max(state.epoch, Math.min(tc.epochs, fit));
    if (planned !== state.plannedEpochs) {
      log(`time limit ${tc.timeLimitMinutes} min: planning ${planned} epochs (${perEpoch.toFixed(1)} s each)`);
      state.plannedEpochs = planned;
    }
  };

  // The learning-curve picture is a convenience: failing to draw it must not end a run.
  const curves = async (): Promise<void> => {
    try {
      await writeCurves(runDir, metrics);
    } catch (err) {
      log(`could not write the learning curves (${(err as Error).message}); metrics.jsonl has the figures`, 'warn');
    }
  };

  let reason: TrainSummary['reason'] = 'completed';
  let emaLoss = state.emaLoss ?? NaN, minEma = state.minEma ?? Infinity;
  let lastBatchEvent = 0, lastCurves = 0;
  let imagesSeen = 0, trainSeconds = 0;
  // webgpu: losses summed on the device and read about four times an epoch (train/device-step.ts).
  const lossWindow = keepsLossOnDevice() ? new LossWindow(Math.max(1, Math.ceil(stepsPerEpoch / 4))) : undefined;

  try {
    epochs: while (state.epoch < state.plannedEpochs) {
      const epoch = state.epoch + 1;
      const epochStart = performance.now();
      const order = createRng(deriveSeed(config.seed, epoch, 1)).shuffle(Int32Array.from({ length: trainSet.count }, (_, i) => i));
      const augRng = createRng(deriveSeed(config.seed, epoch, 2));
      // A checkpoint taken mid-epoch continues at its batch with the same RNG state and totals.
      const first = state.batch ?? 0;
      if (first > 0 && state.augRng) augRng.setState(state.augRng);
      let lossSum = first > 0 ? (state.epochLossSum ?? 0) : 0;
      let epochImages = first > 0 ? (state.epochImages ?? 0) : 0;
      const priorEpochSeconds = first > 0 ? (state.epochSeconds ?? 0) : 0;
      const epochSeconds = () => priorEpochSeconds + (performance.now() - epochStart) / 1000;
      const cutEpoch = async (b: number, why: string): Promise<void> => {
        const pending = await lossWindow?.take(true);
        if (pending) lossSum += pending.mean * pending.steps;
        Object.assign(state, { batch: b, augRng: augRng.getState(), epochLossSum: lossSum, epochImages, epochSeconds: epochSeconds(), emaLoss: Number.isNaN(emaLoss) ? null : emaLoss, minEma: Number.isFinite(minEma) ? minEma : null });
        trainSeconds += (performance.now() - epochStart) / 1000;
        await saveAll();
        emit('checkpoint', { runDir, epoch: state.epoch, best: false });
        log(`${why}; checkpoint saved at epoch ${epoch}, batch ${b} of ${stepsPerEpoch} (resume continues there); best epoch ${state.bestEpoch || 'none yet'}`);
      };
      for (let b = first; b < stepsPerEpoch; b++) {
        if (opts.signal?.aborted) {
          reason = 'stopped';
          await cutEpoch(b, 'stopped');
          break epochs;
        }
        if (elapsed() >= deadline) {
          reason = 'time-limit';
          await cutEpoch(b, `time limit of ${tc.timeLimitMinutes} min reached`);
          break epochs;
        }
        const idx = order.subarray(b * tc.batchSize, Math.min(trainSet.count, (b + 1) * tc.batchSize));
        const batch = makeBatch(trainSet, idx, { augment: tc.augment, rng: augRng, perm });
        const lr = lrAt(state.step);
        const seed = deriveSeed(config.seed, state.step, 3);
        let lossValue = tf.tidy(() => {
          const x = tf.tensor4d(batch.x, [batch.size, S, S, 1]);
          const y = tf.tensor2d(batch.y, [batch.size, 2 * K]);
          const mask = tf.tensor2d(batch.mask, [batch.size, 2 * K]);
          const { value, grads } = tf.variableGrads(() => maskedMse(forward(x, true, seed), y, mask), vars);
          if (lossWindow) {
            // Device path: the same step with no read-back; a non-finite loss shows in the window's mean.
            const penalty = tf.add(addL2OnDevice(l2.dense, config.model.l2, grads), addL2OnDevice(l2.conv, config.model.l2Conv, grads));
            let g = vars.map((v) => grads[v.name]!);
            if (tc.clipNorm) g = clipByGlobalNormOnDevice(g, tc.clipNorm);
            optimizer.apply(vars, g, lr);
            lossWindow.add(tf.add(value, penalty) as tf.Scalar);
            return NaN;
          }
          // L2 terms off the tape (one SIMD pass each for value and gradient; see backend/ops/weight-decay.ts).
          const penalty = addL2(l2.dense, config.model.l2, grads) + addL2(l2.conv, config.model.l2Conv, grads);
          let g = vars.map((v) => grads[v.name]!);
          if (tc.clipNorm) g = clipByGlobalNorm(g, tc.clipNorm);
          const v = value.dataSync()[0]! + penalty;
          if (Number.isFinite(v)) optimizer.apply(vars, g, lr);
          return v;
        });
        let lossSteps = 1;
        if (lossWindow) {
          const w = await lossWindow.take(b === stepsPerEpoch - 1);
          [lossValue, lossSteps] = w ? [w.mean, w.steps] : [NaN, 0];
        }
        state.step++;
        if (state.step === freezeSteps) {
          // Unfreeze right after the last head-only step, so a checkpoint's optimizer always matches varsAt(step).
          optimizer.dispose();
          vars = varsAt(state.step);
          optimizer = createOptimizer(tc.optimizer, vars, { momentum: tc.momentum });
          log(`unfroze every layer after ${freezeSteps} head-only steps`);
        }
        imagesSeen += batch.size;
        epochImages += batch.size;
        if (lossSteps === 0) {
          await new Promise((r) => setImmediate(r));
          continue; // the loss of this step is still in the device's window
        }
        lossSum += lossValue * lossSteps;
        emaLoss = Number.isNaN(emaLoss) ? lossValue : 0.9 * emaLoss + 0.1 * lossValue;
        minEma = Math.min(minEma, emaLoss); // the smoothed loss only falls early on, so this cannot fire by itself
        if (!Number.isFinite(lossValue) || emaLoss > tc.divergenceFactor * minEma) {
          reason = 'diverged';
          log(
            `training diverged at epoch ${epoch}, step ${state.step} (loss ${lossValue.toPrecision(4)}${Number.isFinite(minEma) ? `, best smoothed ${minEma.toPrecision(4)}` : ''}); stopped, keeping the best weights (epoch ${state.bestEpoch || 'none'}). Try a lower learning rate, more warm-up or clipNorm.`,
            'warn',
          );
          break epochs;
        }
        const now = performance.now();
        if (now - lastBatchEvent > 250 || b === stepsPerEpoch - 1) {
          lastBatchEvent = now;
          const ips = (epochImages - (first > 0 ? (state.epochImages ?? 0) : 0)) / Math.max(1e-6, (now - epochStart) / 1000);
          const remaining = (state.plannedEpochs - epoch) * trainSet.count + (trainSet.count - Math.min(trainSet.count, (b + 1) * tc.batchSize));
          emit('batchEnd', { epoch, batch: b + 1, batches: stepsPerEpoch, loss: lossValue, learningRate: lr, imagesPerSecond: ips, etaSeconds: Math.max(0, Math.min(remaining / ips, limitSeconds - elapsed())) });
        }
        await new Promise((r) => setImmediate(r)); // let a server answer requests, and Ctrl-C land, between batches
      }
      const sessionSeconds = (performance.now() - epochStart) / 1000;
      trainSeconds += sessionSeconds;
      const seconds = epochSeconds();
      const v = await evaluate();
      const trainLoss = lossSum / Math.max(1, stepsPerEpoch);
      const score = valSet.count ? v.loss : trainLoss;
      const improved = score < state.bestValLoss - tc.minDelta;
      Object.assign(state, { epoch, batch: 0, augRng: undefined, epochLossSum: 0, epochImages: 0, epochSeconds: 0, emaLoss: Number.isNaN(emaLoss) ? null : emaLoss, minEma: Number.isFinite(minEma) ? minEma : null });
      if (improved) {
        state.bestValLoss = score;
        state.bestEpoch = epoch;
        state.sinceBest = 0;
        best = await readAll(model.getWeights());
      } else state.sinceBest++;
      const m: EpochMetrics = {
        epoch,
        epochs: state.plannedEpochs,
        trainLoss,
        valLoss: v.loss,
        valRmse: v.rmse,
        learningRate: lrAt(Math.max(0, state.step - 1)),
        seconds,
        imagesPerSecond: epochImages / Math.max(1e-6, seconds),
        elapsedSeconds: elapsed(),
        best: improved,
      };
      metrics.push(m);
      if (improved) await saveModel(model, runDir, { keypoints: [...trainSet.keypoints], imageSize: S, preset: config.preset, epoch, valRmse: v.rmse });
      epochEnds.push(elapsed());
      if (freezeSteps > 0 && state.step >= freezeSteps && state.step - stepsPerEpoch < freezeSteps) fitFrom = epochEnds.length - 1;
      fitToBudget();
      m.epochs = state.plannedEpochs;
      await saveAll();
      emit('epochEnd', m);
      emit('checkpoint', { runDir, epoch, best: improved });
      if (performance.now() - lastCurves > 15000 || state.epoch >= state.plannedEpochs) {
        lastCurves = performance.now();
        await curves();
      }
      if (tc.patience > 0 && state.sinceBest >= tc.patience) {
        reason = 'early-stopped';
        log(`early stopping: no improvement for ${tc.patience} epochs; restoring the best weights (epoch ${state.bestEpoch})`);
        break;
      }
    }
    if (reason === 'completed' && Number.isFinite(limitSeconds) && state.plannedEpochs < tc.epochs) {
      reason = 'time-limit';
      log(`time limit of ${tc.timeLimitMinutes} min: finished the ${state.plannedEpochs} epochs that fit (of ${tc.epochs}); best epoch ${state.bestEpoch}`);
    }
    if (best) tf.tidy(() => model.setWeights(best!.map((w, i) => tf.tensor(w, model.getWeights()[i]!.shape))));
    const bestM = metrics.find((m) => m.epoch === state.bestEpoch);
    if (metrics.length) await curves();
    const summary: TrainSummary = {
      runDir,
      reason,
      bestEpoch: state.bestEpoch,
      bestValLoss: state.bestValLoss,
      bestValRmse: bestM?.valRmse ?? NaN,
      epochsRun: state.epoch,
      seconds: elapsed(),
      backend: backend.name,
      trainCount: trainSet.count,
      valCount: valSet.count,
      imagesPerSecond: trainSeconds ? imagesSeen / trainSeconds : 0,
      preset: config.preset,
      plannedEpochs: state.plannedEpochs,
    };
    await writeFileAtomic(
      path.join(runDir, 'summary.json'),
      JSON.stringify(
        {
          ...summary,
          minutes: summary.seconds / 60,
          trainSeconds: metrics.reduce((s, m) => s + m.seconds, 0),
          backendNote: backend.note,
          keypoints: trainSet.keypoints,
          parameters: model.countParams(),
          flopsPerImage: flops,
          dataSource: trainSet.source,
          hasModel: state.bestEpoch > 0,
        },
        (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
        2,
      ) + '\n',
    );
    emit('done', { runDir, reason, bestEpoch: summary.bestEpoch, bestValLoss: summary.bestValLoss, bestValRmse: summary.bestValRmse, epochsRun: summary.epochsRun, seconds: summary.seconds });
    return summary;
  } finally {
    lossWindow?.dispose();
    optimizer.dispose();
    model.dispose();
  }
}

/** Scales all gradients together so their global L2 norm is at most `maxNorm` (inside a tidy). */
export function clipByGlobalNorm(grads: tf.Tensor[], maxNorm: number): tf.Tensor[] {
  const norm = tf.sqrt(tf.addN(grads.map((t) => tf.sum(tf.square(t))))).dataSync()[0]!;
  return norm > maxNorm ? grads.map((t) => tf.mul(t, maxNorm / norm)) : grads;
}

/**
 * Mean of every coordinate over the rows where it is labelled, normalised to [-1, 1] as makeBatch
 * normalises targets (0 when a coordinate is never labelled): the output layer's starting bias, so
 * the untrained network already predicts the mean face.
 */
export function meanNormalisedCoords(set: FaceSet): Float32Array {
  const K2 = set.keypoints.length * 2;
  const sum = new Float64Array(K2), n = new Float64Array(K2);
  for (let r = 0; r < set.count; r++) {
    for (let j = 0; j < K2; j++) {
      const v = set.coords[r * K2 + j]!;
      if (!Number.isNaN(v)) {
        sum[j] += v;
        n[j]++;
      }
    }
  }
  const size = [set.width, set.height];
  return Float32Array.from(sum, (s, j) => (n[j] ? toNormalized(s / n[j]!, size[j % 2]!) : 0));
}
