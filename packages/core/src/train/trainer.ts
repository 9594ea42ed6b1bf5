/** The training loop, top to bottom: open the run (new or resumed), then step, validate, checkpoint and report. */
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../backend/index.js';
import type { KeypointsConfig } from '../config/schema.js';
import { resolveConfig } from '../config/resolve.js';
import { batchPrefetcher, type BatchPrefetcher } from '../data/prefetch.js';
import { flipPermutation } from '../data/schema.js';
import type { FaceSet } from '../data/types.js';
import { InputError, UserError } from '../errors.js';
import { modelFlops } from '../model/index.js';
import { writeCurves } from '../report/curves.js';
import { resultsCsv } from '../report/results.js';
import { writeValFaces } from './val-faces.js';
import { trainSettings } from './dry-run.js';
import { isTempName, removeStaleTemps, writeFileAtomic } from '../util/atomic.js';
import { createRng, deriveSeed } from '../util/random.js';
import { loadTrainingData } from './data.js';
import type { EpochMetrics, TrainingEvent, TrainingEventMap, TrainingListener } from './events.js';
import { createLearner, setWeights, weightsOf } from './learner.js';
import { keepBudget, type EpochMeasure } from './budget.js';
import { effectivePatience, lrAt, makePlan, maxEpochsOf, measuredSecondsPerStep, reserveSeconds, shownEpochs } from './plan.js';
import { hasCheckpoint, hasOptimizerState, loadCheckpoint, modelHolds, readMetrics, saveCheckpoint, saveModel } from './run-folder.js';
import { checkpointOf, freshState, stateFromCheckpoint, type RunState } from './state.js';
import { flushLoss, trainStep, validationLoss, type StepLoss } from './step.js';
import { gpuBatchConfig } from './gpu-batch.js';
import { deviceFailure, dropFailedDevice } from './device-step.js';
import { writeSummary, type TrainSummary } from './summary.js';
import { fitAndSaveOffsets, offsetsFitSeconds } from './offsets.js';
import { timeTracker } from './time-breakdown.js';

export { clipByGlobalNorm } from './step.js';
export { loadTrainingData, meanNormalisedCoords, splitForTraining } from './data.js';
export type { TrainSummary } from './summary.js';

/** A new run in runDir with its config, or the continuation of runDir from its checkpoint (with its saved config, never another). */
export type TrainTarget = { runDir: string } & ({ config: KeypointsConfig; resume?: false } | { resume: true; config?: undefined });

export type TrainOptions = TrainTarget & TrainCommon;

interface TrainCommon {
  signal?: AbortSignal;
  onEvent?: TrainingListener;
  /** Already loaded and split data (tests, the server); otherwise config.data decides. */
  data?: { train: FaceSet; val: FaceSet };
  /** Seconds on a monotonic clock; tests pass a fake one to check the time limit without timing anything. */
  clock?: () => number;
  /** A new run's network before its first step (specialists start from a general run's weights). */
  initWeights?: (model: tfl.LayersModel) => void;
}

const exists = (p: string) => stat(p).then(() => true, () => false);

/**
 * Trains a model as the config says and writes the run folder: config.json, model.json +
 * weights.bin (best weights so far, rewritten on every improvement), checkpoint/ (every epoch and
 * on stop or time limit, atomically; without optimizer state once the run has finished),
 * metrics.jsonl + results.csv, curves.html/png, val-faces.png and summary.json.
 * Never deletes what is already in the folder. A failure is thrown, not emitted: the shell that
 * runs the training (CLI, server) reports it, once.
 */
export async function train(opts: TrainOptions): Promise<TrainSummary> {
  return runTraining(opts);
}

/**
 * The config a run trains with: a resumed run's own config.json. A new run takes a folder holding no
 * run files (a killed writer's temp files aside): it never overwrites what an earlier run wrote.
 */
