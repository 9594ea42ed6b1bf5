import type { BackendName } from '../config/schema.js';

export interface BackendInfo {
  /** What was asked for. */
  requested: BackendName;
  /** The TF.js backend actually in use: "wasm", "cpu", "tensorflow". */
  name: string;
  /** One sentence for the user: what was chosen and why (e.g. "tfjs-node not installed; using wasm (SIMD, 1 thread)"). */
  note: string;
}
