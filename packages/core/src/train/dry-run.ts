/** What `keypoints train --dry-run` shows: the resolved config and what the run would do, without training. */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { KeypointsConfig } from '../config/schema.js';
import { resolveConfig } from '../config/resolve.js';
import { UserError } from '../errors.js';
import { readJsonFile } from '../util/json-file.js';
import type { CheckpointState } from './checkpoint.js';
import { loadTrainingData } from './data.js';
import type { TrainSettings } from './events.js';
import { DEFAULT_GPU_BATCH } from './gpu-batch.js';
import { effectivePatience, lrAt, makePlan } from './plan.js';
import type { TrainTarget } from './trainer.js';

export interface TrainPreview {
  runDir: string;
  resume: boolean;
  config: KeypointsConfig;
  data: { source: string; synthetic: boolean; trainCount: number; valCount: number; keypoints: string[]; imageSize: number };
  /** 'auto': planned after the first epoch to fill the time limit (steps and the last rate then unknown). */
  epochs: number | 'auto';
  stepsPerEpoch: number;
  totalSteps: number | null;
  /** Steps that train the output layer alone first (train.freezeEpochs). */
  freezeSteps: number;
  /** The learning rate at the first step, its highest, and at the last step, by the plan (null: not planned yet). */
  learningRate: { first: number; peak: number; last: number | null };
  /** The first epoch the run would train (> 1 when it resumes after a checkpoint). */
  startEpoch: number;
  /** Notes on what can change once it runs (a time limit, a GPU batch). */
  notes: string[];
}

/** The hyper-parameters a run's start line shows. */
export function trainSettings(config: KeypointsConfig): TrainSettings {
  const tc = config.train;
  return { preset: config.preset, epochs: tc.epochs, batchSize: tc.batchSize, optimizer: tc.optimizer, learningRate: tc.learningRate, schedule: tc.schedule.type, warmupEpochs: tc.schedule.warmupEpochs, patience: effectivePatience(tc), seed: config.seed, timeLimitMinutes: tc.timeLimitMinutes, freezeEpochs: tc.freezeEpochs, loss: tc.loss.type, ema: tc.ema, augment: { ...tc.augment } };
}

const exists = (p: string) => stat(p).then(() => true, () => false);

/** Resolves what `train(target)` would train on and how, reading the data but training nothing and writing nothing. */
export async function previewTraining(target: TrainTarget, onLog?: (m: string) => void): Promise<TrainPreview> {
  const runDir = path.resolve(target.runDir);
  let config: KeypointsConfig, startEpoch = 1;
  if (target.resume) {
    const file = path.join(runDir, 'config.json');
    if (!(await exists(file))) throw new UserError(`${runDir}: not a run folder (no config.json to resume from)`);
    config = resolveConfig(await readJsonFile(file), file);
    const stateFile = path.join(runDir, 'checkpoint', 'state.json');
    if (await exists(stateFile)) startEpoch = (await readJsonFile<CheckpointState>(stateFile)).epoch + 1;
  } else config = target.config;
  const { train, val } = await loadTrainingData(config, onLog);
  const tc = config.train;
  const stepsPerEpoch = Math.ceil(train.count / tc.batchSize);
  const auto = tc.epochs === 'auto';
  // An "auto" run's length is known only once an epoch is timed: its first epoch shows the start.
  const plan = makePlan(tc, stepsPerEpoch, tc.epochs === 'auto' ? 1 : tc.epochs);
  const totalSteps = plan.epochs * stepsPerEpoch;
  let peak = 0;
  for (let s = 0; s < totalSteps; s++) peak = Math.max(peak, lrAt(s, plan));
  const notes: string[] = [];
  if (auto) notes.push(`time limit ${tc.timeLimitMinutes} min: the run times its first epoch that trains every layer, then plans as many epochs as fill the budget and fits the schedule to them`);
  else if (tc.timeLimitMinutes) notes.push(`time limit ${tc.timeLimitMinutes} min: ${tc.epochs} epochs, fewer if the budget cannot hold them`);
  if (['auto', 'webgpu', 'tensorflow-gpu'].includes(config.backend) && !tc.gpuBatchSize) notes.push(`backend ${config.backend}: on a GPU backend the batch grows to ${DEFAULT_GPU_BATCH} (train.gpuBatchSize) and the learning rate by √(${DEFAULT_GPU_BATCH} / ${tc.batchSize})`);
  return {
    runDir,
    resume: !!target.resume,
    config,
    data: { source: train.source, synthetic: train.source === 'synthetic', trainCount: train.count, valCount: val.count, keypoints: [...train.keypoints], imageSize: train.width },
    epochs: auto ? 'auto' : plan.epochs,
    stepsPerEpoch,
    totalSteps: auto ? null : totalSteps,
    freezeSteps: plan.freezeSteps,
    learningRate: { first: lrAt(0, plan), peak, last: auto ? null : lrAt(Math.max(0, totalSteps - 1), plan) },
    startEpoch,
    notes,
  };
}
