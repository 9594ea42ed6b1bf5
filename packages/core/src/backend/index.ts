import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount, setWasmPaths, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { simdKernels, simdPool, simdVariant } from './simd/index.js';
import type { BackendName } from '../config/schema.js';
import { UserError } from '../errors.js';
import type { BackendInfo } from './types.js';
import { locateWasmDir, WASM_DIR_ENV } from './wasm-files.js';
import { registerKeypointsKernels } from './register.js';
import { prepareWasmThreads, WASM_THREADS_ENV } from './wasm-threads.js';
import { dawnLoaded, probeWebgpuQuietly, useWebgpu, webgpuHelp } from './webgpu.js';

export { registerWasmTrainingKernels, unregisterWasmTrainingKernels, TRAINING_KERNELS } from './kernels/index.js';
export { locateWasmDir, WASM_DIR_ENV } from './wasm-files.js';
export { prepareWasmThreads, WASM_THREADS_ENV, type WasmThreadsPlan } from './wasm-threads.js';
export { batchNormTrain, type BatchNormTrainResult } from './ops/batch-norm.js';
export { batchNormReluPool2Train } from './ops/batch-norm-pool.js';
export { adamUpdateFused, type AdamHyper } from './ops/adam.js';
export { registerKeypointsKernels } from './register.js';
export { listBackends, type BackendAvailability } from './available.js';
export { probeWebgpu, probeWebgpuQuietly, isSoftwareAdapter, WEBGPU_SOFTWARE_ENV, webgpuHelp, webgpuFailure, forgetWebgpu, type WebgpuFailure, type WebgpuProbe, type WebgpuAdapterInfo } from './webgpu.js';

export interface InitBackendOptions {
  /** Folder holding tfjs-backend-wasm's .wasm files (bundles that copy them); default: found automatically. */
  wasmDir?: string;
  /**
   * XNNPACK threads for the wasm backend (TF.js's threaded binary, see wasm-threads.ts); default
   * $KEYPOINTS_WASM_THREADS or one per core (defaultWasmThreads). Only the first wasm initialisation in a process decides.
   */
  threads?: number;
}

const NODE_PACKAGES = { 'tensorflow-gpu': '@tensorflow/tfjs-node-gpu', tensorflow: '@tensorflow/tfjs-node' } as const;

const GPU_HELP =
  'Install it with `npm install @tensorflow/tfjs-node-gpu` (its install downloads libtensorflow 2.9.1 from Google storage; it needs CUDA 11.2 and cuDNN 8.1).';
const CPU_HELP =
  'Install it with `npm install @tensorflow/tfjs-node` (its install downloads libtensorflow 2.9.1 from Google storage, which fails without that access).';

let current: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;
let wasmPathsSet = false;

/** The backend chosen by the last `initBackend`, if any. */
/**
 * XNNPACK threads by default: one per core, at most 4 (the bench measured the default network
 * 1.7× faster on 2 cores than with one thread; more threads than cores only contend).
 */
export function defaultWasmThreads(): number {
  return Math.max(1, Math.min(4, os.availableParallelism()));
}

export function currentBackend(): BackendInfo | undefined {
  return current;
}

function reason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/Cannot find (package|module)/i.test(msg) || (err as { code?: string })?.code === 'ERR_MODULE_NOT_FOUND') return 'not installed';
  return 'failed to load: ' + msg.split('\n')[0];
}

/**
 * Imports tfjs-node(-gpu) and switches to its 'tensorflow' backend. The package name is built at
 * run time so bundlers leave the optional dependency alone.
 */
async function tryNode(kind: keyof typeof NODE_PACKAGES): Promise<{ ok: true } | { ok: false; why: string }> {
  const pkg: string = NODE_PACKAGES[kind];
  try {
    await import(/* @vite-ignore */ pkg);
  } catch (err) {
    return { ok: false, why: `${pkg} ${reason(err)}` };
  }
  if (!tf.findBackend('tensorflow')) {
    return { ok: false, why: `${pkg} loaded but registered no 'tensorflow' backend with this copy of @tensorflow/tfjs-core (version mismatch?)` };
  }
  if (!(await tf.setBackend('tensorflow'))) return { ok: false, why: `${pkg} loaded but its backend failed to initialise` };
  return { ok: true };
}

