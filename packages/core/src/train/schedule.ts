import type { ScheduleConfig } from '../config/schema.js';

export interface ScheduleContext {
  base: number;
  schedule: ScheduleConfig;
  stepsPerEpoch: number;
  /** Steps the run plans to take (fitted to --time-limit); cosine ends here. */
  totalSteps: number;
}

/**
 * The learning rate at optimisation step `step` (0-based): a pure function, so a resumed run
 * continues on exactly the same curve. Linear warm-up from base/warmupSteps to base, then
 * constant, exponential (smooth), staircase (per decay period) or cosine (to minFactor·base at totalSteps).
 */
export function learningRateAt(step: number, ctx: ScheduleContext): number {
  const { base, schedule: s, stepsPerEpoch } = ctx;
  const warmup = Math.round(s.warmupEpochs * stepsPerEpoch);
  // (step + 1) / warmup is exactly 1 at the last warm-up step, so the rate lands on `base` without float noise.
  if (step < warmup) return base * ((step + 1) / warmup);
  const t = step - warmup;
  const period = Math.max(1, s.decayEpochs * stepsPerEpoch);
  switch (s.type) {
    case 'constant':
      return base;
    case 'exponential':
      return base * s.decayRate ** (t / period);
    case 'staircase':
      return base * s.decayRate ** Math.floor(t / period);
    case 'cosine': {
      const span = Math.max(1, ctx.totalSteps - warmup);
      const p = Math.min(1, t / span);
      return base * (s.minFactor + (1 - s.minFactor) * 0.5 * (1 + Math.cos(Math.PI * p)));
    }
  }
}
