/** The run's plan (how many epochs, which schedule) and its learning rate: pure functions, tested without a clock. */
import type { TrainConfig } from '../config/schema.js';
import { learningRateAt } from './schedule.js';

/** What the learning rate of every step follows; fixed once per run (see planEpochs) and checkpointed. */
export interface Plan {
  /**
   * Epochs the run plans to take: train.epochs, or fewer when a time limit allows fewer; with
   * train.epochs "auto", Infinity until fitted to the time limit (the cosine has not begun by then).
   */
  epochs: number;
  stepsPerEpoch: number;
  /** train.freezeEpochs in steps: the head trains alone, at the base rate, before these. */
  freezeSteps: number;
  base: number;
  schedule: TrainConfig['schedule'];
}

export function makePlan(tc: Pick<TrainConfig, 'learningRate' | 'schedule' | 'freezeEpochs' | 'epochs'>, stepsPerEpoch: number, epochs = maxEpochsOf(tc)): Plan {
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

/** The most epochs a run may plan: train.epochs, or no bound with "auto" (the time limit decides). */
export const maxEpochsOf = (tc: Pick<TrainConfig, 'epochs'>): number => (tc.epochs === 'auto' ? Infinity : tc.epochs);

/** Early stopping's patience as the run applies it: off when the epochs are planned to a time limit ("auto"). */
export const effectivePatience = (tc: Pick<TrainConfig, 'epochs' | 'patience'>): number => (tc.epochs === 'auto' ? 0 : tc.patience);

/** A plan's epochs as events and files show them: 0 while an "auto" run has not planned yet. */
export const shownEpochs = (plan: Plan): number => (Number.isFinite(plan.epochs) ? plan.epochs : 0);

/** The plan in words, for the log: "warm-up 0.5 epochs, then cosine from 2e-3 to 2e-5 at epoch 95". */
export function describePlan(plan: Plan): string {
  const s = plan.schedule, at = Number.isFinite(plan.epochs) ? `epoch ${plan.epochs}` : 'the planned end';
  const head = plan.freezeSteps ? `output layer alone for ${plan.freezeSteps} steps, then ` : '';
  const warm = s.warmupEpochs ? `warm-up ${s.warmupEpochs} epochs, then ` : '';
  const rate = (v: number) => v.toExponential(1).replace('.0e', 'e');
  const curve = s.type === 'cosine' ? `cosine from ${rate(plan.base)} to ${rate(plan.base * s.minFactor)} at ${at}` : s.type === 'constant' ? `constant ${rate(plan.base)}` : `${s.type} from ${rate(plan.base)} (×${s.decayRate} per ${s.decayEpochs} epochs)`;
  return `learning rate: ${head}${warm}${curve}`;
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
  /** train.epochs: never plan more (Infinity with "auto"). */
  maxEpochs: number;
}

/**
 * Epochs a run plans under a time limit: those done, plus as many more as the measured speed fits
 * into the time left, never more than maxEpochs and never fewer than those done. The trainer calls
 * it once, after the first epoch that trained every layer; afterwards the plan only moves by
 * shortenIfLate and lengthenIfEarly, at the speed measured since.
 */
export function planEpochs(b: EpochBudget): number {
  if (!Number.isFinite(b.budgetSeconds)) return b.maxEpochs;
  const perEpoch = (b.secondsPerStep * b.stepsPerEpoch + b.epochOverheadSeconds) * PLAN_MARGIN;
  // No usable measurement (a zero or broken clock): plan no further than what is done.
  const more = perEpoch > 0 && Number.isFinite(perEpoch) ? Math.floor(Math.max(0, b.budgetSeconds - b.elapsedSeconds) / perEpoch) : 0;
  return Math.max(b.doneEpochs, Math.min(b.maxEpochs, b.doneEpochs + more));
}

/** Where a run stood when its plan was fitted: the speed since then tells whether it runs late. */
export interface PlanMark {
  epoch: number;
  elapsedSeconds: number;
}

/**
 * The plan, shortened when the run is late: when the epochs left, at the mean speed of the epochs
 * since the plan was fitted, would end past the budget, the epochs that still fit (the cosine then
 * ends sooner, so the run still anneals instead of being cut at a high learning rate). Never longer.
 */
export function shortenIfLate(planned: number, mark: PlanMark, now: { budgetSeconds: number; elapsedSeconds: number; doneEpochs: number }): number {
  const since = now.doneEpochs - mark.epoch;
  if (!Number.isFinite(now.budgetSeconds) || since <= 0 || now.doneEpochs >= planned) return planned;
  const perEpoch = (now.elapsedSeconds - mark.elapsedSeconds) / since;
  if (now.elapsedSeconds + (planned - now.doneEpochs) * perEpoch <= now.budgetSeconds) return planned;
  const more = perEpoch > 0 ? Math.floor(Math.max(0, now.budgetSeconds - now.elapsedSeconds) / (perEpoch * PLAN_MARGIN)) : 0;
  return Math.min(planned, now.doneEpochs + more);
}

/**
 * The plan, lengthened when the run is early: a first epoch slower than the rest (JIT warm-up, a
 * moment of other work on the machine) plans too few epochs, and 15 minutes granted then ended
 * after 11. While no more than half the planned epochs are done, the epochs that fit at the mean
 * speed since the plan was fitted, with the same margin as planEpochs, when that is at least 2 (and
 * 5 %) more; never past maxEpochs. Only in the first half: there the cosine is still near its top, so stretching it lifts the learning
 * rate a little; later it would undo the annealing.
 */
export function lengthenIfEarly(planned: number, mark: PlanMark, now: { budgetSeconds: number; elapsedSeconds: number; doneEpochs: number }, maxEpochs: number): number {
  const since = now.doneEpochs - mark.epoch;
  if (!Number.isFinite(now.budgetSeconds) || since <= 0 || now.doneEpochs * 2 > planned) return planned;
  const perEpoch = (now.elapsedSeconds - mark.elapsedSeconds) / since;
  if (!(perEpoch > 0)) return planned;
  const fits = Math.min(maxEpochs, now.doneEpochs + Math.floor(Math.max(0, now.budgetSeconds - now.elapsedSeconds) / (perEpoch * PLAN_MARGIN)));
  // The margin is on the time left, so a steady run finds an epoch more now and then: not worth a change.
  return fits >= planned + Math.max(2, Math.ceil(0.05 * planned)) ? fits : planned;
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
