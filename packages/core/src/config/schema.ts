import { z } from 'zod';

/**
 * One validated training config. Every consumer (CLI flags, the server's train request, the
 * extension's *.keypoints.json files) goes through `resolveConfig`, and the resolved object is
 * saved as `config.json` in every run folder and checkpoint.
 *
 * Unknown keys are rejected (`strict`) so a misspelt option is an error, not a silent default.
 */

export const BackendName = z
  .enum(['auto', 'wasm', 'cpu', 'tensorflow', 'tensorflow-gpu', 'webgpu'])
  .describe('Compute backend. auto: tfjs-node-gpu when loadable, else a hardware WebGPU adapter, else tfjs-node when loadable, else wasm. webgpu: TF.js on Dawn (any Vulkan, Metal or D3D12 GPU).');

export const ConvLayer = z
  .strictObject({
    filters: z.number().int().positive().describe('Output channels.'),
    kernel: z.number().int().positive().describe('Square kernel size.'),
    stride: z.number().int().positive().default(1).describe('Convolution stride.'),
    pool: z.number().int().min(1).default(2).describe('Max-pool size and stride after the activation (1 = none).'),
    batchNorm: z.boolean().default(false).describe('Batch normalisation before the activation.'),
    padding: z.enum(['same', 'valid']).default('same'),
  })
  .describe('One convolution block: conv, optional batch norm, ReLU, optional max-pool.');

export const ModelConfig = z
  .strictObject({
    conv: z.array(ConvLayer).min(1).describe('Convolution blocks, input first.'),
    globalPool: z
      .enum(['none', 'avg'])
      .default('none')
      .describe('none: flatten the last feature map; avg: global average pooling (far fewer dense weights).'),
    dense: z.array(z.number().int().positive()).describe('Hidden fully connected layer widths.'),
    dropout: z.number().min(0).max(0.95).default(0).describe('Dropout rate after the last hidden dense layer.'),
    l2: z.number().min(0).default(0).describe('L2 weight-decay coefficient on dense kernels.'),
    l2Conv: z.number().min(0).default(0).describe('L2 coefficient on convolution kernels.'),
    init: z
      .enum(['none', 'face-api-68'])
      .optional()
      .describe('Omitted or none: random initialisation of the network above. face-api-68: @vladmandic/face-api\'s pretrained 68-point landmark network (weights from the npm package on disk) with a head for the data\'s keypoints; conv, globalPool, dense and dropout are then ignored.'),
  })
  .describe('Network architecture. The output layer is linear with 2 units per keypoint.');

export const ScheduleConfig = z
  .strictObject({
    type: z.enum(['constant', 'exponential', 'staircase', 'cosine']).default('exponential'),
    decayRate: z.number().positive().max(1).default(0.95).describe('exponential/staircase: factor per decay period.'),
    decayEpochs: z.number().positive().default(1).describe('exponential/staircase: epochs per decay period.'),
    minFactor: z.number().min(0).max(1).default(0.01).describe('cosine: final learning rate as a fraction of the peak.'),
    warmupEpochs: z.number().min(0).default(0).describe('Linear warm-up from 0 over this many epochs.'),
  })
  .describe('Learning-rate schedule, a pure function of the step.');

export const AugmentConfig = z
  .strictObject({
    flip: z.boolean().default(false).describe('Random horizontal flips; left/right keypoints are swapped.'),
    shift: z.number().min(0).max(20).default(0).describe('Max random shift in pixels.'),
    rotate: z.number().min(0).max(45).default(0).describe('Max random rotation in degrees.'),
    scale: z.number().min(0).max(0.5).default(0).describe('Max random relative scale change.'),
    brightness: z.number().min(0).max(1).default(0).describe('Max random brightness/contrast change.'),
  })
  .describe('Training-time augmentation (never applied to validation).');

export const LossConfig = z
  .strictObject({
    type: z.enum(['mse', 'wing']).default('mse').describe('mse: mean squared error; wing: Wing loss (Feng et al., CVPR 2018), log-shaped for small and medium errors. Both ignore missing coordinates; validation loss and RMSE are always MSE-based.'),
    wingWidth: z.number().positive().default(4).describe('wing: w, the error (pixels of the input image) below which the loss is logarithmic.'),
    wingCurvature: z.number().positive().default(1).describe('wing: ε (pixels), the curvature of the logarithmic part (smaller is sharper).'),
  })
  .describe('The training loss on the coordinates.');

