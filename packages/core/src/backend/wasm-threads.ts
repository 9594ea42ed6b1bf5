import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Worker as NodeWorker, type WorkerOptions } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { WASM_DIR_ENV } from './wasm-files.js';
import { installedPackageDir } from '../util/locate.js';

/**
 * TF.js's multi-threaded wasm binary (XNNPACK with a pthread pool) under Node.
 *
 * tfjs-backend-wasm 4.22 turns threads off under Node (`WASM_HAS_MULTITHREAD_SUPPORT` is false
 * when IS_NODE, tensorflow/tfjs#3830) because its Emscripten glue starts each pthread as
 * `new Worker(blob:...)` with the worker script and the main script as Blobs, which Node's
 * worker_threads cannot load. The package also ships both scripts as files (`wasm-out/`), so:
 *  - `Worker` (a global the glue sets to worker_threads.Worker while it initialises) is shadowed
 *    for that moment by a class that starts the shipped worker script with `eval: true` and
 *    rewrites the `load` message so the worker imports the shipped glue file instead of a Blob;
 *  - the threaded binary caps its pool at `emscripten_num_logical_cores() / 2` (it assumes
 *    hyper-threading), which on Node is `os.cpus().length / 2` = 1 on a 2-core machine, so
 *    `os.cpus` reports 2 × the wanted threads while the module initialises.
 * Both patches are undone as soon as the backend is up. Kernels and results are the stock ones;
 * only XNNPACK's operators (convolutions, matrix products, pooling, many element-wise ops) run
 * on several threads, our JS kernels stay on the calling thread.
 */

/** Env var: XNNPACK threads for the wasm backend when `initBackend` is not told. */
export const WASM_THREADS_ENV = 'KEYPOINTS_WASM_THREADS';

export interface WasmThreadsPlan {
  /** Threads XNNPACK will use (1 = the ordinary single-threaded SIMD binary). */
  threads: number;
  /** Why fewer threads than asked for, when so. */
  why?: string;
  /** Undoes the temporary patches; call once `tf.setBackend('wasm')` has settled. */
  restore(): void;
}

const WORKER_FILE = 'tfjs-backend-wasm-threaded-simd.worker.js';
const GLUE_FILE = 'tfjs-backend-wasm-threaded-simd.js';

function wasmOutDir(): string | undefined {
  const complete = (dir: string | undefined) => dir !== undefined && existsSync(path.join(dir, WORKER_FILE)) && existsSync(path.join(dir, GLUE_FILE));
  // A bundle's own copy (the VS Code extension's dist/assets), named like the wasm files' folder.
  const own = process.env[WASM_DIR_ENV];
  if (complete(own)) return own;
  const pkg = installedPackageDir('@tensorflow/tfjs-backend-wasm');
  const dir = pkg && path.join(pkg, 'wasm-out');
  return complete(dir) ? dir : undefined;
}

/** The same probe tfjs uses in browsers: shared memory plus a wasm atomics instruction. */
function threadsSupported(): boolean {
  try {
    new SharedArrayBuffer(1);
    // (tsconfig has no DOM/WebAssembly typings)
    const wasm = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
    return wasm.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1, 10, 11, 1, 9, 0, 65, 0, 254, 16, 2, 0, 26, 11]));
  } catch {
    return false;
  }
}

/** The worker script as shipped is a CommonJS module exporting its source as a string. */
function workerSource(dir: string): string {
  const file = path.join(dir, WORKER_FILE);
  const src = (createRequire(file)(file) as { wasmWorkerContents?: unknown }).wasmWorkerContents;
  if (typeof src !== 'string') throw new Error(`${WORKER_FILE} does not export wasmWorkerContents`);
  // As tfjs does before making a Blob of it: the template literal turned the "\\n" escapes inside
  // the script's strings into real newlines, which would end those strings.
  return src.replace(/\n/g, '\\n');
}

const single = (why?: string): WasmThreadsPlan => ({ threads: 1, why, restore: () => undefined });

/**
 * Prepares the next wasm backend initialisation to use `threads` XNNPACK threads. Must run before
 * the wasm backend is first created in this process (the binary is chosen once). Never throws:
 * when something is missing it plans 1 thread and says why.
 */
export function prepareWasmThreads(threads: number): WasmThreadsPlan {
  const wanted = Math.max(1, Math.min(Math.floor(threads), 8)); // the binary pre-spawns 8 pthread workers
  if (wanted === 1) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    return single();
  }
  if (!threadsSupported()) return single('this runtime lacks SharedArrayBuffer or wasm threads');
  const dir = wasmOutDir();
  if (!dir) return single(`@tensorflow/tfjs-backend-wasm/wasm-out/${WORKER_FILE} not found`);
  let source: string;
  try {
    source = workerSource(dir);
  } catch (err) {
    return single(err instanceof Error ? err.message : String(err));
  }
  const glue = path.join(dir, GLUE_FILE);

  class PthreadWorker extends NodeWorker {
    constructor(_url: unknown, options?: WorkerOptions) {
      super(source, { ...options, eval: true });
      super.unref();
    }
    /**
     * XNNPACK's pool threads never exit, and Emscripten refs a worker while its thread runs, so
     * the process would never end. The main thread waits for them synchronously (Atomics.wait),
     * never through the event loop, so they need not keep it alive.
     */
    override ref(): void {}
    override postMessage(msg: unknown, transfer?: readonly (ArrayBuffer | import('node:worker_threads').MessagePort)[]): void {
      const m = msg as { cmd?: string } | null;
      super.postMessage(m && m.cmd === 'load' ? { ...m, urlOrBlob: glue } : msg, transfer as never);
    }
  }

  const g = globalThis as { Worker?: unknown };
  const hadWorker = Object.getOwnPropertyDescriptor(g, 'Worker');
  // The glue assigns `Worker = worker_threads.Worker` before using it: keep ours in place.
  Object.defineProperty(g, 'Worker', { configurable: true, get: () => PthreadWorker, set: () => undefined });
  const realCpus = os.cpus;
  os.cpus = () => {
    const one = realCpus()[0]!;
    return Array.from({ length: 2 * wanted }, () => one);
  };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(wanted);
  let restored = false;
  return {
    threads: wanted,
    restore() {
      if (restored) return;
      restored = true;
      os.cpus = realCpus;
      if (hadWorker) Object.defineProperty(g, 'Worker', hadWorker);
      else delete g.Worker;
    },
  };
}
