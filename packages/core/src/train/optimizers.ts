import * as tf from '@tensorflow/tfjs-core';
import { adamUpdateFused } from '../backend/ops/adam.js';

/**
 * Adam, SGD and momentum written out so the learning rate can change every step (it is an argument,
 * not constructor state) and the whole state can be saved and restored for exact resume.
 */
export interface Optimizer {
  readonly name: 'adam' | 'sgd' | 'momentum';
  /** Applies one update: `grads[i]` belongs to `vars[i]`. */
  apply(vars: tf.Variable[], grads: tf.Tensor[], lr: number): void;
  /** State tensors in a fixed order (empty for sgd), for checkpoints. */
  state(): tf.Variable[];
  /** Steps taken so far. */
  step: number;
  dispose(): void;
}

export function createOptimizer(kind: 'adam' | 'sgd' | 'momentum', vars: tf.Variable[], opts: { momentum: number }): Optimizer {
  const zeros = () => vars.map((v) => tf.variable(tf.zerosLike(v), false));
  if (kind === 'sgd') {
    return {
      name: kind,
      step: 0,
      apply(vs, gs, lr) {
        tf.tidy(() => vs.forEach((v, i) => v.assign(tf.sub(v, tf.mul(gs[i]!, lr)))));
        this.step++;
      },
      state: () => [],
      dispose() {},
    };
  }
  if (kind === 'momentum') {
    const vel = zeros();
    const mu = opts.momentum;
    return {
      name: kind,
      step: 0,
      apply(vs, gs, lr) {
        tf.tidy(() =>
          vs.forEach((v, i) => {
            const nv = tf.add(tf.mul(vel[i]!, mu), gs[i]!);
            vel[i]!.assign(nv);
            v.assign(tf.sub(v, tf.mul(nv, lr)));
          }),
        );
        this.step++;
      },
      state: () => vel,
      dispose: () => vel.forEach((t) => t.dispose()),
    };
  }
  const m = zeros(), s = zeros();
  const b1 = 0.9, b2 = 0.999, eps = 1e-7;
  return {
    name: kind,
    step: 0,
    apply(vs, gs, lr) {
      const t = this.step + 1;
      const lrT = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
      tf.tidy(() =>
        vs.forEach((v, i) => {
          const g = gs[i]!;
          const fused = adamUpdateFused(v, g, m[i]!, s[i]!, { lrT, beta1: b1, beta2: b2, epsilon: eps });
          if (fused) {
            m[i]!.assign(fused[1]);
            s[i]!.assign(fused[2]);
            v.assign(fused[0]);
            return;
          }
          const nm = tf.add(tf.mul(m[i]!, b1), tf.mul(g, 1 - b1));
          const ns = tf.add(tf.mul(s[i]!, b2), tf.mul(tf.square(g), 1 - b2));
          m[i]!.assign(nm);
          s[i]!.assign(ns);
          v.assign(tf.sub(v, tf.mul(tf.div(nm, tf.add(tf.sqrt(ns), eps)), lrT)));
        }),
      );
      this.step = t;
    },
    state: () => [...m, ...s],
    dispose: () => [...m, ...s].forEach((t) => t.dispose()),
  };
}
