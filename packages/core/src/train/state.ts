/** RunState: everything a run carries from step to step, checkpointed and resumed as one thing. */
import path from 'node:path';
import type { TrainConfig } from '../config/schema.js';
import { InputError } from '../errors.js';
import { maxEpochsOf, shownEpochs, type Plan, type PlanMark } from './plan.js';
import type { Checkpoint, CheckpointState } from './checkpoint.js';
import type { TimePhase, TimeBreakdown } from './time-breakdown.js';

/** The run's counters, plan, early-stopping and divergence trackers, and where an epoch was cut. */
export interface RunState {
  /** Optimisation steps taken. */
  step: number;
  /** Epochs completed. */
  epoch: number;
  plan: Plan;
  /** Whether the plan was fitted to the time limit already (it is fitted once, then only shortened when late). */
  planFixed: boolean;
  /** Where the run stood when the plan was fitted (absent before, and in checkpoints before version 3's planEpoch). */
  planMark?: PlanMark;
  /** Seconds spent in earlier sessions of this run (resumes). */
  priorSeconds: number;
  /** Of which in each phase (TimeBreakdown), as the checkpoint recorded them (absent before these figures). */
  priorTimes?: Partial<Record<TimePhase, unknown>>;
  bestValLoss: number;
  bestEpoch: number;
  sinceBest: number;
  /** Smoothed training loss and its minimum (divergence detector); NaN / Infinity until defined. */
  emaLoss: number;
  minEma: number;
  /** The epoch in progress when a stop or time limit cut it: resume continues at `batch` exactly. */
  cut: { batch: number; augRng: number[]; lossSum: number; images: number; seconds: number } | undefined;
}

export function freshState(plan: Plan): RunState {
  return { step: 0, epoch: 0, plan, planFixed: false, priorSeconds: 0, bestValLoss: Infinity, bestEpoch: 0, sinceBest: 0, emaLoss: NaN, minEma: Infinity, cut: undefined };
}

/**
 * The state a checkpoint resumes (state.json versions 1–3). `plan` is the plan the config gives
 * now: config.json may have been edited to train longer, so without a time limit its epochs count;
 * with one, the checkpoint's fitted plan does (exact resume), never above the configured epochs.
 */
export function stateFromCheckpoint(ck: CheckpointState, plan: Plan, tc: Pick<TrainConfig, 'optimizer' | 'timeLimitMinutes' | 'epochs'>, runDir: string): RunState {
  const file = path.join(runDir, 'checkpoint', 'state.json');
  if (ck.optimizer !== tc.optimizer) throw new InputError({ file, field: 'optimizer' }, `is ${ck.optimizer} but config.json says ${tc.optimizer}`);
  // Versions 1 and 2 refitted the plan after every epoch: after one, it is as fitted as it gets.
  const planFixed = ck.planFixed ?? ck.epoch >= 1;
  // An "auto" run not yet planned stores 0 epochs: it plans after its next full epoch, as a new run would.
  const epochs = tc.timeLimitMinutes && planFixed ? Math.min(ck.plannedEpochs, maxEpochsOf(tc)) : plan.epochs;
  const batch = ck.batch ?? 0;
  return {
    step: ck.step,
    epoch: ck.epoch,
    plan: { ...plan, epochs },
    planFixed,
    planMark: ck.planEpoch !== undefined && ck.planSeconds !== undefined ? { epoch: ck.planEpoch, elapsedSeconds: ck.planSeconds } : undefined,
    priorSeconds: ck.elapsedSeconds,
    priorTimes: ck.timeBreakdownSeconds,
    bestValLoss: ck.bestValLoss,
    bestEpoch: ck.bestEpoch,
    sinceBest: ck.sinceBest,
    emaLoss: ck.emaLoss ?? NaN,
    minEma: ck.minEma ?? Infinity,
    cut: batch > 0 ? { batch, augRng: ck.augRng ?? [], lossSum: ck.epochLossSum ?? 0, images: ck.epochImages ?? 0, seconds: ck.epochSeconds ?? 0 } : undefined,
  };
}

/** The tensors a checkpoint holds beside the state, as flat arrays with their shapes. */
export interface CheckpointTensors {
  weights: { values: Float32Array[]; shapes: number[][] };
  best: Float32Array[] | undefined;
  /** The optimizer's name, step count (Adam's bias correction) and state tensors. */
  optimizer: { name: string; step: number; values: Float32Array[]; shapes: number[][] };
  /** train.ema's weight average (same shapes as the weights), when on. */
  ema?: Float32Array[];
}

/** The checkpoint of a state (saveCheckpoint writes it as state.json version 4 and its .bin files). */
export function checkpointOf(s: RunState, elapsedSeconds: number, t: CheckpointTensors, times?: TimeBreakdown): Checkpoint {
  const json = (v: number) => (Number.isFinite(v) ? v : null);
  const state: CheckpointState = {
    version: 4,
    epoch: s.epoch,
    step: s.step,
    plannedEpochs: shownEpochs(s.plan),
    planFixed: s.planFixed,
    ...(s.planMark ? { planEpoch: s.planMark.epoch, planSeconds: s.planMark.elapsedSeconds } : {}),
    elapsedSeconds,
    ...(times ? { timeBreakdownSeconds: times } : {}),
    bestValLoss: s.bestValLoss,
    bestEpoch: s.bestEpoch,
    sinceBest: s.sinceBest,
    shapes: { weights: t.weights.shapes, best: t.best ? t.weights.shapes : [], optimizer: t.optimizer.shapes, ...(t.ema ? { ema: t.weights.shapes } : {}) },
    optimizer: t.optimizer.name,
    optimizerStep: t.optimizer.step,
    batch: s.cut?.batch ?? 0,
    ...(s.cut ? { augRng: s.cut.augRng, epochLossSum: s.cut.lossSum, epochImages: s.cut.images, epochSeconds: s.cut.seconds } : { epochLossSum: 0, epochImages: 0, epochSeconds: 0 }),
    emaLoss: json(s.emaLoss),
    minEma: json(s.minEma),
  };
  return { state, weights: t.weights.values, best: t.best ?? [], optimizer: t.optimizer.values, ...(t.ema ? { ema: t.ema } : {}) };
}
