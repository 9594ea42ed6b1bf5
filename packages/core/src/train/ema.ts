/** An exponential moving average of the network's weights (train.ema): what validation, the best model and the saved model use. */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/**
 * The decay after `step` optimisation steps: train.ema, ramped in as (1 + t)/(10 + t) so the
 * average does not drag the random start along for thousands of steps (early on it follows the
 * weights; by the end of a cosine schedule it averages the last ~1/(1 − decay) steps).
 */
export const emaDecayAt = (decay: number, step: number): number => Math.min(decay, (1 + step) / (10 + step));

export interface WeightAverage {
  /** Folds the current weights in, after optimisation step `step` (1-based: the step just taken). */
  update(step: number): void;
  /** Runs `f` with the averaged weights in the model, then puts the trained ones back. */
  withAveraged<T>(f: () => Promise<T>): Promise<T>;
  /** The average as arrays (checkpoints), and back. */
  values(): Promise<Float32Array[]>;
  restore(values: Float32Array[]): void;
  dispose(): void;
}

/**
 * Every weight of the model is averaged, batch-norm statistics included, so the averaged network
 * is a consistent one (as timm's ModelEmaV2 does). It starts as a copy of the model's weights.
 */
export function createWeightAverage(model: tfl.LayersModel, decay: number): WeightAverage {
  const live = () => model.getWeights();
  const shadow = live().map((w) => tf.variable(w.clone(), false));
  const swap = () =>
    tf.tidy(() => {
      const current = live().map((w) => w.clone());
      model.setWeights(shadow);
      shadow.forEach((s, i) => s.assign(current[i]!));
    });
  return {
    update(step) {
      const d = emaDecayAt(decay, step - 1);
      tf.tidy(() => live().forEach((w, i) => shadow[i]!.assign(tf.add(tf.mul(shadow[i]!, d), tf.mul(w, 1 - d)))));
    },
    async withAveraged(f) {
      swap();
      try {
        return await f();
      } finally {
        swap();
      }
    },
    values: () => Promise.all(shadow.map(async (s) => (await s.data()).slice() as Float32Array)),
    restore(values) {
      tf.tidy(() => shadow.forEach((s, i) => s.assign(tf.tensor(values[i]!, s.shape))));
    },
    dispose() {
      shadow.forEach((s) => s.dispose());
    },
  };
}
