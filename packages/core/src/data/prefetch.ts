import { Worker } from 'node:worker_threads';
import type { AugmentConfig } from '../config/schema.js';
import type { Rng } from '../util/random.js';
import { planBatch, renderBatch, warpImage, WARP, type Batch } from './batch.js';
import type { FaceSet } from './types.js';

/**
 * Training batches built one step ahead, their pixels drawn on a worker thread while the current
 * step trains: the resampling (augmentation) took ~4 ms of a ~60 ms default-network step on the
 * training thread, and our kernels leave the second core partly idle (threadIdleMsPerStep). The
 * random draws and targets stay on this thread (planBatch, in makeBatch's order), so a run's
 * batches are the very ones makeBatch gives, bit for bit (test/prefetch.test.ts).
 */
export interface BatchPrefetcher {
  /**
   * Plans the batch of these rows now, drawing its random numbers from `rng` here, and starts
   * drawing its pixels. The rng's state before the draws is kept (see `pendingRngState`).
   */
  request(indices: ArrayLike<number>, rng?: Rng): void;
  /** The batch last requested, once its pixels are drawn. Its pixels stay valid until the second request after. */
  take(): Promise<Batch>;
  /** The rng's state before the requested batch that was not taken yet (a stop saves it), else undefined. */
  pendingRngState(): number[] | undefined;
  /** Whether pixels are drawn on the worker (false: on this thread, see prefetchOff). */
  readonly threaded: boolean;
  close(): Promise<void>;
}

/** Set to 0 to draw every batch on the training thread (as makeBatch), e.g. to compare. */
export const BATCH_WORKER_ENV = 'KEYPOINTS_BATCH_WORKER';

// Plain JS (eval'd): no file to locate beside whichever bundle runs this. warpImage is self-contained.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const warp = (${warpImage.toString()});
const { pixels, W, H } = workerData;
const S = W * H;
parentPort.on('message', ({ id, rows, warps, out }) => {
  let error;
  try {
    for (let i = 0; i < rows.length; i++) warp(pixels, rows[i] * S, out, i * S, W, H, warps, i * ${WARP});
  } catch (e) {
    error = String(e && e.message || e);
  }
  parentPort.postMessage({ id, error });
});
`;

/** Why batches are drawn on the training thread, or undefined when the worker can do it. */
export function prefetchOff(set: FaceSet): string | undefined {
  if (process.env[BATCH_WORKER_ENV] === '0') return `$${BATCH_WORKER_ENV}=0`;
  if (typeof SharedArrayBuffer === 'undefined' || !(set.pixels.buffer instanceof SharedArrayBuffer)) return 'the pixels are not in shared memory';
  return undefined;
}

export function batchPrefetcher(set: FaceSet, opts: { augment?: AugmentConfig; perm?: Int32Array }): BatchPrefetcher {
  const W = set.width, H = set.height, S = W * H;
  let pending: { rngState?: number[]; batch: Promise<Batch> } | undefined;
  const plan = (indices: ArrayLike<number>, rng: Rng | undefined) => {
    const rngState = rng?.getState();
    return { rngState, plan: planBatch(set, indices, { ...opts, rng }) };
  };
  if (prefetchOff(set)) {
    return {
      threaded: false,
      request(indices, rng) {
        const { rngState, plan: p } = plan(indices, rng);
        pending = { rngState, batch: Promise.resolve({ size: p.size, x: renderBatch(set.pixels, W, H, p), y: p.y, mask: p.mask }) };
      },
      take: () => takePending(),
      pendingRngState: () => pending?.rngState,
      close: async () => {},
    };
  }

  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { pixels: set.pixels, W, H } });
  worker.unref();
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let failed: Error | undefined;
  worker.on('message', ({ id, error }: { id: number; error?: string }) => {
    const w = waiting.get(id);
    waiting.delete(id);
    if (error) w?.reject(new Error(`batch worker: ${error}`));
    else w?.resolve();
  });
  worker.on('error', (e) => {
    failed = e;
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  });
  // Two pixel buffers in turn: one being drawn while the other's batch trains.
  const buffers: Float32Array[] = [new Float32Array(0), new Float32Array(0)];
  let turn = 0, nextId = 0;
  const bufferFor = (n: number) => {
    turn ^= 1;
    if (buffers[turn]!.length < n * S) buffers[turn] = new Float32Array(new SharedArrayBuffer(4 * n * S));
    return buffers[turn]!.subarray(0, n * S);
  };
  return {
    threaded: true,
    request(indices, rng) {
      const { rngState, plan: p } = plan(indices, rng);
      const out = bufferFor(p.size);
      const batch = { size: p.size, x: out, y: p.y, mask: p.mask };
      if (failed) {
        renderBatch(set.pixels, W, H, p, out);
        pending = { rngState, batch: Promise.resolve(batch) };
        return;
      }
      const id = nextId++;
      const drawn = new Promise<void>((resolve, reject) => waiting.set(id, { resolve, reject }));
      worker.postMessage({ id, rows: p.rows, warps: p.warps, out });
      // A worker that failed mid-run: this batch is drawn here instead, the same pixels.
      pending = { rngState, batch: drawn.then(() => batch, () => ({ ...batch, x: renderBatch(set.pixels, W, H, p, out) })) };
    },
    take: () => takePending(),
    pendingRngState: () => pending?.rngState,
    close: async () => {
      pending = undefined;
      await worker.terminate();
    },
  };

  function takePending(): Promise<Batch> {
    if (!pending) throw new Error('batch prefetcher: take() before request()');
    const b = pending.batch;
    pending = undefined;
    return b;
  }
}