export const TrainConfig = z
  .strictObject({
    epochs: z
      .union([z.number().int().positive(), z.literal('auto')])
      .default(100)
      .describe('Epochs to train: exactly this many (fewer only when timeLimitMinutes cannot hold them). "auto": as many as timeLimitMinutes holds, planned from the measured speed after the first epoch; the default when timeLimitMinutes is set and epochs is not.'),
    batchSize: z.number().int().positive().default(64),
    gpuBatchSize: z.number().int().positive().optional().describe('Batch size on a GPU backend (webgpu, tfjs-node-gpu) when larger than batchSize; the learning rate is then scaled by √(gpuBatchSize / batchSize). Default 256; set it to batchSize to train as on the CPU.'),
    optimizer: z.enum(['adam', 'sgd', 'momentum']).default('adam'),
    learningRate: z.number().positive().default(1e-3),
    momentum: z.number().min(0).max(0.999).default(0.9).describe('momentum optimizer only.'),
    schedule: ScheduleConfig.default(ScheduleConfig.parse({})),
    patience: z.number().int().min(0).default(10).describe('Early stopping: epochs without improvement (0 = off). Off in a run whose epochs a time limit plans ("auto"): it anneals to the end of the budget.'),
    minDelta: z.number().min(0).default(0).describe('Early stopping: smallest validation-loss drop that counts.'),
    timeLimitMinutes: z.number().positive().optional().describe('Wall-clock budget: the run plans its epochs (see epochs) and fits its schedule to them, and stops inside it.'),
    clipNorm: z.number().positive().optional().describe('Clip the global gradient norm to this value.'),
    divergenceFactor: z
      .number()
      .min(2)
      .default(1e3)
      .describe('Stop as diverged when the training loss exceeds this multiple of its best value.'),
    augment: AugmentConfig.default(AugmentConfig.parse({})),
    loss: LossConfig.default(LossConfig.parse({})),
    ema: z
      .number()
      .min(0)
      .max(0.99999)
      .default(0)
      .describe('Exponential moving average of the weights, decay per step (e.g. 0.998; ramped in as (1+t)/(10+t)); validation, the best model and the saved model use the average. 0 = off.'),
    fitOffsets: z
      .boolean()
      .default(true)
      .describe("After training, fit each keypoint's mean signed error on up to 512 training faces (flip-averaged and not) and take it off every answer: labels are not mirror-symmetric, and training with flips cannot learn that. false = the answers as the network gives them."),
    freezeEpochs: z
      .number()
      .min(0)
      .default(0)
      .describe('Train only the output layer for this many epochs (fractions allowed), then every layer; for pretrained starts (model.init).'),
    freezeLayers: z
      .array(z.string().min(1))
      .default([])
      .describe('Layers kept fixed for the whole run, by name prefix (e.g. "dense0_" for the pretrained network\'s first block).'),
  })
  .describe('Optimisation settings.');

export const DataConfig = z
  .strictObject({
    path: z.string().optional().describe('Training data: Kaggle CSV (.csv, .csv.gz, .zip) or an image folder with keypoints.csv. Omitted: synthetic faces.'),
    validation: z
      .number()
      .min(0)
      .default(0.1)
      .describe('Validation split: a fraction (< 1) or a row count (>= 1).'),
    missing: z.enum(['mask', 'drop']).default('mask').describe('mask: the loss ignores missing coordinates; drop: use complete rows only.'),
    limit: z.number().int().positive().optional().describe('Use at most this many rows (after shuffling).'),
    syntheticCount: z.number().int().positive().default(512).describe('Rows in the generated synthetic set.'),
  })
  .describe('Where the faces come from and how they are split.');

export const SpecialistGroup = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'a folder name: letters, digits, _ and -').describe('The group\'s name and its sub-folder in the run folder.'),
    keypoints: z.array(z.string().min(1)).min(1).describe('The keypoints this specialist predicts (names as in the data).'),
  })
  .describe('One specialist: a network of its own for these keypoints.');

export const SpecialistsConfig = z
  .strictObject({
    groups: z
      .array(SpecialistGroup)
      .min(1)
      .optional()
      .describe('Omitted: eye centres, eye corners, eyebrows, nose, mouth corners, lips (Kaggle\'s names). Every keypoint of the data must be in exactly one group.'),
    init: z.string().optional().describe('A run folder with the same network whose weights (all but the output layer) every specialist starts from.'),
  })
  .describe('Present: train one model per keypoint group, each on every row that has all its keypoints, into one run folder.');

export const PresetName = z.enum(['seed', 'default', 'tiny', 'pretrained']);

export const KeypointsConfig = z
  .strictObject({
    preset: PresetName.default('default').describe('Starting point; explicit settings override it.'),
    seed: z.number().int().min(0).default(42).describe('Seeds the split, initialisation, shuffling and augmentation.'),
    backend: BackendName.default('auto'),
    data: DataConfig.default(DataConfig.parse({})),
    model: ModelConfig,
    train: TrainConfig.default(TrainConfig.parse({})),
    specialists: SpecialistsConfig.optional(),
  })
  .describe('A Keypoints training configuration.');

export type KeypointsConfig = z.infer<typeof KeypointsConfig>;
export type ModelConfig = z.infer<typeof ModelConfig>;
export type TrainConfig = z.infer<typeof TrainConfig>;
export type DataConfig = z.infer<typeof DataConfig>;
export type ScheduleConfig = z.infer<typeof ScheduleConfig>;
export type AugmentConfig = z.infer<typeof AugmentConfig>;
export type LossConfig = z.infer<typeof LossConfig>;
export type ConvLayer = z.infer<typeof ConvLayer>;
export type BackendName = z.infer<typeof BackendName>;
export type PresetName = z.infer<typeof PresetName>;
export type SpecialistsConfig = z.infer<typeof SpecialistsConfig>;
export type SpecialistGroup = z.infer<typeof SpecialistGroup>;
