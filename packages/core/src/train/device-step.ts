// Training-step pieces for backends that keep tensors on a device (webgpu): nothing here reads a tensor back synchronously.
import * as tf from '@tensorflow/tfjs-core';

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
    const v = (await sum.data())[0]!;
    sum.dispose();
    return { mean: v / steps, steps };
  }

  dispose(): void {
    this.sum?.dispose();
    this.sum = undefined;
  }
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
