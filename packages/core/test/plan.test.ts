import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from '../src/config/resolve.ts';
import { lrAt, makePlan, measuredSecondsPerStep, planEpochs, PLAN_MARGIN, type EpochBudget } from '../src/train/plan.ts';
import { learningRateAt } from '../src/train/schedule.ts';

const budget = (over: Partial<EpochBudget> = {}): EpochBudget => ({ budgetSeconds: 600, elapsedSeconds: 60, doneEpochs: 1, secondsPerStep: 0.5, stepsPerEpoch: 100, epochOverheadSeconds: 5, maxEpochs: 100, ...over });

describe('planEpochs', () => {
  it('fits the epochs the measured speed allows into the time left', () => {
    // 540 s left, 55 s an epoch with the margin: floor(540 / (55·1.03)) = 9 more.
    const perEpoch = 55 * PLAN_MARGIN;
    assert.equal(planEpochs(budget()), 1 + Math.floor(540 / perEpoch));
    assert.equal(planEpochs(budget()), 10);
  });

  it('never plans more than train.epochs nor fewer than the epochs done', () => {
    assert.equal(planEpochs(budget({ maxEpochs: 4 })), 4);
    assert.equal(planEpochs(budget({ elapsedSeconds: 700, doneEpochs: 3 })), 3);
  });

  it('without a time limit the configured epochs count', () => {
    assert.equal(planEpochs(budget({ budgetSeconds: Infinity })), 100);
  });

  it('a faster machine plans more epochs, a slower one fewer', () => {
    const base = planEpochs(budget());
    assert.ok(planEpochs(budget({ secondsPerStep: 0.25 })) > base);
    assert.ok(planEpochs(budget({ secondsPerStep: 1 })) < base);
    assert.ok(planEpochs(budget({ epochOverheadSeconds: 50 })) < base);
  });

  it('the planned epochs, at the measured speed, end inside the budget', () => {
    for (const secondsPerStep of [0.01, 0.1, 0.37, 1.3]) {
      const b = budget({ secondsPerStep, maxEpochs: 10_000 });
      const epochs = planEpochs(b);
      const end = b.elapsedSeconds + (epochs - b.doneEpochs) * (secondsPerStep * b.stepsPerEpoch + b.epochOverheadSeconds);
      assert.ok(end <= b.budgetSeconds, `${secondsPerStep} s/step: ${epochs} epochs end at ${end} s`);
      // …and one more would not fit with the margin.
      const more = b.elapsedSeconds + (epochs + 1 - b.doneEpochs) * (secondsPerStep * b.stepsPerEpoch + b.epochOverheadSeconds) * PLAN_MARGIN;
      assert.ok(more > b.budgetSeconds, `${secondsPerStep} s/step: room for epoch ${epochs + 1}`);
    }
  });
});

describe('measuredSecondsPerStep', () => {
  it('leaves out the slow first steps of a fresh process', () => {
    assert.equal(measuredSecondsPerStep([3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1]), 1);
    // Too few steps to drop any: the plain mean.
    assert.equal(measuredSecondsPerStep([2, 1, 3]), 2);
    assert.ok(Number.isNaN(measuredSecondsPerStep([])));
  });
});

describe('lrAt', () => {
  const tc = resolveConfig({ train: { learningRate: 0.01, schedule: { type: 'cosine', warmupEpochs: 1, minFactor: 0.1 } } }).train;

  it('is the schedule of the step, ending at minFactor·base at the planned end', () => {
    const plan = makePlan(tc, 10, 20);
    assert.equal(lrAt(9, plan), 0.01);
    assert.ok(Math.abs(lrAt(199, plan) - 0.001) < 1e-4);
    for (const step of [0, 5, 50, 150]) assert.equal(lrAt(step, plan), learningRateAt(step, { base: 0.01, schedule: tc.schedule, stepsPerEpoch: 10, totalSteps: 200 }));
  });

  it('depends on the step and the plan alone (same inputs, same rate; a shorter plan decays sooner)', () => {
    const long = makePlan(tc, 10, 20), short = makePlan(tc, 10, 8);
    assert.equal(lrAt(60, long), lrAt(60, makePlan(tc, 10, 20)));
    assert.ok(lrAt(60, short) < lrAt(60, long));
  });

  it('head-only steps train at the base rate; the schedule, warm-up included, starts when every layer trains', () => {
    const plan = makePlan({ ...tc, freezeEpochs: 2 }, 10, 20);
    assert.equal(plan.freezeSteps, 20);
    assert.equal(lrAt(0, plan), 0.01);
    assert.equal(lrAt(19, plan), 0.01);
    assert.equal(lrAt(20, plan), 0.001, 'warm-up restarts at base/warmupSteps');
    assert.ok(Math.abs(lrAt(199, plan) - 0.001) < 1e-4);
  });
});
