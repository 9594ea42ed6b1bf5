import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { KERNELS_WASM, KERNELS_WASM_RELAXED, KERNELS_WASM_SHARED, KERNELS_WASM_SHARED_RELAXED } from './kernels-wasm.js';
import { createSimdPool, MAX_PARTS, type PoolStats, type SimdPool, type Slot } from './parallel.js';

export type { PoolStats, SimdPool, Slot } from './parallel.js';
export { MAX_PARTS };

/**
 * Keypoints' own SIMD kernels (assembly/kernels.ts, AssemblyScript), instantiated on the TF.js
 * wasm backend's memory so they read and write tensors in place. Addresses are byte offsets in
 * that memory, counts are floats. See assembly/kernels.ts for what each computes.
 */
export interface SimdKernels {
  adam(v: number, g: number, m: number, s: number, ov: number, om: number, os: number, n: number, lrT: number, b1: number, c1: number, b2: number, c2: number, eps: number): void;
  reluPool2(x: number, out: number, batch: number, h: number, w: number, c: number, floor: number): void;
  relu(x: number, out: number, i0: number, i1: number): void;
  reluPool2Grad(x: number, dy: number, dx: number, batch: number, h: number, w: number, c: number): void;
  sumRows(x: number, out: number, out64: number, rows: number, c: number, c0: number, c1: number): void;
  transpose(src: number, dst: number, rows: number, cols: number, r0: number, r1: number): void;
  padRows(src: number, dst: number, row: number, prow: number, off: number, r0: number, r1: number): void;
  conv2d(x: number, fp: number, bias: number, out: number, B: number, H: number, W: number, Ci: number, OH: number, OW: number, Co: number, KH: number, KW: number, pt: number, pl: number, co0: number, co1: number): void;
  depthwiseFilterGrad(x: number, dy: number, dw: number, B: number, H: number, W: number, C: number, OH: number, OW: number, KH: number, KW: number, sh: number, sw: number, pt: number, pl: number, c0: number, c1: number): void;
  depthwiseInputGrad(dy: number, f: number, dx: number, B: number, H: number, W: number, C: number, OH: number, OW: number, KH: number, KW: number, sh: number, sw: number, pt: number, pl: number, c0: number, c1: number): void;
  reluGrad(x: number, dy: number, dx: number, n: number): void;
  convFilterGrad(x: number, dy: number, dw: number, B: number, H: number, W: number, Ci: number, OH: number, OW: number, Co: number, KH: number, KW: number, pt: number, pl: number, co0: number, co1: number): void;
  channelMoments(x: number, out64: number, C: number, r0: number, r1: number): void;
  channelDots(dy: number, x: number, mean: number, out64: number, C: number, r0: number, r1: number): void;
  channelAffine(u: number, v: number, m: number, a: number, b: number, t: number, out: number, C: number, r0: number, r1: number): void;
  packFilter(f: number, fp: number, KH: number, KW: number, Ci: number, Co: number, flip: number): void;
  sumSquares(x: number, out64: number, i0: number, i1: number): void;
  axpy(y: number, x: number, a: number, i0: number, i1: number): void;
  gemm(a: number, b: number, c: number, pack: number, M: number, K: number, N: number, tA: number, tB: number, n0: number, n1: number): void;
  winoFilter(f: number, U: number, Ci: number, Co: number, r: number, flip: number, tmp: number): void;
  winoConv(x: number, U: number, bias: number, out: number, scratch: number, H: number, W: number, Ci: number, OH: number, OW: number, Co: number, r: number, pt: number, pl: number, tc: number, tBeg: number, tEnd: number): void;
  winoFilterGrad(x: number, dy: number, acc: number, scratch: number, H: number, W: number, Ci: number, OH: number, OW: number, Co: number, r: number, pt: number, pl: number, tc: number, tBeg: number, tEnd: number): void;
  winoFilterOut(acc0: number, acc1: number, dw: number, n: number, r: number, tmp: number): void;
  normPool2(x: number, m: number, a: number, t: number, out: number, batch: number, H: number, W: number, C: number): void;
  normPool2Dots(x: number, m: number, a: number, t: number, dy: number, out64: number, H: number, W: number, C: number, r0: number, r1: number): void;
  normPool2Grad(x: number, m: number, a: number, t: number, dy: number, b: number, k: number, dx: number, batch: number, H: number, W: number, C: number): void;
}

