/** A time limit kept: the plan fitted from the first full epoch's whole cycle, then shortened whenever the run is late and, in its first half, lengthened when it is early. */
import type { TrainConfig } from '../config/schema.js';
import { describePlan, lengthenIfEarly, maxEpochsOf, planEpochs, shortenIfLate } from './plan.js';
import type { RunState } from './state.js';

/** The first full epoch's speed: mean seconds per step, its steps' total, and when it started. */
export interface EpochMeasure {
  secondsPerStep: number;
  stepSeconds: number;
  start: number;
}

/** "at 14:30 of the 15:00 budget (about 14:05 UTC)": a planned finish `at` seconds into a run that is `elapsed` seconds in. */
export function finishText(at: number, elapsed: number, limitSeconds: number, nowMs = Date.now()): string {
  const mmss = (s: number) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
  const clock = new Date(nowMs + Math.max(0, at - elapsed) * 1000).toISOString().slice(11, 16);
  return `at ${mmss(at)} of the ${mmss(limitSeconds)} budget (about ${clock} UTC)`;
}

/**
 * Called at the top of every epoch of a time-limited run (before its first step, so the learning
 * rate of every step follows the plan in force): fits the plan when `measured` is given, else
 * shortens a fitted plan when the speed since fitting would carry it past the deadline, or
 * lengthens it (first half only) when that speed leaves whole epochs of the budget unused. Updates
 * `state`; returns what to log, or nothing when the plan stands.
 */
export function keepBudget(
  state: RunState,
  measured: EpochMeasure | undefined,
  at: { now: number; elapsed: number; deadline: number; limitSeconds: number; stepsPerEpoch: number },
  tc: Pick<TrainConfig, 'epochs' | 'timeLimitMinutes'>,
): { message: string; level: 'info' | 'warn'; shortened: boolean } | undefined {
  if (measured) {
    const epochOverheadSeconds = Math.max(0, at.now - measured.start - measured.stepSeconds);
    const planned = planEpochs({ budgetSeconds: at.deadline, elapsedSeconds: at.elapsed, doneEpochs: state.epoch, secondsPerStep: measured.secondsPerStep, stepsPerEpoch: at.stepsPerEpoch, epochOverheadSeconds, maxEpochs: maxEpochsOf(tc) });
    Object.assign(state, { plan: { ...state.plan, epochs: planned }, planFixed: true, planMark: { epoch: state.epoch, elapsedSeconds: at.elapsed } });
    const perEpoch = measured.secondsPerStep * at.stepsPerEpoch + epochOverheadSeconds;
    const finish = finishText(at.elapsed + (planned - state.epoch) * perEpoch, at.elapsed, at.limitSeconds);
    return { message: `time limit ${tc.timeLimitMinutes} min: planning ${planned} epoch${planned === 1 ? '' : 's'} (${perEpoch.toFixed(1)} s each); ${describePlan(state.plan)}; expected to finish ${finish}`, level: 'info', shortened: false };
  }
  if (!state.planFixed || !state.planMark) return undefined;
  const now = { budgetSeconds: at.deadline, elapsedSeconds: at.elapsed, doneEpochs: state.epoch };
  const fewer = shortenIfLate(state.plan.epochs, state.planMark, now);
  if (fewer >= state.plan.epochs) {
    const more = lengthenIfEarly(state.plan.epochs, state.planMark, now, maxEpochsOf(tc));
    if (more <= state.plan.epochs) return undefined;
    const message = `ahead of the time limit of ${tc.timeLimitMinutes} min: planning ${more} epochs instead of ${state.plan.epochs}; ${describePlan({ ...state.plan, epochs: more })}`;
    state.plan = { ...state.plan, epochs: more };
    return { message, level: 'info', shortened: false };
  }
  const message = `running late for the time limit of ${tc.timeLimitMinutes} min: planning ${fewer} epochs instead of ${state.plan.epochs}; ${describePlan({ ...state.plan, epochs: fewer })}`;
  state.plan = { ...state.plan, epochs: fewer };
  return { message, level: 'warn', shortened: true };
}
