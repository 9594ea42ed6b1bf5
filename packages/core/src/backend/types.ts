import type { BackendName } from '../config/schema.js';

export interface BackendInfo {
  /** What was asked for. */
  requested: BackendName;
  /** The TF.js backend actually in use: "wasm", "cpu", "tensorflow", "webgpu". */
  name: string;
  /** One sentence for the user: what was chosen and why (e.g. "tfjs-node not installed; using wasm (SIMD, 1 thread)"). */
  note: string;
  /** The WebGPU adapter's name when name is "webgpu". */
  adapter?: string;
  /** A GPU backend (webgpu, tfjs-node-gpu): the trainer then uses train.gpuBatchSize. */
  gpu?: boolean;
}
