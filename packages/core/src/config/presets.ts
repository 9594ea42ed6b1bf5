import type { PresetName } from './schema.js';

/** A preset is a partial config: what it sets wins over schema defaults, and user settings win over it. */
export type PartialDeep<T> = { [K in keyof T]?: T[K] extends (infer U)[] ? U[] : T[K] extends object ? PartialDeep<T[K]> : T[K] };

export const PRESETS: Record<PresetName, Record<string, unknown>> = {
  /**
   * Exactly the seed TensorFlow script's network and recipe: two 5×5 conv layers (32, 64) with ReLU
   * and 2×2 max-pooling, dense 512, dense 512 with dropout 0.5, linear output; Adam 1e-3 decayed ×0.95
   * per epoch, batch 64, L2 on dense weights, early stopping; complete rows only.
   */
  seed: {
    data: { missing: 'drop' },
    model: {
      conv: [
        { filters: 32, kernel: 5, pool: 2 },
        { filters: 64, kernel: 5, pool: 2 },
      ],
      dense: [512, 512],
      dropout: 0.5,
      l2: 1e-4,
    },
    train: {
      optimizer: 'adam',
      learningRate: 1e-3,
      batchSize: 64,
      patience: 10,
      schedule: { type: 'exponential', decayRate: 0.95, decayEpochs: 1 },
    },
  },
  /**
   * Our design (recipe and reasons: packages/core/README.md, "Model and training"): five cheap 3×3
   * conv blocks with batch norm, widths doubling as the map halves (8→128 channels, 96→6 px), the
   * 6×6×128 map flattened into dense 256 + dropout; ≈25 MFLOP per image (the seed net: 289).
   * Masked loss so every row trains, flips and small affine/brightness augmentation, Adam with a
   * short warm-up and a cosine schedule that `timeLimitMinutes` fits to the budget.
   */
  default: {
    model: {
      conv: [
        { filters: 8, kernel: 3, pool: 2, batchNorm: true },
        { filters: 16, kernel: 3, pool: 2, batchNorm: true },
        { filters: 32, kernel: 3, pool: 2, batchNorm: true },
        { filters: 64, kernel: 3, pool: 2, batchNorm: true },
        { filters: 128, kernel: 3, pool: 1, batchNorm: true },
      ],
      dense: [256],
      dropout: 0.2,
      l2: 1e-5,
    },
    train: {
      epochs: 60,
      optimizer: 'adam',
      learningRate: 2e-3,
      batchSize: 32,
      patience: 20,
      schedule: { type: 'cosine', warmupEpochs: 0.5, minFactor: 0.01 },
      augment: { flip: true, shift: 2, rotate: 5, scale: 0.05, brightness: 0.1 },
    },
  },
  /**
   * Fine-tunes @vladmandic/face-api's pretrained 68-point landmark network (MIT; weights from the
   * npm package, see packages/core/README.md, "Pretrained start"): the head alone first (it starts
   * as face-api's own points mapped to the data's keypoints), then the last two blocks and the head
   * with a fresh warm-up and cosine schedule; the first two blocks stay fixed. `conv` only satisfies the schema: model.init fixes the architecture.
   */
  pretrained: {
    model: {
      init: 'face-api-68',
      conv: [{ filters: 32, kernel: 3, stride: 2, pool: 1 }],
      dense: [],
    },
    train: {
      epochs: 30,
      optimizer: 'adam',
      learningRate: 1e-3,
      batchSize: 32,
      patience: 0,
      freezeEpochs: 0.5,
      // The first two blocks (56×56 and 28×28 maps) stay fixed: their depthwise gradients were about
      // 70% of a full training step on wasm, and low-level features transfer as they are.
      freezeLayers: ['dense0_', 'dense1_'],
      schedule: { type: 'cosine', warmupEpochs: 0.3, minFactor: 0.02 },
      augment: { flip: true, shift: 2, rotate: 5, scale: 0.05, brightness: 0.1 },
    },
  },
  /** A very small network for tests and smoke runs: seconds per epoch on synthetic faces. */
  tiny: {
    data: { syntheticCount: 256 },
    model: {
      conv: [
        { filters: 8, kernel: 3, pool: 2 },
        { filters: 16, kernel: 3, pool: 2 },
      ],
      dense: [32],
    },
    train: { epochs: 5, batchSize: 32, learningRate: 3e-3, patience: 0, schedule: { type: 'constant' } },
  },
};

/** One line per preset, for pickers and settings (the VS Code extension's are generated from it). */
export const PRESET_SUMMARIES: Record<PresetName, string> = {
  default: 'our network: accurate and fast (masked loss, flips, BN, cosine schedule)',
  seed: "the seed script's network and recipe",
  tiny: 'a very small network for a quick look',
  pretrained: "fine-tunes face-api's pretrained 68-point landmark network",
};
