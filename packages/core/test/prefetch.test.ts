import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { batchPrefetcher, BATCH_WORKER_ENV, prefetchOff } from '../src/data/prefetch.ts';
import { createRng, flipPermutation, makeBatch, subset, syntheticFaceSet } from '../src/index.ts';

const augment = { flip: true, shift: 2, rotate: 5, scale: 0.05, brightness: 0.1 };

/** A 24-face set in shared memory, as a run's training rows are (subset allocates them so). */
function sharedSet() {
  const raw = syntheticFaceSet({ count: 24, seed: 3 });
  return subset(raw, Array.from({ length: raw.count }, (_, i) => i));
}

/** Batches of 5 rows in a shuffled order, as the trainer asks for them, each with the rng's state before its draws. */
async function drawn(set: ReturnType<typeof sharedSet>, seed: number) {
  const perm = flipPermutation(set.keypoints);
  const order = createRng(seed).shuffle(Int32Array.from({ length: set.count }, (_, i) => i));
  const rng = createRng(seed + 1);
  const pre = batchPrefetcher(set, { augment, perm });
  const out: { x: Float32Array; y: Float32Array; mask: Float32Array; rngBefore?: number[] }[] = [];
  try {
    const rows = (b: number) => order.subarray(5 * b, Math.min(set.count, 5 * b + 5));
    pre.request(rows(0), rng);
    for (let b = 0; b < 5; b++) {
      const rngBefore = pre.pendingRngState();
      const batch = await pre.take();
      if (b + 1 < 5) pre.request(rows(b + 1), rng); // the next one is drawn while this one "trains"
      // Copied now: the pixel buffer is reused two requests later.
      out.push({ x: batch.x.slice(), y: batch.y, mask: batch.mask, rngBefore });
    }
  } finally {
    await pre.close();
  }
  return { out, threaded: pre.threaded, perm, order };
}

describe('batch prefetcher (pixels drawn on a worker thread)', () => {
  it('gives makeBatch\'s batches bit for bit, and the rng state before each batch\'s draws', async () => {
    const set = sharedSet();
    assert.equal(prefetchOff(set), undefined, 'a subset lives in shared memory');
    const { out, threaded, perm, order } = await drawn(set, 11);
    assert.equal(threaded, true);
    const rng = createRng(12);
    for (let b = 0; b < 5; b++) {
      assert.deepEqual(out[b]!.rngBefore, rng.getState(), `batch ${b}: state before its draws`);
      const want = makeBatch(set, order.subarray(5 * b, Math.min(set.count, 5 * b + 5)), { augment, rng, perm });
      assert.equal(out[b]!.x.length, want.x.length);
      assert.deepEqual(out[b]!.x, want.x, `batch ${b}: pixels`);
      assert.deepEqual(out[b]!.y, want.y, `batch ${b}: targets`);
      assert.deepEqual(out[b]!.mask, want.mask, `batch ${b}: mask`);
    }
    // The augmentation really resampled (not a copy of the source rows).
    const plain = makeBatch(set, order.subarray(0, 5));
    assert.notDeepEqual(out[0]!.x, plain.x);
  });

  it('draws on the training thread, the same batches, when the pixels are not shared or $KEYPOINTS_BATCH_WORKER=0', async () => {
    const set = sharedSet();
    const threaded = await drawn(set, 5);
    const unshared = { ...set, pixels: Float32Array.from(set.pixels) };
    assert.match(prefetchOff(unshared) ?? '', /not in shared memory/);
    const local = await drawn(unshared, 5);
    assert.equal(local.threaded, false);
    process.env[BATCH_WORKER_ENV] = '0';
    try {
      assert.match(prefetchOff(set) ?? '', /KEYPOINTS_BATCH_WORKER=0/);
      const off = await drawn(set, 5);
      assert.equal(off.threaded, false);
      assert.deepEqual(off.out, threaded.out);
    } finally {
      delete process.env[BATCH_WORKER_ENV];
    }
    assert.deepEqual(local.out, threaded.out);
  });

  it('take() before any request is a programming error, said plainly', () => {
    const pre = batchPrefetcher({ ...sharedSet(), pixels: new Float32Array(24 * 96 * 96) }, { augment });
    assert.throws(() => pre.take(), /take\(\) before request\(\)/);
  });
});
