import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrainingEvent } from '@keypoints/core/protocol';
import type { TrainerState } from '../src/format.ts';
import { trainingEventHandler } from '../src/training-events.ts';

function fakeUi() {
  const ui = { states: [] as TrainerState[], errors: [] as string[], logs: [] as string[], progressEnded: 0 };
  const handler = trainingEventHandler({
    setState: (s) => ui.states.push(s),
    log: { info: (m) => ui.logs.push(m), warn: (m) => ui.logs.push(m) },
    showError: (what, message) => ui.errors.push(`${what}: ${message}`),
    progressDone: () => ui.progressEnded++,
  });
  return { ui, handler };
}

const start: TrainingEvent = { type: 'start', runDir: '/r', backend: 'wasm', backendNote: '', dataSource: 'x.csv', synthetic: false, trainCount: 10, valCount: 2, keypoints: ['a'], epochs: 5, stepsPerEpoch: 2, startEpoch: 1, parameters: 1, flopsPerImage: 1 };

test('a failed run shows one error message, as the server sends one error event (the trainer emits none)', () => {
  const { ui, handler } = fakeUi();
  handler(start);
  handler({ type: 'batchEnd', epoch: 1, batch: 1, batches: 2, loss: 0.1, learningRate: 1e-3, imagesPerSecond: 10, etaSeconds: 3 });
  handler({ type: 'error', message: 'x.csv: no such file', code: 'input' });
  assert.deepEqual(ui.errors, ['training failed: x.csv: no such file']);
  assert.deepEqual(ui.states.at(-1), { kind: 'error', message: 'x.csv: no such file' });
  assert.equal(ui.progressEnded, 1);
});

test('the server stopping mid-run is not shown a second time (its own message offers Restart)', () => {
  const { ui, handler } = fakeUi();
  handler(start);
  handler({ type: 'error', message: 'the trainer server stopped', code: 'server-exit' });
  assert.deepEqual(ui.errors, []);
  assert.equal(ui.states.at(-1)?.kind, 'error');
});

test('progress follows the plan: batches report the epochs planned at the last epoch end', () => {
  const { ui, handler } = fakeUi();
  handler(start);
  handler({ type: 'epochEnd', epoch: 1, epochs: 3, trainLoss: 1, valLoss: 1, valRmse: 2, learningRate: 1e-3, seconds: 1, imagesPerSecond: 10, elapsedSeconds: 1, best: true });
  handler({ type: 'batchEnd', epoch: 2, batch: 1, batches: 2, loss: 0.1, learningRate: 1e-3, imagesPerSecond: 10, etaSeconds: 3 });
  assert.deepEqual(ui.states.at(-1), { kind: 'training', epoch: 2, epochs: 3, etaSeconds: 3 });
  handler({ type: 'done', runDir: '/r', reason: 'completed', bestEpoch: 1, bestValLoss: 0.1, bestValRmse: 2, epochsRun: 3, seconds: 9 });
  assert.deepEqual(ui.states.at(-1), { kind: 'idle', lastRmse: 2 });
  assert.equal(ui.errors.length, 0);
});
