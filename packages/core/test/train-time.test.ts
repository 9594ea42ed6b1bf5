// Where a run's time goes: summary.json's timeBreakdownSeconds (train/time-breakdown.ts). No timing
// assertions: a clock that ticks once per read makes every phase's figure a count of what ran in it.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { initBackend } from '../src/backend/index.ts';
import { resolveConfig } from '../src/config/resolve.ts';
import { splitIndices, subset } from '../src/data/split.ts';
import { syntheticFaceSet } from '../src/data/synthetic.ts';
import type { TrainingEvent } from '../src/train/events.ts';
import { addBreakdowns, formatBreakdown, timeTracker, type TimeBreakdown } from '../src/train/time-breakdown.ts';
import { train } from '../src/train/trainer.ts';

before(async () => {
  await initBackend('wasm');
});

const root = mkdtempSync(path.join(tmpdir(), 'kp-train-time-'));
let runs = 0;
const runDir = (name: string) => path.join(root, `${name}-${++runs}`);

/** 160 synthetic 32-px faces: 128 train (8 batches of 16), 32 validation. */
function data() {
  const all = syntheticFaceSet({ count: 160, seed: 3, size: 32 });
  const sp = splitIndices(all.count, 0.2, 1);
  return { train: subset(all, sp.train), val: subset(all, sp.val) };
}
const config = (epochs: number) =>
  resolveConfig({ preset: 'tiny', backend: 'wasm', seed: 5, model: { conv: [{ filters: 8, kernel: 3 }], dense: [16] }, train: { epochs, batchSize: 16 } });

/** Advances 1 s on every read: a phase read twice (in and out) lasts exactly 1 s when nothing inside it reads the clock. */
const tickClock = () => {
  let t = 0;
  return () => ++t;
};
const total = (b: TimeBreakdown) => b.batch + b.step + b.validate + b.save + b.other;
const summaryOf = async (dir: string) => JSON.parse(await readFile(path.join(dir, 'summary.json'), 'utf8')) as { seconds: number; timeBreakdownSeconds: TimeBreakdown };

describe('timeTracker', () => {
  it('adds phases, counts a nested phase as the outer one and an open phase up to now; other is the rest', async () => {
    let t = 0;
    const times = timeTracker(() => t, { batch: 2, step: 'x', validate: -1 });
    times.timeSync('batch', () => (t += 3));
    await times.time('save', async () => {
      t += 1;
      await times.time('step', async () => void (t += 4)); // inside the save: the save's
      assert.deepEqual(times.of(t + 10), { batch: 5, step: 0, validate: 0, save: 5, other: 8 }, 'the save under way counts up to now');
    });
    // The prior step and validate were not numbers one can trust: they count as other.
    assert.deepEqual(times.of(20), { batch: 5, step: 0, validate: 0, save: 5, other: 10 });
    assert.throws(() => times.timeSync('step', () => { t += 2; throw new Error('boom'); }), /boom/);
    assert.equal(times.of(20).step, 2, 'a failed phase still counts');
  });

  it('formats shares for the CLI and adds runs phase by phase', () => {
    const b = { batch: 9, step: 80, validate: 4, save: 5, other: 2 };
    assert.equal(formatBreakdown(b), 'steps 80 %, batches 9 %, validation 4 %, saving 5 %, other 2 %');
    assert.deepEqual(addBreakdowns([b, b]), { batch: 18, step: 160, validate: 8, save: 10, other: 4 });
  });
});

describe('trainer time breakdown', () => {
  it('each phase holds what ran in it (tick clock), and the phases add up to the run\'s seconds', async () => {
    const dir = runDir('tick');
    const done: TrainingEvent[] = [];
    const s = await train({ config: config(2), runDir: dir, data: data(), clock: tickClock(), onEvent: (e) => e.type === 'done' && done.push(e) });
    const b = s.timeBreakdownSeconds!;
    // 2 epochs × 8 batches: one makeBatch and one trainStep each, one validation per epoch, and the
    // output offsets' fit at the end (train.fitOffsets) counted with validation.
    assert.equal(b.batch, 16);
    assert.equal(b.step, 16);
    assert.equal(b.validate, 3);
    assert.ok(b.save >= 2 && b.other >= 0, JSON.stringify(b));
    assert.equal(total(b), s.seconds);
    const json = await summaryOf(dir);
    assert.deepEqual(json.timeBreakdownSeconds, b);
    assert.equal(json.seconds, s.seconds);
    assert.deepEqual((done[0] as { timeBreakdownSeconds?: TimeBreakdown }).timeBreakdownSeconds, b, 'the done event carries it (the CLI prints it)');
  });

  it('a resumed run counts its earlier session\'s phases from the checkpoint; an older checkpoint\'s go to other', async () => {
    for (const old of [false, true]) {
      const dir = runDir(old ? 'resume-old' : 'resume');
      let checks = 0; // the trainer looks at `aborted` once before every batch: stop before step 13 of 32
      const signal = { get aborted() { return ++checks > 12; } } as unknown as AbortSignal;
      const stopped = await train({ config: config(4), runDir: dir, data: data(), clock: tickClock(), signal });
      assert.equal(stopped.reason, 'stopped');
      assert.equal(stopped.timeBreakdownSeconds!.batch, 12);
      const stateFile = path.join(dir, 'checkpoint', 'state.json');
      const state = JSON.parse(await readFile(stateFile, 'utf8'));
      assert.equal(state.timeBreakdownSeconds.batch, 12);
      if (old) {
        delete state.timeBreakdownSeconds;
        await writeFile(stateFile, JSON.stringify(state));
      }
      const s = await train({ runDir: dir, data: data(), resume: true, clock: tickClock() });
      const b = s.timeBreakdownSeconds!;
      assert.equal(b.batch, old ? 20 : 32);
      assert.equal(b.step, old ? 20 : 33, 'the stop\'s loss read-back is a step too');
      assert.ok(b.other >= (old ? state.elapsedSeconds : 0), JSON.stringify(b));
      assert.equal(total(b), s.seconds);
    }
  });

  it('on the real clock: every phase non-negative, the measured ones positive, adding up to seconds within 1 µs', async () => {
    const dir = runDir('real');
    const t0 = performance.now();
    const s = await train({ config: config(2), runDir: dir, data: data() });
    const wall = (performance.now() - t0) / 1000;
    const b = (await summaryOf(dir)).timeBreakdownSeconds;
    for (const k of ['batch', 'step', 'validate', 'save'] as const) assert.ok(b[k] > 0, `${k}: ${b[k]}`);
    assert.ok(b.other >= -1e-9, `other: ${b.other}`); // a remainder: float rounding at most below 0
    assert.ok(Math.abs(total(b) - s.seconds) < 1e-6, `${total(b)} vs ${s.seconds}`);
    assert.ok(s.seconds <= wall, `the run's seconds (${s.seconds}) lie inside the call (${wall})`);
  });
});
