// The threaded wasm binary under Node (src/backend/wasm-threads.ts). Its own test file because the
// wasm binary is chosen once per process and node's test runner gives every file a process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/index.ts';
import { addressOf, MAX_PARTS, ranges, runParts, simdPool, type SimdKernels } from '../src/backend/simd/index.ts';

type Net = { w1: tf.Tensor4D; b1: tf.Tensor1D; w2: tf.Tensor4D; d: tf.Tensor2D };

function loss(x: tf.Tensor4D, y: tf.Tensor2D, p: Net): tf.Scalar {
  const h1 = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, p.w1, 1, 'same'), p.b1)) as tf.Tensor4D, 2, 2, 'valid');
  const h2 = tf.maxPool(tf.relu(tf.conv2d(h1, p.w2, 2, 'same')), 2, 2, 'same');
  const out = tf.matMul(tf.reshape(h2, [x.shape[0], -1]), p.d);
  return tf.mean(tf.squaredDifference(out, y));
}

/** Loss and gradients of every parameter on the current backend, as plain arrays. */
function gradsOn(x: Float32Array, y: Float32Array, vals: Record<keyof Net, Float32Array>, shapes: Record<keyof Net, number[]>) {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, [6, 17, 17, 2]);
    const yt = tf.tensor2d(y, [6, 5]);
    const names = Object.keys(vals) as (keyof Net)[];
    const f = (...ps: tf.Tensor[]) => loss(xt, yt, Object.fromEntries(names.map((n, i) => [n, ps[i]])) as unknown as Net);
    const { value, grads } = tf.valueAndGrads(f)(names.map((n) => tf.tensor(vals[n], shapes[n])));
    return { loss: value.dataSync()[0], grads: grads.map((g) => g.dataSync() as Float32Array) };
  });
}

test('wasm with 2 XNNPACK threads under Node: initialises, trains a small CNN with the cpu backend\'s gradients', async () => {
  const info = await initBackend('wasm', { threads: 2 });
  assert.equal(getThreadsCount(), 2, info.note);
  assert.match(info.note, /2 threads/);
  assert.equal((globalThis as { Worker?: unknown }).Worker, undefined, 'the temporary global Worker is removed again');

  const rnd = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + s) * 0.5);
  const shapes = { w1: [3, 3, 2, 8], b1: [8], w2: [5, 5, 8, 6], d: [2 * 2 * 6, 5] };
  const vals = { w1: rnd(144, 1), b1: rnd(8, 2), w2: rnd(1200, 3), d: rnd(120, 4) };
  const x = rnd(6 * 17 * 17 * 2, 5);
  const y = rnd(30, 6);
  const onWasm = gradsOn(x, y, vals, shapes);
  await initBackend('cpu');
  const onCpu = gradsOn(x, y, vals, shapes);
  await initBackend('wasm');
  assert.ok(Math.abs(onWasm.loss - onCpu.loss) <= 1e-5 * Math.abs(onCpu.loss));
  onCpu.grads.forEach((g, k) => {
    const scale = Math.max(...g.map(Math.abs));
    const err = Math.max(...g.map((v, i) => Math.abs(v - onWasm.grads[k]![i]!)));
    // float32 sums of a few thousand products summed in another order: ~1e-6 relative to the largest entry.
    assert.ok(err <= 1e-4 * scale, `gradient ${k}: max abs error ${err} vs scale ${scale}`);
  });
});

test('SIMD pool: parts claimed by both threads run exactly once; per-thread slots', async () => {
  await initBackend('wasm', { threads: 2 });
  const w = tf.backend() as BackendWasm;
  assert.ok(simdPool(w), 'the threaded binary shares its memory, so the pool runs');
  const n = 1 << 16;
  const x = tf.tensor1d(Float32Array.from({ length: n }, (_, i) => (i % 97) - 48));
  const y = tf.zeros([n]), y0 = tf.zeros([n]), y1 = tf.zeros([n]);
  const [px, py, p0, p1] = [x, y, y0, y1].map((t) => addressOf(w, t as unknown as TensorInfo));
  const parts = ranges(n, MAX_PARTS, 4).map(([i0, i1]) => [py, px, 0.5, i0, i1] as Parameters<SimdKernels['axpy']>);
  for (let round = 0; round < 50; round++) runParts(w, 'axpy', parts); // y += 0.5·x, 50 times over
  assert.deepEqual(Array.from(await y.data()), Array.from(await x.data(), (v) => 25 * v));
  // y (argument 0) per thread: each part lands in exactly one of the two buffers.
  runParts(w, 'axpy', parts, { index: 0, values: [p0, p1] });
  const [a, b] = [await y0.data(), await y1.data()];
  assert.deepEqual(Array.from(a, (v, i) => v + b[i]!), Array.from(await x.data(), (v) => 0.5 * v));
  tf.dispose([x, y, y0, y1]);
});

test('ranges: near-equal, aligned, covering [0, n) once', () => {
  assert.deepEqual(ranges(10, 3), [[0, 3], [3, 7], [7, 10]]);
  assert.deepEqual(ranges(100, 4, 16), [[0, 32], [32, 48], [48, 80], [80, 100]]);
  assert.deepEqual(ranges(3, 8), [[0, 1], [1, 2], [2, 3]]);
  assert.deepEqual(ranges(5, 1), [[0, 5]]);
});
