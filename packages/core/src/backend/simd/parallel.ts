import { Worker } from 'node:worker_threads';
import type { SimdKernels } from './index.js';

/**
 * A second thread for Keypoints' SIMD kernels: one worker_threads worker holding its own instance
 * of the kernels module on the same shared memory (TF.js's threaded wasm binary). `run` publishes
 * a kernel call cut into disjoint parts (e.g. ranges of tiles or of the batch), wakes the worker,
 * and both threads claim parts from a shared counter until none are left; it returns when every
 * part is done. Claiming rather than a fixed half each: on these virtual machines the worker
 * often wakes 0.1–0.3 ms late, or its core is briefly busy with XNNPACK's own pool thread, and
 * with fixed halves the main thread then sat waiting (~12 ms of a 66 ms default-network step).
 * Hand-off is a few microseconds of Atomics, no messages. Only for shared memories; the worker
 * is unref'd, so it never keeps a process alive.
 */
export interface SimdPool {
  /**
   * Runs kernels[name](...part) for every part, on both threads; returns when all are done. Per
   * slot (at most MAX_SLOTS), argument `slot.index` is replaced by `slot.values[0]` on this thread
   * and `values[1]` on the worker (per-thread scratch or sums, shared by a thread's parts).
   */
  run<K extends keyof SimdKernels>(name: K, parts: Parameters<SimdKernels[K]>[], slots?: Slot[]): void;
  /** Counters since the pool started (see PoolStats); take two and subtract for a span of work. */
  stats(): PoolStats;
}

/**
 * Where the two threads' time goes, cumulative, in ms: two performance.now() calls per hand-off
 * on the main thread and per part on the worker, nothing per element. The worker's idle time over
 * a span is the span's wall time less its busy time (it has nothing else to do); the main thread's
 * is its wait for the worker's last parts (otherwise it runs everything else, XNNPACK included).
 */
export interface PoolStats {
  /** Kernel calls handed to both threads (each wakes the worker). */
  calls: number;
  /** The main thread waiting, its own claims done, for parts still running on the worker. */
  mainWaitMs: number;
  /** The worker running kernel parts. */
  workerBusyMs: number;
}

/** A per-thread argument: index in the argument list, value on the main thread, value on the worker. */
export interface Slot {
  index: number;
  values: [number, number];
}

/** Every kernel the table holds, in one order for both threads: derived from the table, never listed by hand. */
export function kernelNames(kernels: SimdKernels): (keyof SimdKernels)[] {
  return (Object.keys(kernels) as (keyof SimdKernels)[]).filter((k) => typeof kernels[k] === 'function').sort();
}

/** Parts per call at most. */
export const MAX_PARTS = 16;
/** Per-thread arguments per call at most. */
export const MAX_SLOTS = 2;
const MAX_ARGS = 24;

// flags (Int32): [0] call sequence (−1 = stop), [1] parts done, [2] kernel index, [3] argument
// count, [4] worker error, [5] worker ready, [6] claim word, [7] slot count; the slots' argument
// indices at [8..], their worker values after the parts' arguments.
// The claim word is (seq & 0xff) << 24 | parts << 16 | claimed: one atomic add both claims a part
// and says how many the call has, so a worker that wakes late (even during the next call) can
// tell a real claim (claimed < parts; the call's arguments stay put until all its parts are done)
// from an over-claim, without reading anything the main thread may be rewriting.
const SEQ = 0, DONE = 1, KERNEL = 2, ARGC = 3, ERROR = 4, READY = 5, CLAIM = 6, SLOTS = 7, SLOT_INDEX = 8;
// times (Float64): [0] the worker's busy ms, written by the worker alone before it counts a part
// done, so the main thread's read after the DONE count it waited on sees every finished part.
const BUSY = 0;

