/**
 * Starting points per optimizer. A preset's learning rate is tuned for its own optimizer (Adam),
 * and plain or momentum SGD need a larger step (they do not rescale gradients), a warm-up so the
 * first large gradients of an untrained net cannot throw it far off, and a gradient-norm clip as
 * a safety net. `resolveConfig` applies these when the user switches optimizer without naming
 * the values themselves.
 */
export const OPTIMIZER_DEFAULTS = {
  adam: { learningRate: 1e-3, warmupEpochs: 0, clipNorm: undefined },
  momentum: { learningRate: 0.1, warmupEpochs: 1, clipNorm: 1 },
  sgd: { learningRate: 1, warmupEpochs: 1, clipNorm: 1 },
} as const satisfies Record<'adam' | 'sgd' | 'momentum', { learningRate: number; warmupEpochs: number; clipNorm: number | undefined }>;

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});

/**
 * When `user` picks an optimizer other than the preset's and leaves its learning rate, warm-up or
 * clipping unset, fills them from OPTIMIZER_DEFAULTS (warm-up: the longer of the preset's and the
 * default). Mutates and returns `merged` (preset + user settings, before validation).
 */
export function applyOptimizerDefaults(merged: Json, preset: Json, user: Json): Json {
  const uTrain = obj(user.train), pTrain = obj(preset.train);
  const chosen = uTrain.optimizer;
  if (typeof chosen !== 'string' || !(chosen in OPTIMIZER_DEFAULTS) || chosen === (pTrain.optimizer ?? 'adam')) return merged;
  const d = OPTIMIZER_DEFAULTS[chosen as keyof typeof OPTIMIZER_DEFAULTS];
  const train: Json = { ...obj(merged.train) };
  if (uTrain.learningRate === undefined) train.learningRate = d.learningRate;
  if (uTrain.clipNorm === undefined && d.clipNorm !== undefined) train.clipNorm = d.clipNorm;
  if (obj(uTrain.schedule).warmupEpochs === undefined) {
    const presetWarmup = obj(pTrain.schedule).warmupEpochs;
    train.schedule = { ...obj(train.schedule), warmupEpochs: Math.max(typeof presetWarmup === 'number' ? presetWarmup : 0, d.warmupEpochs) };
  }
  merged.train = train;
  return merged;
}
