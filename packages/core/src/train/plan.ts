/** The run's plan (how many epochs, which schedule) and its learning rate: pure functions, tested without a clock. */
import type { TrainConfig } from '../config/schema.js';
import { learningRateAt } from './schedule.js';

/** What the learning rate of every step follows; fixed once per run (see planEpochs) and checkpointed. */
export interface Plan {
  /** Epochs the run plans to take: train.epochs, or fewer when a time limit allows fewer. */
  epochs: number;
  stepsPerEpoch: number;
  /** train.freezeEpochs in steps: the head trains alone, at the base rate, before these. */
  freezeSteps: number;
  base: number;
  schedule: TrainConfig['schedule'];
}

export function makePlan(tc: Pick<TrainConfig, 'learningRate' | 'schedule' | 'freezeEpochs'>, stepsPerEpoch: number, epochs: number): Plan {
  return { epochs, stepsPerEpoch, freezeSteps: Math.round(tc.freezeEpochs * stepsPerEpoch), base: tc.learningRate, schedule: tc.schedule };
}

/**
 * The learning rate of optimisation step `step` (0-based), a pure function of the step and the plan.
 * Head-only steps (train.freezeEpochs) train at the base rate; the schedule, warm-up included,
 * starts when every layer trains, so a pretrained backbone meets a warm-up of its own.
 */
export function lrAt(step: number, plan: Plan): number {
  if (step < plan.freezeSteps) return plan.base;
  const totalSteps = plan.epochs * plan.stepsPerEpoch - plan.freezeSteps;
  return learningRateAt(step - plan.freezeSteps, { base: plan.base, schedule: plan.schedule, stepsPerEpoch: plan.stepsPerEpoch, totalSteps });
}

/** Seconds kept free before a time limit for the final writes (model, curves, summary). */
export const reserveSeconds = (limit: number): number => Math.min(15, Math.max(1, 0.02 * limit));

/** Headroom on the measured epoch time, so small slowdowns do not carry the run past its deadline. */
export const PLAN_MARGIN = 1.03;

export interface EpochBudget {
  /** Seconds the run may use in all, reserve for the final writes already taken off. */
  budgetSeconds: number;
  /** Seconds already spent (earlier sessions included). */
  elapsedSeconds: number;
  /** Epochs already completed. */
  doneEpochs: number;
  /** Measured seconds per full (every layer training) step. */
  secondsPerStep: number;
  stepsPerEpoch: number;
  /** Measured seconds per epoch outside its steps (validation, checkpoint, model writes). */
  epochOverheadSeconds: number;
  /** train.epochs: never plan more. */
  maxEpochs: number;
}

/**
 * Epochs a run plans under a time limit: those done, plus as many more as the measured speed fits
 * into the time left, never more than maxEpochs and never fewer than those done. The trainer calls
 * it once, after the first epoch that trained every layer, so the schedule does not move afterwards.
 */
export function planEpochs(b: EpochBudget): number {
  if (!Number.isFinite(b.budgetSeconds)) return b.maxEpochs;
  const perEpoch = (b.secondsPerStep * b.stepsPerEpoch + b.epochOverheadSeconds) * PLAN_MARGIN;
  const more = perEpoch > 0 ? Math.floor(Math.max(0, b.budgetSeconds - b.elapsedSeconds) / perEpoch) : Infinity;
  return Math.max(b.doneEpochs, Math.min(b.maxEpochs, b.doneEpochs + more));
}

/**
 * Seconds per step from the times of one epoch's steps, leaving out the first few of a fresh
 * process (JIT, operator set-up), which run slower than the rest.
 */
export function measuredSecondsPerStep(stepSeconds: readonly number[]): number {
  const skip = Math.min(3, Math.floor(stepSeconds.length / 4));
  const kept = stepSeconds.slice(skip);
  return kept.length ? kept.reduce((a, b) => a + b, 0) / kept.length : NaN;
}