/** The few WebAssembly APIs used here (core's type libraries do not declare the global). */
interface WasmMemory {
  buffer: ArrayBuffer | SharedArrayBuffer;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const instances = new WeakMap<object, SimdKernels | null>();
const pools = new WeakMap<object, SimdPool | null>();

function decode(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/**
 * Set to 0 to run without Keypoints' SIMD kernels (the JS and stock XNNPACK paths), e.g. to
 * compare; to `relaxed` for their relaxed-SIMD build (fused multiply-adds, see simdVariant).
 */
export const SIMD_ENV = 'KEYPOINTS_SIMD';

/** Which build of the kernels runs: plain SIMD, or relaxed SIMD (fused multiply-adds). */
export type SimdVariant = 'plain' | 'relaxed';

let relaxedChecked: boolean | undefined;

/**
 * The kernels' build for this process: `relaxed` when $KEYPOINTS_SIMD=relaxed and the runtime
 * compiles relaxed SIMD (on by default from Node 22's V8; Node 20 has it behind
 * --experimental-wasm-relaxed-simd, which is set here before the module compiles), else `plain`.
 * Plain is the default: on the project's AMD EPYC machines the fused build measured no faster
 * (docs: guide/performance.md, "What was tried").
 */
export function simdVariant(): SimdVariant {
  if (process.env[SIMD_ENV] !== 'relaxed') return 'plain';
  if (relaxedChecked === undefined) {
    const bytes = decode(KERNELS_WASM_RELAXED);
    if (!WA.validate(bytes)) setFlagsFromString('--experimental-wasm-relaxed-simd');
    relaxedChecked = WA.validate(bytes);
  }
  return relaxedChecked ? 'relaxed' : 'plain';
}

/** The kernels module's bytes for a memory kind, in this process's build (simdVariant). */
export function kernelBytes(shared: boolean): Uint8Array {
  const relaxed = simdVariant() === 'relaxed';
  return decode(shared ? (relaxed ? KERNELS_WASM_SHARED_RELAXED : KERNELS_WASM_SHARED) : relaxed ? KERNELS_WASM_RELAXED : KERNELS_WASM);
}

/**
 * The kernels for this backend instance, or undefined when they cannot run (not the wasm backend,
 * no memory found, a runtime without wasm SIMD, or $KEYPOINTS_SIMD=0): callers then use their JS
 * or stock paths. Takes any backend, so kernels registered for wasm and cpu can simply ask.
 */
export function simdKernels(backend: unknown): SimdKernels | undefined {
  const mod = (backend as Partial<BackendWasm> | undefined)?.wasm as unknown as { wasmMemory?: WasmMemory; asm?: { memory?: WasmMemory } } | undefined;
  if (!mod) return undefined;
  const known = instances.get(mod);
  if (known !== undefined) return known ?? undefined;
  let kernels: SimdKernels | null = null;
  const memory = mod.wasmMemory ?? mod.asm?.memory;
  if (memory && process.env[SIMD_ENV] !== '0') {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    try {
      const instance = new WA.Instance(new WA.Module(kernelBytes(shared)), { env: { memory } });
      kernels = instance.exports as unknown as SimdKernels;
    } catch {
      kernels = null; // e.g. no SIMD in this runtime
    }
  }
  instances.set(mod, kernels);
  return kernels ?? undefined;
}

/**
 * A worker thread sharing the kernels' work, when the backend's memory is shared (TF.js's threaded
 * binary, i.e. it runs XNNPACK on more than one thread) and the machine has a second core.
 */
export function simdPool(backend: BackendWasm): SimdPool | undefined {
  const mod = backend.wasm as unknown as { wasmMemory?: WasmMemory };
  const known = pools.get(mod);
  if (known !== undefined) return known ?? undefined;
  let pool: SimdPool | null = null;
  const kernels = simdKernels(backend);
  const memory = mod.wasmMemory;
  if (kernels && memory && typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer && availableParallelism() > 1) {
    try {
      pool = createSimdPool(kernels, memory, kernelBytes(true));
    } catch {
      pool = null;
    }
  }
  pools.set(mod, pool);
  return pool ?? undefined;
}

/**
 * The pool's thread counters (see PoolStats) for any backend: undefined where no pool runs (not
 * the wasm backend, its single-threaded binary, one core, or $KEYPOINTS_SIMD=0).
 */
export function poolStats(backend: unknown): PoolStats | undefined {
  if (!(backend as Partial<BackendWasm> | undefined)?.wasm) return undefined;
  return simdPool(backend as BackendWasm)?.stats();
}

/**
 * One kernel call split in two disjoint parts: on the pool's worker and this thread at once when
 * there is a pool, else one after the other here. `second` may be undefined (nothing to split).
 */
export function runSplit<K extends keyof SimdKernels>(backend: BackendWasm, name: K, first: Parameters<SimdKernels[K]>, second?: Parameters<SimdKernels[K]>): void {
  runParts(backend, name, second ? [first, second] : [first]);
}

/**
 * One kernel call in disjoint parts (at most MAX_PARTS), which this thread and the pool's worker
 * claim one at a time (see SimdPool); without a pool, one after the other here. `slots`:
 * arguments that are per thread (scratch, sums), see SimdPool.run.
 */
export function runParts<K extends keyof SimdKernels>(backend: BackendWasm, name: K, parts: Parameters<SimdKernels[K]>[], ...slots: Slot[]): void {
  const pool = parts.length > 1 ? simdPool(backend) : undefined;
  if (pool) return pool.run(name, parts, slots);
  const fn = simdKernels(backend)![name] as (...v: number[]) => void;
  for (const p of parts) {
    const v = [...(p as number[])];
    for (const s of slots) v[s.index] = s.values[0];
    fn(...v);
  }
}

/**
 * Parts a large kernel call is cut into (see runParts): enough that a thread that starts late or
 * runs slow leaves little for the other to wait on, few enough that each part's fixed cost (a
 * claim, the call, a tile chunk's set-up) stays small.
 */
export const PARTS = 8;

/**
 * Ranges of a batch of B images of `perImage` floats each: PARTS parts (at most one per image)
 * when the whole is worth the second thread (SPLIT_MIN floats), else one.
 */
export function batchRanges(B: number, perImage: number): [number, number][] {
  return ranges(B, B * perImage >= SPLIT_MIN ? Math.min(PARTS, B) : 1);
}

/** [start, end) ranges cutting [0, n) into `count` near-equal pieces whose bounds are multiples of `align` (empty ones dropped). */
export function ranges(n: number, count: number, align = 1): [number, number][] {
  const out: [number, number][] = [];
  let prev = 0;
  for (let i = 1; i <= count; i++) {
    const end = i === count ? n : Math.min(n, Math.round((n * i) / count / align) * align);
    if (end > prev) out.push([prev, end]);
    prev = Math.max(prev, end);
  }
  return out;
}

/**
 * Work below this many floats is not worth handing half of it to the worker: one pass over 2^18
 * floats takes about as long as waking a sleeping thread on these virtual machines (0.1–0.3 ms).
 */
export const SPLIT_MIN = 1 << 18;

/**
 * Convolutions below this many multiply-adds (direct method's count) run on one thread: the worker's
 * wake-up costs more. At 2^21, the default network's 3×3 layers on one image (2.65 M each) split,
 * and its batch-1 predict took 3.1–3.7 ms against 2.8–3.0 ms without (c2: 0.66 → 0.21 ms).
 */
export const CONV_SPLIT_MIN = 1 << 23;

/** About half of n, rounded down to a multiple of 4 (whole SIMD vectors), for splitting a range in two. */
export function halfOf4(n: number): number {
  return (n >> 3) << 2;
}

/**
 * An elementwise kernel over n floats: `part(i0, count)` gives its arguments for floats
 * [i0, i0 + count); large tensors run in PARTS parts on both threads (see runParts).
 */
export function runElementwise<K extends keyof SimdKernels>(backend: BackendWasm, name: K, n: number, part: (i0: number, count: number) => Parameters<SimdKernels[K]>): void {
  if (n < SPLIT_MIN) return runSplit(backend, name, part(0, n));
  runParts(backend, name, ranges(n, PARTS, 4).map(([i0, i1]) => part(i0, i1 - i0)));
}

/**
 * A reducing kernel in one or two parts (the second on the worker, see runSplit), each writing
 * `width` float64 sums to its own half of a scratch tensor; returns the parts added.
 * `first(out64)` and `second(out64)` give each part's arguments for its scratch address.
 */
export function runSums<K extends keyof SimdKernels>(backend: BackendWasm, name: K, width: number, first: (out64: number) => Parameters<SimdKernels[K]>, second?: (out64: number) => Parameters<SimdKernels[K]>): Float64Array {
  const scratch = backend.makeOutput([4 * width], 'float32'); // 2 parts × width doubles
  const base = addressOf(backend, scratch);
  runSplit(backend, name, first(base), second?.(base + 8 * width));
  const view = backend.typedArrayFromHeap(scratch) as Float32Array;
  const parts = new Float64Array(view.buffer, view.byteOffset, 2 * width);
  const sums = parts.slice(0, width);
  if (second) for (let i = 0; i < width; i++) sums[i] += parts[width + i]!;
  backend.disposeData(scratch.dataId);
  return sums;
}

/** Byte address of a tensor's data in the backend's memory. */
export function addressOf(backend: BackendWasm, t: TensorInfo): number {
  return (backend.dataIdMap.get(t.dataId) as unknown as { memoryOffset: number }).memoryOffset;
}
