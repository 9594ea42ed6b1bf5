import { Worker } from 'node:worker_threads';
import type { SimdKernels } from './index.js';

/**
 * A second thread for Keypoints' SIMD kernels: one worker_threads worker holding its own instance
 * of the kernels module on the same shared memory (TF.js's threaded wasm binary). `run` hands the
 * worker one call, makes the main thread's own call, then waits for the worker: both cores work
 * on disjoint parts of one kernel (e.g. halves of the output channels). Hand-off is a few
 * microseconds of Atomics, no messages. Only for shared memories; the worker is unref'd, so it
 * never keeps a process alive.
 */
export interface SimdPool {
  /** Runs kernels[name](...workerArgs) on the worker and kernels[name](...mainArgs) here; returns when both are done. */
  run<K extends keyof SimdKernels>(name: K, mainArgs: Parameters<SimdKernels[K]>, workerArgs: Parameters<SimdKernels[K]>): void;
}

const NAMES: (keyof SimdKernels)[] = ['adam', 'reluPool2Grad', 'sumRows', 'transpose', 'convFilterGrad', 'conv2d', 'depthwiseFilterGrad', 'depthwiseInputGrad', 'reluGrad', 'channelMoments', 'channelDots', 'channelAffine', 'gemm', 'packFilter', 'sumSquares', 'axpy', 'reluPool2', 'relu', 'winoConv', 'winoFilterGrad', 'normPool2', 'normPool2Dots', 'normPool2Grad'];
const MAX_ARGS = 24;

// Plain JS (eval'd): no file to locate beside whichever bundle runs this.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, bytes, control, args, names } = workerData;
const exports_ = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
const fns = names.map((n) => exports_[n]);
const flags = new Int32Array(control);
Atomics.store(flags, 5, 1); // ready: calls may be handed over from now on
const a = new Float64Array(args);
let seen = 0;
for (;;) {
  Atomics.wait(flags, 0, seen);
  seen = Atomics.load(flags, 0);
  if (seen < 0) break;
  try {
    fns[flags[2]](...a.subarray(0, flags[3]));
    flags[4] = 0;
  } catch (e) {
    flags[4] = 1;
  }
  Atomics.store(flags, 1, seen);
  Atomics.notify(flags, 1);
}
`;

export function createSimdPool(kernels: SimdKernels, memory: object, bytes: Uint8Array): SimdPool {
  // flags: [0] call sequence (−1 = stop), [1] last call done, [2] kernel index, [3] argument count,
  // [4] worker error, [5] worker ready.
  const control = new SharedArrayBuffer(6 * 4);
  const args = new SharedArrayBuffer(MAX_ARGS * 8);
  const flags = new Int32Array(control);
  const a = new Float64Array(args);
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { memory, bytes, control, args, names: NAMES } });
  worker.unref();
  let seq = 0;
  return {
    run(name, mainArgs, workerArgs) {
      const call = (args: unknown[]) => (kernels[name] as (...v: number[]) => void)(...(args as number[]));
      if (Atomics.load(flags, 5) !== 1) {
        // Still starting (the first steps of a run): never wait for it, do both parts here.
        call(workerArgs);
        call(mainArgs);
        return;
      }
      a.set(workerArgs as number[]);
      flags[2] = NAMES.indexOf(name);
      flags[3] = workerArgs.length;
      seq++;
      Atomics.store(flags, 0, seq);
      Atomics.notify(flags, 0);
      let failure: unknown;
      try {
        call(mainArgs);
      } catch (e) {
        failure = e;
      }
      // The worker may still be reading the heap: never return (or throw) before it is done.
      // Sleep only while the flag still holds the value just read: reading it again for the wait
      // could see the worker's final store and then wait for a notify that already happened.
      for (let done = Atomics.load(flags, 1); done !== seq; done = Atomics.load(flags, 1)) Atomics.wait(flags, 1, done);
      if (failure) throw failure;
      if (flags[4] !== 0) throw new Error(`SIMD kernel ${name} failed on the worker thread`);
    },
  };
}
