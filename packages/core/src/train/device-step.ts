/** Step pieces for backends that keep tensors on a device (webgpu): nothing here reads a tensor back synchronously. */
import * as tf from '@tensorflow/tfjs-core';
import { forgetWebgpu, webgpuFailure } from '../backend/webgpu.js';
import { UserError } from '../errors.js';

/**
 * True when the backend in use cannot (or should not) read tensors back every step: WebGPU has no
 * synchronous read in Node (dataSync needs OffscreenCanvas) and every read waits on the bus.
 */
export function keepsLossOnDevice(): boolean {
  return tf.getBackend() === 'webgpu';
}

/**
 * Sums step losses on the device and reads their mean back every `every` steps: the trainer sees
 * one loss per window (a few a epoch), not one per step. A NaN or infinite loss in the window
 * makes the mean non-finite, so divergence is still caught, one window late at most.
 */
export class LossWindow {
  private sum: tf.Scalar | undefined;
  private count = 0;
  constructor(readonly every: number) {}

  /** Adds a step's loss (the caller's tensor is kept alive by the window, so call inside or outside a tidy). */
  add(loss: tf.Scalar): void {
    throwIfDeviceFailed();
    const next = tf.keep(this.sum ? tf.add(this.sum, loss) : tf.clone(loss)) as tf.Scalar;
    this.sum?.dispose();
    this.sum = next;
    this.count++;
  }

  /** Steps added since the last read. */
  get pending(): number {
    return this.count;
  }

  /** The mean loss of the window when it is full (or `force`), else undefined; empties it. */
  async take(force = false): Promise<{ mean: number; steps: number } | undefined> {
    if (!this.sum || (!force && this.count < this.every)) return undefined;
    const sum = this.sum, steps = this.count;
    this.sum = undefined;
    this.count = 0;
    let v: number;
    try {
      v = (await sum.data())[0]!;
    } finally {
      sum.dispose();
    }
    throwIfDeviceFailed(); // a lost device may still answer reads, with nothing in them
    return { mean: v / steps, steps };
  }

  dispose(): void {
    this.sum?.dispose();
    this.sum = undefined;
  }
}

/** Stops a step on a device that failed (deviceFailure below turns this into the user's message). */
export function throwIfDeviceFailed(): void {
  const f = webgpuFailure();
  if (f) throw new Error(`webgpu device failure (${f.kind}: ${f.message})`);
}

/** coef·Σw² as a tensor, and 2·coef·w added to each weight's gradient: L2 without a read-back (inside a tidy). */
export function addL2OnDevice(weights: tf.Variable[], coef: number, grads: tf.NamedTensorMap): tf.Scalar {
  if (!(coef > 0) || weights.length === 0) return tf.scalar(0);
  for (const w of weights) {
    const g = grads[w.name];
    if (g) grads[w.name] = tf.add(g, tf.mul(w, 2 * coef));
  }
  return tf.mul(tf.addN(weights.map((w) => tf.sum(tf.square(w)))), coef);
}

/** Scales all gradients by min(1, maxNorm / ‖g‖) on the device (inside a tidy). */
export function clipByGlobalNormOnDevice(grads: tf.Tensor[], maxNorm: number): tf.Tensor[] {
  const norm = tf.sqrt(tf.addN(grads.map((t) => tf.sum(tf.square(t)))));
  const scale = tf.minimum(tf.scalar(1), tf.div(maxNorm, tf.maximum(norm, 1e-12)));
  return grads.map((t) => tf.mul(t, scale));
}

/**
 * A failure of the GPU device under a training run as one line (undefined when the device is fine
 * and `err` is something else): a lost device (driver reset, GPU removed, another process's fault)
 * or an allocation refused at this batch size. The checkpoint on disk is the last one written, never
 * a half-read one; the trainer then drops the backend (forgetWebgpu), so a resume in the same
 * process opens a new device.
 */
export function deviceFailure(at: { batchSize: number; runDir: string; checkpointEpoch: number | undefined }): UserError | undefined {
  const f = webgpuFailure();
  if (!f) return undefined;
  const kept = at.checkpointEpoch !== undefined ? `the checkpoint of epoch ${at.checkpointEpoch} is kept: resume with keypoints train --resume ${at.runDir}` : 'no checkpoint was written yet (it fails in the first epoch): start the run again';
  if (f.kind === 'memory') {
    // A resume trains at the saved batch and would fail the same way, so the way on is a new run.
    const smaller = Math.max(1, at.batchSize >> 1);
    const left = at.checkpointEpoch !== undefined ? `; the checkpoint of epoch ${at.checkpointEpoch} in ${at.runDir} is kept, but a resume keeps this batch` : '';
    return new UserError(`the GPU ran out of memory at batch size ${at.batchSize} (${f.message || 'an allocation failed'})${left}; start a new run with a smaller batch: train.gpuBatchSize ${smaller} or less in a --config file`);
  }
  return new UserError(`the GPU device was lost during training (${f.message}); ${kept}`);
}

/** After a run on a failed device has let go of its tensors: drops that backend, so the next initBackend opens a new device. */
export function dropFailedDevice(): void {
  if (webgpuFailure()) forgetWebgpu();
}