async function useWasm(options: InitBackendOptions): Promise<string> {
  if (!wasmPathsSet) {
    const { dir, tried } = locateWasmDir(options.wasmDir);
    if (!dir) {
      throw new UserError(
        `Cannot find the wasm backend's binaries (tfjs-backend-wasm-simd.wasm); looked in: ${tried.join(', ') || 'nowhere'}. ` +
          `Reinstall @tensorflow/tfjs-backend-wasm, or set ${WASM_DIR_ENV} to the folder holding its .wasm files.`,
      );
    }
    setWasmPaths(dir);
    wasmPathsSet = true;
  }
  const fresh = !tf.engine().registry['wasm'];
  const plan = fresh ? prepareWasmThreads(options.threads ?? (Number(process.env[WASM_THREADS_ENV]) || defaultWasmThreads())) : undefined;
  let ok: boolean;
  try {
    ok = await tf.setBackend('wasm');
  } finally {
    plan?.restore();
  }
  if (!ok) throw new UserError('The wasm backend failed to initialise (see the messages above).');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = getThreadsCount();
  const why = plan?.why ? `; threads unavailable: ${plan.why}` : '';
  // Our kernels (assembly/kernels.ts) and their worker, started now so it is ready by the first step.
  const backend = tf.backend() as BackendWasm;
  const build = simdVariant() === 'relaxed' ? ' (relaxed SIMD)' : '';
  const ours = simdKernels(backend) ? (simdPool(backend) ? `, Keypoints SIMD kernels${build} on 2 threads` : `, Keypoints SIMD kernels${build}`) : '';
  return `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}${ours}${why})`;
}

/** Registers every kernel and gradient training needs (backend/register.ts); initBackend calls it. */
export const ensureGradients = registerKeypointsKernels;

async function init(requested: BackendName, options: InitBackendOptions): Promise<BackendInfo> {
  await ensureGradients();
  switch (requested) {
    case 'cpu': {
      await tf.setBackend('cpu');
      return { requested, name: 'cpu', note: 'cpu (pure JavaScript; slow, for reference and tests)' };
    }
    case 'wasm':
      return { requested, name: 'wasm', note: await useWasm(options) };
    case 'tensorflow':
    case 'tensorflow-gpu': {
      const r = await tryNode(requested);
      if (!r.ok) throw new UserError(`Backend '${requested}' is unavailable: ${r.why}. ${requested === 'tensorflow' ? CPU_HELP : GPU_HELP} Or use --backend wasm.`);
      return { requested, name: 'tensorflow', note: `tensorflow (${NODE_PACKAGES[requested]})`, gpu: requested === 'tensorflow-gpu' };
    }
    case 'webgpu': {
      // Asked for by name: probed in a child process first too, so a machine with no adapter gets our
      // one line without the Vulkan loader's warnings above it (and the probe reads those for the why).
      const quiet = dawnLoaded() ? undefined : probeWebgpuQuietly();
      const r = quiet && !quiet.ok ? quiet : await useWebgpu();
      if (!r.ok) throw new UserError(`Backend 'webgpu' is unavailable: ${r.why}. ${webgpuHelp(r.why)} Or use --backend wasm.`);
      return { requested, name: 'webgpu', note: r.note, adapter: r.adapter, gpu: true };
    }
    case 'auto': {
      // Fastest first: tfjs-node-gpu, a hardware WebGPU adapter (never a software one), tfjs-node, wasm.
      const gpu = await tryNode('tensorflow-gpu');
      if (gpu.ok) return { requested, name: 'tensorflow', note: `tensorflow (${NODE_PACKAGES['tensorflow-gpu']})`, gpu: true };
      // Probed in a child process first, so Dawn's native warnings stay out of sight unless WebGPU is taken.
      const quiet = probeWebgpuQuietly({ hardwareOnly: true });
      const web = quiet.ok ? await useWebgpu({ hardwareOnly: true }) : quiet;
      if (web.ok) return { requested, name: 'webgpu', note: `${web.note}; ${gpu.why}`, adapter: web.adapter, gpu: true };
      const cpu = await tryNode('tensorflow');
      if (cpu.ok) return { requested, name: 'tensorflow', note: `tensorflow (${NODE_PACKAGES.tensorflow}); ${gpu.why}; ${web.why}` };
      const note = await useWasm(options);
      // "not installed" twice reads better as one phrase.
      const node = gpu.why.endsWith('not installed') && cpu.why.endsWith('not installed') ? 'tfjs-node not installed' : `${gpu.why}; ${cpu.why}`;
      return { requested, name: 'wasm', note: `${note}; ${node}; ${web.why}` };
    }
    default: {
      const never: never = requested;
      throw new UserError(`Unknown backend '${String(never)}': use auto, wasm, cpu, tensorflow, tensorflow-gpu or webgpu.`);
    }
  }
}

/**
 * Chooses, prepares and activates the TF.js backend. Idempotent: the same request returns the
 * same info without re-initialising; a different request switches backends.
 */
export async function initBackend(requested: BackendName = 'auto', options: InitBackendOptions = {}): Promise<BackendInfo> {
  if (current && current.requested === requested && tf.getBackend() === current.name) return current;
  while (pending) await pending.catch(() => undefined);
  if (current && current.requested === requested && tf.getBackend() === current.name) return current;
  pending = init(requested, options);
  try {
    current = await pending;
    return current;
  } finally {
    pending = undefined;
  }
}