// Plain JS (eval'd): no file to locate beside whichever bundle runs this.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, bytes, control, args, times, names, maxArgs, slotAt } = workerData;
const exports_ = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
const fns = names.map((n) => exports_[n]);
const flags = new Int32Array(control);
Atomics.store(flags, ${READY}, 1); // ready: calls may be handed over from now on
const a = new Float64Array(args);
const busy = new Float64Array(times);
let seen = 0;
for (;;) {
  Atomics.wait(flags, ${SEQ}, seen);
  seen = Atomics.load(flags, ${SEQ});
  if (seen < 0) break;
  for (;;) {
    const c = Atomics.add(flags, ${CLAIM}, 1);
    const k = c & 0xffff, parts = (c >>> 16) & 0xff;
    if (k >= parts) break;
    const argc = flags[${ARGC}], slots = flags[${SLOTS}];
    const v = Array.from(a.subarray(k * maxArgs, k * maxArgs + argc));
    for (let j = 0; j < slots; j++) v[flags[${SLOT_INDEX} + j]] = a[slotAt + j];
    const t = performance.now();
    try {
      fns[flags[${KERNEL}]](...v);
    } catch (e) {
      flags[${ERROR}] = 1;
    }
    busy[${BUSY}] += performance.now() - t;
    Atomics.add(flags, ${DONE}, 1);
    Atomics.notify(flags, ${DONE});
  }
}
`;

export function createSimdPool(kernels: SimdKernels, memory: object, bytes: Uint8Array): SimdPool {
  const control = new SharedArrayBuffer((SLOT_INDEX + MAX_SLOTS) * 4);
  const args = new SharedArrayBuffer((MAX_PARTS * MAX_ARGS + MAX_SLOTS) * 8);
  const slotAt = MAX_PARTS * MAX_ARGS; // the worker's slot values
  const flags = new Int32Array(control);
  const a = new Float64Array(args);
  const times = new SharedArrayBuffer(8);
  const busy = new Float64Array(times);
  const names = kernelNames(kernels);
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { memory, bytes, control, args, times, names, maxArgs: MAX_ARGS, slotAt } });
  worker.unref();
  let seq = 0;
  let calls = 0, mainWaitMs = 0;
  return {
    stats: () => ({ calls, mainWaitMs, workerBusyMs: busy[BUSY]! }),
    run(name, parts, slots = []) {
      const fn = kernels[name] as (...v: number[]) => void;
      const call = (args: readonly number[]) => {
        if (slots.length === 0) return fn(...args);
        const v = [...args];
        for (const s of slots) v[s.index] = s.values[0];
        fn(...v);
      };
      if (parts.length > MAX_PARTS || slots.length > MAX_SLOTS) throw new Error(`SIMD pool: ${parts.length} parts, ${slots.length} slots (at most ${MAX_PARTS}, ${MAX_SLOTS})`);
      if (Atomics.load(flags, READY) !== 1 || parts.length < 2) {
        // One part, or the worker still starting (the first steps of a run): all of it here.
        for (const p of parts) call(p as number[]);
        return;
      }
      parts.forEach((p, k) => a.set(p as number[], k * MAX_ARGS));
      slots.forEach((s, j) => {
        a[slotAt + j] = s.values[1];
        flags[SLOT_INDEX + j] = s.index;
      });
      flags[KERNEL] = names.indexOf(name);
      flags[ARGC] = parts[0]!.length;
      flags[SLOTS] = slots.length;
      flags[ERROR] = 0;
      Atomics.store(flags, DONE, 0);
      seq = (seq + 1) & 0x7fffffff;
      Atomics.store(flags, CLAIM, ((seq & 0xff) << 24) | (parts.length << 16));
      Atomics.store(flags, SEQ, seq);
      Atomics.notify(flags, SEQ);
      let failure: unknown;
      for (;;) {
        const k = Atomics.add(flags, CLAIM, 1) & 0xffff;
        if (k >= parts.length) break;
        try {
          call(parts[k] as number[]);
        } catch (e) {
          failure ??= e;
        }
        Atomics.add(flags, DONE, 1);
      }
      // The worker may still be reading the heap: never return (or throw) before every part is
      // done. Sleep only while the count still holds the value just read (see the worker's notify).
      calls++;
      let done = Atomics.load(flags, DONE);
      if (done < parts.length) {
        const t = performance.now();
        for (; done < parts.length; done = Atomics.load(flags, DONE)) Atomics.wait(flags, DONE, done);
        mainWaitMs += performance.now() - t;
      }
      if (failure) throw failure;
      if (flags[ERROR] !== 0) throw new Error(`SIMD kernel ${name} failed on the worker thread`);
    },
  };
}
