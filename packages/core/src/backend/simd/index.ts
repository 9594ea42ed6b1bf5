import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { KERNELS_WASM, KERNELS_WASM_SHARED } from './kernels-wasm.js';

/**
 * Keypoints' own SIMD kernels (assembly/kernels.ts, AssemblyScript), instantiated on the TF.js
 * wasm backend's memory so they read and write tensors in place. Addresses are byte offsets in
 * that memory, counts are floats. See assembly/kernels.ts for what each computes.
 */
export interface SimdKernels {
  adam(v: number, g: number, m: number, s: number, ov: number, om: number, os: number, n: number, lrT: number, b1: number, c1: number, b2: number, c2: number, eps: number): void;
  reluPool2Grad(x: number, dy: number, dx: number, batch: number, h: number, w: number, c: number): void;
  sumRows(x: number, out: number, out64: number, rows: number, c: number): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
}

/** The few WebAssembly APIs used here (core's type libraries do not declare the global). */
interface WasmMemory {
  buffer: ArrayBuffer | SharedArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const instances = new WeakMap<object, SimdKernels | null>();

function decode(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/**
 * The kernels for this backend instance, or undefined when they cannot run (no memory found, or a
 * runtime without wasm SIMD): callers then use their JS or stock paths.
 */
export function simdKernels(backend: BackendWasm): SimdKernels | undefined {
  const mod = backend.wasm as unknown as { wasmMemory?: WasmMemory; asm?: { memory?: WasmMemory } };
  const known = instances.get(mod);
  if (known !== undefined) return known ?? undefined;
  let kernels: SimdKernels | null = null;
  const memory = mod.wasmMemory ?? mod.asm?.memory;
  if (memory) {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    try {
      const instance = new WA.Instance(new WA.Module(decode(shared ? KERNELS_WASM_SHARED : KERNELS_WASM)), { env: { memory } });
      kernels = instance.exports as unknown as SimdKernels;
    } catch {
      kernels = null; // e.g. no SIMD in this runtime
    }
  }
  instances.set(mod, kernels);
  return kernels ?? undefined;
}

/** Byte address of a tensor's data in the backend's memory. */
export function addressOf(backend: BackendWasm, t: TensorInfo): number {
  return (backend.dataIdMap.get(t.dataId) as unknown as { memoryOffset: number }).memoryOffset;
}
