// The bench's per-thread idle time (bench/figures.ts, backend/simd/parallel.ts's counters). Its own
// file: the threaded wasm binary is chosen once per process. No timing assertions: only that the
// figures exist, are consistent and non-negative.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { measureOne, threadFigures } from '../src/bench/index.ts';
import { initBackend } from '../src/backend/index.ts';
import { poolStats } from '../src/backend/simd/index.ts';

test('threadFigures: idle per thread and hand-offs per step from two snapshots of the pool counters', () => {
  const before = { calls: 10, mainWaitMs: 5, workerBusyMs: 100 };
  const after = { calls: 50, mainWaitMs: 13, workerBusyMs: 220 };
  // 4 steps over 200 ms: the main thread waited 8 ms (2 a step), the worker ran 120 ms of the 200.
  assert.deepEqual(threadFigures('wasm', before, after, 200, 4), { threadIdleMsPerStep: [2, 20], poolCallsPerStep: 10 });
  assert.deepEqual(threadFigures('wasm', undefined, undefined, 200, 4), { threadIdleMsPerStep: [0], poolCallsPerStep: null }, 'one thread: nothing to wait for');
  assert.deepEqual(threadFigures('cpu', undefined, undefined, 200, 4), { threadIdleMsPerStep: null, poolCallsPerStep: null });
});

test('a wasm bench record has one idle entry per thread, each within the step', { skip: availableParallelism() < 2 ? 'one core: no second thread' : false }, async () => {
  const r = await measureOne('tiny', 'wasm', { wasmThreads: 2 }, 2);
  assert.match(r.engine, /SIMD kernels on 2 threads/, r.engine);
  assert.equal(r.threadIdleMsPerStep?.length, 2, JSON.stringify(r.threadIdleMsPerStep));
  for (const idle of r.threadIdleMsPerStep!) assert.ok(Number.isFinite(idle) && idle >= 0 && idle <= r.stepMs, `idle ${idle} ms of a ${r.stepMs} ms step`);
  assert.ok(r.poolCallsPerStep! > 0, 'the 96×96×8 first layer at batch 32 is split over both threads');
  assert.ok(r.batchMsPerStep > 0 && r.batchMsPerStep < r.stepMs, `batch ${r.batchMsPerStep} of ${r.stepMs} ms`);
  // stepMs and the throughput are the same measurement.
  assert.ok(Math.abs(r.stepMs - (1000 * r.batch) / r.trainImagesPerSec) < 1e-6 * r.stepMs);
  const s = poolStats(tf.backend())!;
  assert.ok(s.calls > 0 && s.workerBusyMs > 0 && s.mainWaitMs >= 0, JSON.stringify(s));
});

test('poolStats: undefined for a backend without the pool', async () => {
  await initBackend('cpu');
  assert.equal(poolStats(tf.backend()), undefined);
  assert.equal(poolStats(undefined), undefined);
});
