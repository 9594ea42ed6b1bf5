import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from '../src/config/resolve.ts';
import { describePlan, lengthenIfEarly, lrAt, makePlan, measuredSecondsPerStep, planEpochs, PLAN_MARGIN, reserveSeconds, shortenIfLate, type EpochBudget } from '../src/train/plan.ts';
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

/**
 * A run on a fake clock, planned the way the trainer plans it: the first epoch measured, planEpochs,
 * then shortenIfLate (else lengthenIfEarly) after every epoch, and the hard stop at the deadline. `epochSeconds(e)` is what
 * epoch e (1-based) costs on the simulated machine; returns the seconds used and the epochs run.
 */
function simulate(limitSeconds: number, stepsPerEpoch: number, epochSeconds: (e: number) => number, overhead: number) {
  const deadline = limitSeconds - reserveSeconds(limitSeconds);
  let t = 0, planned = Infinity, done = 0, cut = false;
  let mark: { epoch: number; elapsedSeconds: number } | undefined;
  while (done < planned) {
    const cost = epochSeconds(done + 1);
    if (t + cost - overhead > deadline) {
      // The trainer stops between steps at the deadline: the epoch's steps up to it, then the final writes.
      t = deadline;
      cut = true;
      break;
    }
    t += cost;
    done++;
    if (!mark) {
      planned = planEpochs({ budgetSeconds: deadline, elapsedSeconds: t, doneEpochs: done, secondsPerStep: (cost - overhead) / stepsPerEpoch, stepsPerEpoch, epochOverheadSeconds: overhead, maxEpochs: Infinity });
      mark = { epoch: done, elapsedSeconds: t };
    } else {
      const at = { budgetSeconds: deadline, elapsedSeconds: t, doneEpochs: done };
      const fewer = shortenIfLate(planned, mark, at);
      planned = fewer < planned ? fewer : lengthenIfEarly(planned, mark, at, Infinity);
    }
  }
  return { used: t + reserveSeconds(limitSeconds), epochs: done, cut };
}

