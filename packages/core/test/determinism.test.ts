// Same seed, same backend, same machine: the same run bit for bit, and a resumed run equal to the
// uninterrupted one. On the threaded wasm binary (2 XNNPACK threads + the SIMD pool's worker), where
// a float sum split across threads by timing made two runs differ. Own file: the wasm binary is
// chosen once per process.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../src/backend/index.ts';
import { runWinoFilterGrad } from '../src/backend/kernels/winograd.ts';
import { simdPool } from '../src/backend/simd/index.ts';
import { resolveConfig } from '../src/config/resolve.ts';
import { splitIndices, subset } from '../src/data/split.ts';
import { syntheticFaceSet } from '../src/data/synthetic.ts';
import { loadCheckpoint, readMetrics } from '../src/train/run-folder.ts';
import { train } from '../src/train/trainer.ts';

const root = mkdtempSync(path.join(tmpdir(), 'kp-determinism-'));

before(async () => {
  await initBackend('wasm', { threads: 2 });
});

describe('reproducible runs on two threads', () => {
  it('the Winograd filter gradient split over both threads sums in one order: 40 calls, one result', () => {
    const w = tf.backend() as BackendWasm;
    assert.ok(simdPool(w), 'the SIMD pool runs (threaded binary, 2 cores)');
    // 16×12×12×8 → 16 channels, 3×3: 9.4 M multiply-adds, above the two-thread threshold.
    const rnd = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + s) * 43758.5453 % 1);
    const x = tf.tensor4d(rnd(32 * 16 * 16 * 8, 1), [32, 16, 16, 8]);
    const dy = tf.tensor4d(rnd(32 * 16 * 16 * 16, 2), [32, 16, 16, 16]);
    const once = () => {
      const dw = runWinoFilterGrad(w, x, dy, 3, [32, 16, 16, 8, 16, 16, 16, 1, 1]);
      const v = Buffer.from(Float32Array.from(w.readSync(dw.dataId) as Float32Array).buffer);
      w.disposeData(dw.dataId);
      return v;
    };
    const first = once();
    for (let i = 0; i < 40; i++) assert.ok(once().equals(first), `call ${i + 2} differs from the first`);
    tf.dispose([x, dy]);
  });

  const data = () => {
    const all = syntheticFaceSet({ count: 160, seed: 3, size: 32 });
    const sp = splitIndices(all.count, 0.2, 1);
    return { train: subset(all, sp.train), val: subset(all, sp.val) };
  };
  // Batch 32 of 32×32 faces: the second convolution's filter gradient splits over both threads.
  const config = () =>
    resolveConfig({
      preset: 'tiny',
      backend: 'wasm',
      seed: 11,
      model: { conv: [{ filters: 8, kernel: 3, batchNorm: true, pool: 2 }, { filters: 16, kernel: 3, batchNorm: true }], dense: [32], dropout: 0.2 },
      train: { epochs: 3, batchSize: 32, augment: { flip: true, shift: 2, rotate: 5, brightness: 0.1 } },
    });
  // A finished run's checkpoint keeps its last and best weights (no optimizer state): each list as bytes.
  const lists = async (dir: string) => {
    const ck = await loadCheckpoint(dir);
    const bytes = (l: Float32Array[]) => Buffer.concat(l.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
    return { 'last weights': bytes(ck.weights), 'best weights': bytes(ck.best), 'weights.bin': await readFile(path.join(dir, 'weights.bin')) };
  };
  const same = async (x: string, y: string, what: string) => {
    const [l, m] = [await lists(x), await lists(y)];
    for (const k of Object.keys(l) as Array<keyof typeof l>) assert.ok(l[k].length > 0 && l[k].equals(m[k]), `${k} differ between ${what}`);
  };

  it('two runs with one seed: the same weights and metrics, bit for bit; a resumed run too', async () => {
    const a = path.join(root, 'a'), b = path.join(root, 'b'), c = path.join(root, 'c');
    await train({ config: config(), runDir: a, data: data() });
    await train({ config: config(), runDir: b, data: data() });
    await same(a, b, 'two runs');
    const strip = (m: Awaited<ReturnType<typeof readMetrics>>) => m.map(({ trainLoss, valLoss, valRmse }) => [trainLoss, valLoss, valRmse]);
    assert.deepEqual(strip(await readMetrics(b)), strip(await readMetrics(a)));

    // Stopped before batch 2 of epoch 2 (the trainer reads `aborted` once per batch), then resumed.
    let checks = 0;
    const signal = { get aborted() { return ++checks > 5; } } as unknown as AbortSignal;
    assert.equal((await train({ config: config(), runDir: c, data: data(), signal })).reason, 'stopped');
    await train({ runDir: c, data: data(), resume: true });
    // Epochs 2 and 3 after the resume step from the checkpoint's optimizer state: equal weights need it exact.
    await same(a, c, 'the resumed and the uninterrupted run');
    assert.deepEqual(strip(await readMetrics(c)), strip(await readMetrics(a)));
  });
});
