// Larger batches on a GPU backend, with the learning rate scaled by the square root of the batch growth.
import type { KeypointsConfig } from '../config/schema.js';
import type { BackendInfo } from '../backend/types.js';

/** The batch a GPU backend uses when train.gpuBatchSize is not set: enough work per step to keep a GPU busy on 96×96 faces. */
export const DEFAULT_GPU_BATCH = 256;

/**
 * On a GPU backend (webgpu, tfjs-node-gpu) a new run trains with train.gpuBatchSize (default 256)
 * when that is larger than train.batchSize, and the learning rate grows by √(new / old): the
 * square-root rule, which keeps the gradient noise per update about the same for Adam (the linear
 * rule is for plain SGD and needs a longer warm-up). Returns the config to save with the run, so a
 * resume trains the same way; on other backends, or when gpuBatchSize ≤ batchSize, it is unchanged.
 */
export function gpuBatchConfig(config: KeypointsConfig, backend: Pick<BackendInfo, 'gpu'>): { config: KeypointsConfig; note?: string } {
  const t = config.train;
  const target = t.gpuBatchSize ?? DEFAULT_GPU_BATCH;
  if (!backend.gpu || target <= t.batchSize) return { config };
  const factor = Math.sqrt(target / t.batchSize);
  const learningRate = t.learningRate * factor;
  const note = `GPU backend: batch ${t.batchSize} → ${target}, learning rate ${t.learningRate} → ${+learningRate.toPrecision(4)} (×√${target / t.batchSize}; set train.gpuBatchSize to ${t.batchSize} to keep the CPU batch)`;
  return { config: { ...config, train: { ...t, batchSize: target, learningRate } }, note };
}