describe('a time-limited "auto" run (fake clock)', () => {
  it('fills a budget within a few percent and never overruns it, at any speed', () => {
    for (const limit of [15 * 60, 5 * 60, 60 * 60]) {
      for (const perEpoch of [1.7, 9, 23.4]) {
        const r = simulate(limit, 100, () => perEpoch, 0.1 * perEpoch);
        assert.ok(r.used <= limit, `${limit} s at ${perEpoch} s/epoch: used ${r.used} s`);
        assert.ok(r.used >= 0.92 * limit, `${limit} s at ${perEpoch} s/epoch: used only ${r.used.toFixed(0)} s (${r.epochs} epochs)`);
        assert.equal(r.cut, false, 'a steady machine finishes its plan');
      }
    }
  });

  it('a machine that slows down after the plan ends its (shortened) plan inside the budget', () => {
    // 9 s epochs measured, then 30 % slower from epoch 20 (another job started): shortenIfLate keeps the end inside.
    const r = simulate(15 * 60, 100, (e) => (e < 20 ? 9 : 11.7), 0.9);
    assert.ok(r.used <= 15 * 60, `used ${r.used} s`);
    assert.equal(r.cut, false, 'shortened in time, not cut at the deadline');
    // A slowdown in the very last epochs can still only be cut: the hard stop holds the limit.
    const late = simulate(15 * 60, 100, (e) => (e < 94 ? 9 : 40), 0.9);
    assert.ok(late.used <= 15 * 60, `used ${late.used} s`);
  });

  it('shortenIfLate only ever shrinks the plan', () => {
    assert.equal(shortenIfLate(50, { epoch: 1, elapsedSeconds: 10 }, { budgetSeconds: 600, elapsedSeconds: 20, doneEpochs: 11 }), 50);
    assert.equal(shortenIfLate(50, { epoch: 1, elapsedSeconds: 10 }, { budgetSeconds: 600, elapsedSeconds: 310, doneEpochs: 11 }), 11 + Math.floor(290 / (30 * PLAN_MARGIN)));
  });

  it('a first epoch slower than the rest (JIT, a busy moment) still fills the budget', () => {
    // The real case: a 15-minute pretrained run measured 65 s for its first full epoch, then ran 46 s
    // epochs, and planned only once: it ended after 11:17. Here epoch 1 costs 1.4× the rest.
    for (const perEpoch of [9, 46]) {
      const r = simulate(15 * 60, 100, (e) => (e === 1 ? 1.4 * perEpoch : perEpoch), 0.1 * perEpoch);
      assert.ok(r.used <= 15 * 60, `${perEpoch} s/epoch: used ${r.used} s`);
      assert.ok(r.used >= 0.92 * 15 * 60, `${perEpoch} s/epoch: used only ${r.used.toFixed(0)} s (${r.epochs} epochs)`);
      assert.equal(r.cut, false);
    }
  });

  it('lengthenIfEarly stretches only in the first half of the plan, never past maxEpochs', () => {
    const mark = { epoch: 1, elapsedSeconds: 10 };
    // 10 epochs done of 30 at 10 s each since the mark, 500 s left: 48 fit (10 + 500 / 10.3).
    assert.equal(lengthenIfEarly(30, mark, { budgetSeconds: 600, elapsedSeconds: 100, doneEpochs: 10 }, Infinity), 10 + Math.floor(500 / (10 * PLAN_MARGIN)));
    assert.equal(lengthenIfEarly(30, mark, { budgetSeconds: 600, elapsedSeconds: 100, doneEpochs: 10 }, 40), 40);
    assert.equal(lengthenIfEarly(18, mark, { budgetSeconds: 600, elapsedSeconds: 100, doneEpochs: 10 }, Infinity), 18, 'past half: the cosine is annealing');
    assert.equal(lengthenIfEarly(60, mark, { budgetSeconds: 600, elapsedSeconds: 100, doneEpochs: 10 }, Infinity), 60, 'never shrinks');
    assert.equal(lengthenIfEarly(30, mark, { budgetSeconds: Infinity, elapsedSeconds: 100, doneEpochs: 10 }, Infinity), 30, 'no time limit');
  });
});

describe('train.epochs "auto"', () => {
  it('is what a time limit without epochs resolves to; given epochs stay exactly what was given', () => {
    assert.equal(resolveConfig({ train: { timeLimitMinutes: 15 } }).train.epochs, 'auto');
    assert.equal(resolveConfig({ preset: 'pretrained', train: { timeLimitMinutes: 15 } }).train.epochs, 'auto');
    assert.equal(resolveConfig({ train: { timeLimitMinutes: 15, epochs: 40 } }).train.epochs, 40);
    assert.equal(resolveConfig({}).train.epochs, 60, "no time limit: the preset's epochs");
    // A saved config.json resolves to itself (a resume plans the same way).
    const saved = resolveConfig({ train: { timeLimitMinutes: 15 } });
    assert.deepEqual(resolveConfig(JSON.parse(JSON.stringify(saved))), saved);
  });

  it('needs a time limit', () => {
    assert.throws(() => resolveConfig({ train: { epochs: 'auto' } }, 'x.keypoints.json'), /^UserError: x\.keypoints\.json: field "train\.epochs": "auto" plans the epochs a time limit holds/);
  });
});

describe('describePlan', () => {
  it('says the schedule the plan gives, with its end', () => {
    const tc = resolveConfig({ train: { timeLimitMinutes: 15 } }).train;
    assert.equal(tc.epochs, 'auto', 'a time limit without epochs plans them');
    assert.equal(describePlan(makePlan(tc, 98, 95)), 'learning rate: warm-up 0.5 epochs, then cosine from 2e-3 to 2e-5 at epoch 95');
    assert.match(describePlan(makePlan(tc, 98)), /at the planned end$/);
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
