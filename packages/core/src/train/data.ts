/** The rows a run trains and validates on, and the mean face its output layer starts from. */
import type { KeypointsConfig } from '../config/schema.js';
import { toNormalized } from '../data/batch.js';
import { readFaceSet } from '../data/read.js';
import { dropIncomplete, splitIndices, subset } from '../data/split.js';
import { syntheticFaceSet } from '../data/synthetic.js';
import type { FaceSet } from '../data/types.js';
import { UserError } from '../errors.js';
import { createRng, deriveSeed } from '../util/random.js';

/** Loads and splits the data a config names: split first, so every preset is scored on the same validation rows. */
export async function loadTrainingData(config: KeypointsConfig, onLog?: (msg: string) => void): Promise<{ train: FaceSet; val: FaceSet; all: FaceSet }> {
  const read = config.data.path ? await readFaceSet(config.data.path) : syntheticFaceSet({ count: config.data.syntheticCount, seed: config.seed });
  const { all, val, train: split } = splitForTraining(read, config);
  let train = split;
  if (config.data.missing === 'drop') {
    const before = train.count;
    train = dropIncomplete(train);
    onLog?.(`missing: drop — training on ${train.count} of ${before} rows (complete labels only)`);
  }
  if (train.count === 0) throw new UserError(`${all.source}: no rows left to train on after the validation split (${all.count} rows, validation ${config.data.validation})`);
  return { train, val, all };
}

/**
 * The training and validation rows a config takes from a whole set (data.limit, then the seeded
 * split), before missing: drop. `keypoints evaluate --split` uses it to score the same rows.
 */
export function splitForTraining(set: FaceSet, config: Pick<KeypointsConfig, 'seed' | 'data'>): { train: FaceSet; val: FaceSet; all: FaceSet } {
  let all = set;
  if (config.data.limit && config.data.limit < all.count) {
    const order = createRng(deriveSeed(config.seed, 7)).shuffle(Int32Array.from({ length: all.count }, (_, i) => i));
    all = subset(all, order.slice(0, config.data.limit).sort());
  }
  const split = splitIndices(all.count, config.data.validation, config.seed);
  return { train: subset(all, split.train), val: subset(all, split.val), all };
}

/**
 * Mean of every coordinate over the rows where it is labelled, normalised to [-1, 1] as makeBatch
 * normalises targets (0 when a coordinate is never labelled): the output layer's starting bias, so
 * the untrained network already predicts the mean face.
 */
export function meanNormalisedCoords(set: FaceSet): Float32Array {
  const K2 = set.keypoints.length * 2;
  const sum = new Float64Array(K2), n = new Float64Array(K2);
  for (let r = 0; r < set.count; r++) {
    for (let j = 0; j < K2; j++) {
      const v = set.coords[r * K2 + j]!;
      if (!Number.isNaN(v)) {
        sum[j] += v;
        n[j]++;
      }
    }
  }
  const size = [set.width, set.height];
  return Float32Array.from(sum, (s, j) => (n[j] ? toNormalized(s / n[j]!, size[j % 2]!) : 0));
}
