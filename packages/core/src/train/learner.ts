/** The network a run trains with its optimizer: what it trains at which step (freezing), and its tensors as checkpoint arrays. */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { KeypointsConfig } from '../config/schema.js';
import type { FaceSet } from '../data/types.js';
import { InputError } from '../errors.js';
import { buildModel } from '../model/index.js';
import { meanNormalisedCoords } from './data.js';
import { lossFn } from './loss.js';
import { createWeightAverage, type WeightAverage } from './ema.js';
import { createOptimizer } from './optimizers.js';
import { hasOptimizerState, type Checkpoint } from './checkpoint.js';
import type { CheckpointTensors } from './state.js';
import { stepContext, type StepContext } from './step.js';

export interface Learner {
  model: tfl.LayersModel;
  /** What trainStep takes: the variables the current phase trains and their optimizer. */
  ctx: StepContext;
  /** Switches to the variables step `step` trains (fresh optimizer when that changes); true when it did. */
  phaseAt(step: number): boolean;
  /** Loads a checkpoint's weights and optimizer state (after phaseAt(its step)). */
  restore(ck: Checkpoint, file: string): void;
  tensors(best: Float32Array[] | undefined): Promise<CheckpointTensors>;
  /** train.ema's average of the weights (absent when off). */
  average?: WeightAverage;
  /** Runs `f` (validation, keeping the best) on the weights a run is judged by: the average with train.ema, else the trained ones. */
  evaluated<T>(f: () => Promise<T>): Promise<T>;
  dispose(): void;
}

// Asynchronous reads: webgpu has none that is synchronous in Node.
const readAll = (ts: tf.Tensor[]) => Promise.all(ts.map(async (t) => (await t.data()).slice() as Float32Array));

/**
 * Builds the network for `set`. A new run starts predicting the mean face (resume overwrites every
 * weight anyway). train.freezeLayers stay fixed throughout; with train.freezeEpochs the first
 * `freezeSteps` steps train the output layer alone (no backward pass through the rest) with an
 * optimizer of its own, then every layer with a fresh one (Adam's moments restart with their bias
 * correction instead of meeting the backbone at an old step count).
 */
export function createLearner(config: KeypointsConfig, set: FaceSet, opts: { fresh: boolean; freezeSteps: number; log: (m: string, level?: 'info' | 'warn') => void; readEvery?: number }): Learner {
  const tc = config.train, K = set.keypoints.length;
  const model = buildModel(config.model, { imageSize: set.width, outputs: 2 * K, seed: config.seed, outputBias: opts.fresh ? meanNormalisedCoords(set) : undefined, keypoints: set.keypoints });
  const frozen = (name: string) => tc.freezeLayers.some((p) => name.startsWith(p));
  if (tc.freezeLayers.length) {
    const fixed = model.layers.filter((l) => frozen(l.name) && l.trainableWeights.length).map((l) => l.name);
    opts.log(`fixed for the whole run: ${fixed.join(', ') || `nothing (no layer matches ${tc.freezeLayers.join(', ')})`}`);
  }
  const allVars = model.layers.filter((l) => !frozen(l.name)).flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable));
  const headVars = model.getLayer('output').trainableWeights.map((w) => w.read() as tf.Variable);
  const varsAt = (step: number) => (step < opts.freezeSteps ? headVars : allVars);
  const optimizerFor = (vars: tf.Variable[]) => createOptimizer(tc.optimizer, vars, { momentum: tc.momentum });
  const ctx = stepContext(model, varsAt(0), optimizerFor(varsAt(0)), { l2: config.model.l2, l2Conv: config.model.l2Conv, clipNorm: tc.clipNorm, readEvery: opts.readEvery, loss: lossFn(tc.loss, set.width) });
  const average = tc.ema > 0 ? createWeightAverage(model, tc.ema) : undefined;
  return {
    model,
    ctx,
    average,
    evaluated: (f) => (average ? average.withAveraged(f) : f()),
    phaseAt(step) {
      if (varsAt(step) === ctx.vars) return false;
      ctx.optimizer.dispose();
      ctx.vars = varsAt(step);
      ctx.optimizer = optimizerFor(ctx.vars);
      return true;
    },
    restore(ck, file) {
      const shapes = (list: number[][]) => list.map((s) => s.join('×')).join(',');
      if (shapes(ck.state.shapes.weights) !== shapes(model.getWeights().map((w) => w.shape))) {
        throw new InputError({ file }, 'does not fit the network config.json describes (weight shapes differ)');
      }
      tf.tidy(() => model.setWeights(ck.weights.map((w, i) => tf.tensor(w, ck.state.shapes.weights[i]))));
      // A finished run's checkpoint keeps no optimizer state: training on starts the optimizer afresh.
      if (!hasOptimizerState(ck)) return;
      tf.tidy(() => ctx.optimizer.state().forEach((t, i) => t.assign(tf.tensor(ck.optimizer[i]!, t.shape))));
      ctx.optimizer.step = ck.state.optimizerStep;
      if (average && ck.ema?.length) average.restore(ck.ema);
      else if (average) opts.log('the checkpoint holds no weight average (train.ema): the average restarts from the current weights', 'warn');
    },
    async tensors(best) {
      const weights = model.getWeights(), opt = ctx.optimizer.state();
      return { weights: { values: await readAll(weights), shapes: weights.map((w) => w.shape) }, best, optimizer: { name: tc.optimizer, step: ctx.optimizer.step, values: await readAll(opt), shapes: opt.map((t) => t.shape) }, ema: average && (await average.values()) };
    },
    dispose() {
      ctx.lossWindow?.dispose();
      average?.dispose();
      ctx.optimizer.dispose();
      model.dispose();
    },
  };
}

/** The model's current weights as arrays (the best epoch's copy). */
export const weightsOf = (model: tfl.LayersModel): Promise<Float32Array[]> => readAll(model.getWeights());

/** Puts saved weights back (the best epoch's, at the end of a run). */
export function setWeights(model: tfl.LayersModel, values: Float32Array[]): void {
  tf.tidy(() => model.setWeights(values.map((w, i) => tf.tensor(w, model.getWeights()[i]!.shape))));
}