async function openRun(opts: TrainOptions, runDir: string): Promise<KeypointsConfig> {
  if (!opts.resume) {
    const names = (await readdir(runDir).catch(() => [] as string[])).filter((n) => !isTempName(n));
    // Only what a run writes is refused: other files (a sweep's trial config and log) stay untouched beside it.
    const ours = ['config.json', 'model.json', 'weights.bin', 'checkpoint', 'summary.json', 'metrics.jsonl'].filter((n) => names.includes(n));
    if (ours.length) throw new UserError(`${runDir} already holds a run; resume it with --resume ${opts.runDir}, or choose another --out (it has ${ours.join(', ')})`);
    return opts.config;
  }
  const file = path.join(runDir, 'config.json');
  if (!(await exists(file))) throw new UserError(`${runDir}: not a run folder (no config.json to resume from)`);
  let saved: unknown;
  try {
    saved = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new InputError({ file }, `not valid JSON (${(err as Error).message})`);
  }
  return resolveConfig(saved, file);
}

async function runTraining(opts: TrainOptions): Promise<TrainSummary> {
  const runDir = path.resolve(opts.runDir);
  const now = opts.clock ?? (() => performance.now() / 1000);
  const emit = <K extends TrainingEvent['type']>(type: K, payload: TrainingEventMap[K]) => opts.onEvent?.({ type, ...payload } as TrainingEvent);
  const log = (message: string, level: 'info' | 'warn' = 'info') => emit('log', { level, message });

  // ---- open the run: config, backend, data ----
  let config = await openRun(opts, runDir);
  // Killed before its first checkpoint (epoch 1), a run has nothing to continue from: resume starts it over.
  const fromCheckpoint = !!opts.resume && (await hasCheckpoint(runDir));
  if (opts.resume && !fromCheckpoint) log(`${runDir} has no checkpoint yet (the run stopped in its first epoch): starting it over with its config.json`, 'warn');
  const backend = await initBackend(config.backend);
  if (!opts.resume) {
    // GPU backends train with a larger batch (train/gpu-batch.ts); config.json holds it, so a resume matches.
    const g = gpuBatchConfig(config, backend);
    config = g.config;
    if (g.note) log(g.note);
  }
  const { train: trainSet, val: valSet } = opts.data ?? (await loadTrainingData(config, (m) => log(m)));
  if (trainSet.width !== trainSet.height) throw new UserError(`${trainSet.source}: images are ${trainSet.width}×${trainSet.height}; the network takes square images`);
  if (valSet.count === 0) log('no validation rows: early stopping and best-epoch selection use the training loss', 'warn');
  // The folder is made only now: a failed backend or data load leaves no empty new folder behind.
  await mkdir(runDir, { recursive: true });
  const stale = await removeStaleTemps(runDir);
  if (stale.length) log(`removed ${stale.length} temp file${stale.length === 1 ? '' : 's'} a killed run left in ${runDir}`);
  if (!opts.resume) await writeFileAtomic(path.join(runDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');

  // ---- the network, the plan and the run state (fresh, or as the checkpoint left it) ----
  const tc = config.train, S = trainSet.width, K = trainSet.keypoints.length;
  const stepsPerEpoch = Math.ceil(trainSet.count / tc.batchSize);
  const firstPlan = makePlan(tc, stepsPerEpoch);
  // On webgpu the loss stays on the GPU and is read about four times an epoch (train/step.ts).
  const learner = createLearner(config, trainSet, { fresh: !fromCheckpoint, freezeSteps: firstPlan.freezeSteps, log, readEvery: Math.ceil(stepsPerEpoch / 4) });
  let batches: BatchPrefetcher | undefined;
  const { model } = learner;
  if (!fromCheckpoint) opts.initWeights?.(model);
  // The epoch of the last checkpoint on disk (what a lost GPU device leaves to resume from).
  let checkpointEpoch: number | undefined;
  try {
    let state: RunState = freshState(firstPlan);
    let best: Float32Array[] | undefined;
    let metrics: EpochMetrics[] = [];
    if (fromCheckpoint) {
      const ck = await loadCheckpoint(runDir);
      state = stateFromCheckpoint(ck.state, firstPlan, tc, runDir);
      learner.phaseAt(state.step);
      best = ck.best.length ? ck.best : undefined;
      // metrics.jsonl is written before the checkpoint, so it holds every checkpointed epoch (and maybe one more, dropped).
      metrics = (await readMetrics(runDir)).filter((m) => m.epoch <= state.epoch);
      // Killed after the checkpoint took a new best but before model.json + weights.bin held it (or
      // between those two): both rewritten from the checkpoint's best weights.
      if (best && !(await modelHolds(runDir, best))) {
        setWeights(model, best);
        await saveModel(model, runDir, { keypoints: [...trainSet.keypoints], imageSize: S, preset: config.preset, epoch: state.bestEpoch, valRmse: metrics.find((m) => m.epoch === state.bestEpoch)?.valRmse ?? NaN });
        log(`model.json and weights.bin did not match (a run killed while saving them): rewrote both from the checkpoint's best weights (epoch ${state.bestEpoch})`, 'warn');
      }
      learner.restore(ck, path.join(runDir, 'checkpoint', 'weights.bin'));
      checkpointEpoch = state.epoch;
      if (!hasOptimizerState(ck) && state.epoch < state.plan.epochs) log(`${runDir} had finished, and a finished run keeps no optimizer state: training on from its best weights (epoch ${state.bestEpoch}) with a fresh ${tc.optimizer} optimizer (not the bit-for-bit continuation a stopped run gets)`, 'warn');
      log(`resuming ${runDir} after epoch ${state.epoch}${state.cut ? ` and ${state.cut.batch} of ${stepsPerEpoch} batches of epoch ${state.epoch + 1}` : ''} (step ${state.step})`);
    }
    const flops = modelFlops(config.model, S, 2 * K);
    emit('start', {
      runDir,
      backend: backend.name,
      backendNote: backend.note,
      dataSource: trainSet.source,
      synthetic: trainSet.source === 'synthetic',
      trainCount: trainSet.count,
      valCount: valSet.count,
      keypoints: [...trainSet.keypoints],
      epochs: shownEpochs(state.plan),
      stepsPerEpoch,
      startEpoch: state.epoch + 1,
      parameters: model.countParams(),
      flopsPerImage: flops,
      settings: trainSettings(config),
    });
    const freezeSteps = state.plan.freezeSteps;
    if (freezeSteps > state.step) log(`training the output layer alone for ${freezeSteps - state.step} steps (train.freezeEpochs ${tc.freezeEpochs}), then every layer`);

    const t0 = now();
    const elapsed = () => state.priorSeconds + (now() - t0);
    // Where elapsed() goes (summary.json's timeBreakdownSeconds), earlier sessions' phases carried by the checkpoint.
    const times = timeTracker(now, state.priorTimes);
    const limitSeconds = tc.timeLimitMinutes ? tc.timeLimitMinutes * 60 : Infinity;
    // Less, after the first validation, the time the output offsets will take (train/offsets.ts).
    let deadline = limitSeconds - reserveSeconds(limitSeconds), offsetsReserved = !tc.fitOffsets;
    // A run planned to its time limit anneals to the end of the budget, and its last epochs are its
    // best (a 15-minute default run stopped at 10:20 on patience 20, before its cosine had come down).
    const patience = effectivePatience(tc);
    if (patience !== tc.patience) log(`early stopping is off: the epochs are planned to the time limit, and the annealed last ones are the best (train.patience ${tc.patience} applies with --epochs)`);
    if (tc.epochs === 'auto' && !state.planFixed) log(`time limit ${tc.timeLimitMinutes} min: the epochs are planned after the first full epoch, from its measured speed (train.epochs "auto")`);
    let shortened = false;
    // The first full epoch's speed, until the plan is fitted from it (top of the next epoch).
    let measured: EpochMeasure | undefined;
    const perm = flipPermutation(trainSet.keypoints);
    // Each batch is planned (its random draws) a step ahead and drawn on a worker meanwhile.
    batches = batchPrefetcher(trainSet, { augment: tc.augment, perm });
    // metrics.jsonl before the checkpoint: a kill between the two loses no line (resume drops a line past the checkpoint).
    const save = () =>
      times.time('save', async () => {
        await writeFileAtomic(path.join(runDir, 'metrics.jsonl'), metrics.map((m) => JSON.stringify(m) + '\n').join(''));
        await writeFileAtomic(path.join(runDir, 'results.csv'), resultsCsv(metrics));
        const e = elapsed();
        await saveCheckpoint(runDir, checkpointOf(state, e, await learner.tensors(best), times.of(e)));
        checkpointEpoch = state.epoch;
      });
    // The learning-curve picture is a convenience: failing to draw it must not end a run.
    const curves = () => times.time('save', () => writeCurves(runDir, metrics).catch((err: Error) => log(`could not write the learning curves (${err.message}); metrics.jsonl has the figures`, 'warn')));

    let reason: TrainSummary['reason'] = 'completed';
    let lastBatchEvent = -Infinity, lastCurves = -Infinity;
    let imagesSeen = 0, trainSeconds = 0;

    // ---- the loop: one epoch after another, one step after another ----
    epochs: while (state.epoch < state.plan.epochs) {
      if (Number.isFinite(limitSeconds)) {
        const change = keepBudget(state, measured, { now: now(), elapsed: elapsed(), deadline, limitSeconds, stepsPerEpoch }, tc);
        measured = undefined;
        if (change) log(change.message, change.level);
        shortened ||= !!change?.shortened;
      }
      if (state.epoch >= state.plan.epochs) {
        if (state.planFixed) await save(); // the checkpoint holds the plan that ended the run
        break;
      }
      const epoch = state.epoch + 1;
      const epochStart = now();
      const order = createRng(deriveSeed(config.seed, epoch, 1)).shuffle(Int32Array.from({ length: trainSet.count }, (_, i) => i));
      const augRng = createRng(deriveSeed(config.seed, epoch, 2));
      // An epoch cut by a stop or the time limit continues at its batch with the same RNG state and totals.
      const cut = state.cut;
      if (cut) augRng.setState(cut.augRng);
      state.cut = undefined;
      let lossSum = cut?.lossSum ?? 0, images = 0;
      const epochSeconds = () => (cut?.seconds ?? 0) + (now() - epochStart);
      const stepSeconds: number[] = [];
      // Losses read back (every step on the CPU backends, a window of steps on webgpu).
      const account = (read: StepLoss | undefined) => {
        if (read) lossSum += read.loss * read.steps;
      };
      const stopAt = async (b: number, why: string) => {
        account(await times.time('step', () => flushLoss(learner.ctx)));
        // The batch requested but not trained: its draws are redone on resume, from the state before them.
        state.cut = { batch: b, augRng: batches!.pendingRngState() ?? augRng.getState(), lossSum, images: (cut?.images ?? 0) + images, seconds: epochSeconds() };
        trainSeconds += now() - epochStart;
        await save();
        emit('checkpoint', { runDir, epoch: state.epoch, best: false });
        log(`${why}; checkpoint saved at epoch ${epoch}, batch ${b} of ${stepsPerEpoch} (resume continues there); best epoch ${state.bestEpoch || 'none yet'}`);
      };
      const rowsOf = (b: number) => order.subarray(b * tc.batchSize, Math.min(trainSet.count, (b + 1) * tc.batchSize));
      const first = cut?.batch ?? 0;
      for (let b = first; b < stepsPerEpoch; b++) {
        if (opts.signal?.aborted) {
          reason = 'stopped';
          await stopAt(b, 'stopped');
          break epochs;
        }
        if (elapsed() >= deadline) {
          reason = 'time-limit';
          await stopAt(b, `time limit of ${tc.timeLimitMinutes} min reached`);
          break epochs;
        }
        const stepStart = now();
        // This batch (drawn during the last step; the epoch's first, now), and the next one's draws, its pixels drawn during this step.
        const batch = await times.time('batch', async () => {
          if (b === first) batches!.request(rowsOf(b), augRng);
          const taken = await batches!.take();
          if (b + 1 < stepsPerEpoch) batches!.request(rowsOf(b + 1), augRng);
          return taken;
        });
        const lr = lrAt(state.step, state.plan);
        const read = await times.time('step', async () => (await trainStep(learner.ctx, batch, lr, deriveSeed(config.seed, state.step, 3))) ?? (b === stepsPerEpoch - 1 ? await flushLoss(learner.ctx) : undefined));
        state.step++;
        if (learner.average) times.timeSync('step', () => learner.average!.update(state.step));
        stepSeconds.push(now() - stepStart);
        // Unfreeze right after the last head-only step, so a checkpoint's optimizer always matches its step.
        if (learner.phaseAt(state.step)) log(`unfroze every layer after ${freezeSteps} head-only steps`);
        imagesSeen += batch.size;
        images += batch.size;
        if (!read) {
          await new Promise((r) => setImmediate(r));
          continue; // this step's loss is still in the device's window
        }
        account(read);
        const loss = read.loss;
        state.emaLoss = Number.isNaN(state.emaLoss) ? loss : 0.9 * state.emaLoss + 0.1 * loss;
        state.minEma = Math.min(state.minEma, state.emaLoss); // the smoothed loss only falls early on, so this cannot fire by itself
        if (!Number.isFinite(loss) || state.emaLoss > tc.divergenceFactor * state.minEma) {
          reason = 'diverged';
          const smoothed = Number.isFinite(state.minEma) ? `, best smoothed ${state.minEma.toPrecision(4)}` : '';
          log(`training diverged at epoch ${epoch}, step ${state.step} (loss ${loss.toPrecision(4)}${smoothed}); stopped, keeping the best weights (epoch ${state.bestEpoch || 'none'}). Try a lower learning rate, more warm-up or clipNorm.`, 'warn');
          break epochs;
        }
        const t = now();
        if (t - lastBatchEvent > 0.25 || b === stepsPerEpoch - 1) {
          lastBatchEvent = t;
          const ips = images / Math.max(1e-6, t - epochStart);
          const remaining = (state.plan.epochs - epoch) * trainSet.count + (trainSet.count - Math.min(trainSet.count, (b + 1) * tc.batchSize));
          emit('batchEnd', { epoch, batch: b + 1, batches: stepsPerEpoch, loss, learningRate: lr, imagesPerSecond: ips, etaSeconds: Math.max(0, Math.min(remaining / ips, limitSeconds - elapsed())) });
        }
        await new Promise((r) => setImmediate(r)); // let a server answer requests, and Ctrl-C land, between batches
      }

      // ---- end of epoch: validate, keep the best, plan once under a time limit, checkpoint ----
      trainSeconds += now() - epochStart;
      const seconds = epochSeconds();
      const trainLoss = lossSum / Math.max(1, stepsPerEpoch);
      state.epoch = epoch;
      // With train.ema the averaged weights are validated, kept as the best and saved as the model.
      const { v, improved } = await times.time('validate', () => learner.evaluated(async () => {
        const valStart = !offsetsReserved && Number.isFinite(limitSeconds) ? now() : 0;
        const v = await validationLoss(model, valSet, Math.max(64, tc.batchSize));
        if (!offsetsReserved && valSet.count && Number.isFinite(limitSeconds)) {
          deadline -= offsetsFitSeconds(trainSet.count, valSet.count, now() - valStart);
          offsetsReserved = true;
        }
        const score = valSet.count ? v.loss : trainLoss;
        const improved = score < state.bestValLoss - tc.minDelta;
        if (improved) {
          Object.assign(state, { bestValLoss: score, bestEpoch: epoch, sinceBest: 0 });
          best = await weightsOf(model);
        } else state.sinceBest++;
        return { v, improved };
      }));
      const totalImages = (cut?.images ?? 0) + images;
      const m: EpochMetrics = { epoch, epochs: shownEpochs(state.plan), trainLoss, valLoss: v.loss, valRmse: v.rmse, learningRate: lrAt(Math.max(0, state.step - 1), state.plan), seconds, imagesPerSecond: totalImages / Math.max(1e-6, seconds), elapsedSeconds: elapsed(), best: improved };
      metrics.push(m);
      // The first epoch that trained every layer (head-only steps are several times faster) is measured;
      // the plan is fitted at the top of the next one, so its whole cycle (checkpoint included) counts.
      if (Number.isFinite(limitSeconds) && !state.planFixed && state.step - stepSeconds.length >= freezeSteps && stepSeconds.length) {
        measured = { secondsPerStep: measuredSecondsPerStep(stepSeconds), stepSeconds: stepSeconds.reduce((a, x) => a + x, 0), start: epochStart };
      }
      // The checkpoint takes a new best before weights.bin does: a checkpoint that keeps its best in
      // weights.bin (checkpoint.ts) is never left pointing at other weights by a kill.
      await save();
      // With train.ema, evaluated() swaps the average (the best just kept) in again for the save.
      if (improved) await times.time('save', () => learner.evaluated(() => saveModel(model, runDir, { keypoints: [...trainSet.keypoints], imageSize: S, preset: config.preset, epoch, valRmse: v.rmse })));
      emit('epochEnd', m);
      emit('checkpoint', { runDir, epoch, best: improved });
      if (now() - lastCurves > 15 || state.epoch >= state.plan.epochs) {
        lastCurves = now();
        await curves();
      }
      if (patience > 0 && state.sinceBest >= patience) {
        reason = 'early-stopped';
        log(`early stopping: no improvement for ${patience} epochs; restoring the best weights (epoch ${state.bestEpoch})`);
        break;
      }
    }

    // ---- the end: best weights back, curves, summary.json, `done` ----
    // An "auto" run that finished its plan completed; one whose epochs the budget cut short did not.
    if (reason === 'completed' && Number.isFinite(limitSeconds) && (shortened || (tc.epochs !== 'auto' && state.plan.epochs < tc.epochs))) {
      reason = 'time-limit';
      log(`time limit of ${tc.timeLimitMinutes} min: finished the ${state.plan.epochs} epochs that fit${tc.epochs === 'auto' ? '' : ` (of ${tc.epochs})`}; best epoch ${state.bestEpoch}`);
    }
    // A finished run (not one cut by a stop or the time limit) has nothing left to resume exactly:
    // its checkpoint keeps the best weights (weights.bin's, not copied) and no optimizer state.
    if (!state.cut && state.epoch > 0 && (reason === 'completed' || reason === 'early-stopped' || reason === 'time-limit')) {
      await times.time('save', async () => {
        const t = await learner.tensors(best);
        const e = elapsed();
        await saveCheckpoint(runDir, checkpointOf(state, e, { ...t, weights: { ...t.weights, values: best ?? t.weights.values } }, times.of(e)), { dropOptimizer: true });
      });
    }
    if (best) setWeights(model, best);
    let finalValRmse: number | undefined;
    if (best && tc.fitOffsets && !state.cut && trainSet.count) {
      const bestRmse = metrics.find((x) => x.epoch === state.bestEpoch)?.valRmse ?? NaN;
      // Forward passes over training and validation faces: counted with validation.
      const fitted = await times.time('validate', () => fitAndSaveOffsets(model, runDir, trainSet, valSet, { keypoints: [...trainSet.keypoints], imageSize: S, preset: config.preset, epoch: state.bestEpoch, valRmse: bestRmse }));
      finalValRmse = fitted.valRmse;
      log(fitted.message);
    }
    if (metrics.length) await curves();
    if (best && valSet.count) await times.time('save', () => writeValFaces(runDir, model, valSet).catch((err: Error) => log(`could not draw val-faces.png (${err.message})`, 'warn')));
    const seconds = elapsed();
    const summary = await writeSummary(runDir, {
      runDir,
      reason,
      bestEpoch: state.bestEpoch,
      bestValLoss: state.bestValLoss,
      bestValRmse: metrics.find((x) => x.epoch === state.bestEpoch)?.valRmse ?? NaN,
      epochsRun: state.epoch,
      seconds,
      timeBreakdownSeconds: times.of(seconds),
      backend: backend.name,
      trainCount: trainSet.count,
      valCount: valSet.count,
      imagesPerSecond: trainSeconds ? imagesSeen / trainSeconds : 0,
      preset: config.preset,
      plannedEpochs: shownEpochs(state.plan),
      ...(finalValRmse !== undefined && { finalValRmse }),
    }, { metrics, backendNote: backend.note, keypoints: trainSet.keypoints, parameters: model.countParams(), flopsPerImage: flops, dataSource: trainSet.source });
    emit('done', { runDir, reason, bestEpoch: summary.bestEpoch, bestValLoss: summary.bestValLoss, bestValRmse: summary.bestValRmse, epochsRun: summary.epochsRun, seconds: summary.seconds, timeBreakdownSeconds: summary.timeBreakdownSeconds });
    return summary;
  } catch (err) {
    // A GPU that failed under the run: one line saying what happened and what is left (train/device-step.ts).
    throw deviceFailure({ batchSize: tc.batchSize, runDir, checkpointEpoch }) ?? err;
  } finally {
    await batches?.close();
    learner.dispose();
    dropFailedDevice();
  }
}
