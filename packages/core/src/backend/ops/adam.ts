import * as tf from '@tensorflow/tfjs-core';
import { getKernel, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { raw } from './batch-norm.js';
import { addressOf, runElementwise, simdKernels } from '../simd/index.js';

const KERNEL = 'KeypointsAdamUpdate';

export interface AdamHyper {
  /** Bias-corrected step size: lr·√(1−β₂ᵗ)/(1−β₁ᵗ). */
  lrT: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/**
 * One Adam update of one variable in a single pass:
 *   m' = β₁m + (1−β₁)g,  s' = β₂s + (1−β₂)g²,  v' = v − lrT·m'/(√s' + ε).
 * Written as tf ops it is a dozen full passes over the weights (≈200 ms per step for the seed
 * network's 36864×512 dense kernel on wasm). On wasm it is one SIMD pass (assembly/kernels.ts, the
 * composite's float32 operations in its order); on cpu one JS loop, m' and s' rounded to float32
 * before v' uses them, as the composite does.
 */
const adamUpdate: KernelFunc = ({ inputs, backend, attrs }) => {
  const { v, g, m, s } = inputs as { v: TensorInfo; g: TensorInfo; m: TensorInfo; s: TensorInfo };
  const { lrT, beta1, beta2, epsilon } = attrs as unknown as AdamHyper;
  const io = raw(backend);
  const nv = io.output(v.shape), nm = io.output(v.shape), ns = io.output(v.shape);
  const simd = simdKernels(backend);
  if (simd) {
    // Same float32 operations in the same order as the composite; c₁, c₂ rounded as TF.js rounds 1−β.
    const w = backend as BackendWasm;
    runElementwise(w, 'adam', v.shape.reduce((a, b) => a * b, 1), (i0, count) => {
      const at = (t: TensorInfo) => addressOf(w, t) + 4 * i0;
      return [at(v), at(g), at(m), at(s), at(nv.info), at(nm.info), at(ns.info), count, lrT, beta1, Math.fround(1 - beta1), beta2, Math.fround(1 - beta2), epsilon];
    });
    return [nv.info, nm.info, ns.info];
  }
  // Views after the last allocation (a wasm heap can grow and detach earlier views).
  const vv = io.values(v), gv = io.values(g), mv = io.values(m), sv = io.values(s);
  const ov = nv.values(), om = nm.values(), os = ns.values();
  const c1 = 1 - beta1, c2 = 1 - beta2;
  for (let i = 0; i < vv.length; i++) {
    const gi = gv[i];
    const mi = Math.fround(beta1 * mv[i] + c1 * gi);
    const si = Math.fround(beta2 * sv[i] + c2 * gi * gi);
    om[i] = mi;
    os[i] = si;
    ov[i] = vv[i] - (lrT * mi) / (Math.sqrt(si) + epsilon);
  }
  return [nv.info, nm.info, ns.info];
};

/** The fused update for wasm and cpu (registered by backend/register.ts). */
export const adamKernels: KernelConfig[] = ['wasm', 'cpu'].map((backendName) => ({ kernelName: KERNEL, backendName, kernelFunc: adamUpdate }));

/** New [v, m, s] after one step, or undefined when the current backend has no fused kernel (use tf ops). */
export function adamUpdateFused(v: tf.Tensor, g: tf.Tensor, m: tf.Tensor, s: tf.Tensor, h: AdamHyper): [tf.Tensor, tf.Tensor, tf.Tensor] | undefined {
  if (!getKernel(KERNEL, tf.getBackend()) || v.dtype !== 'float32' || g.dtype !== 'float32') return undefined;
  return tf.engine().runKernel(KERNEL, { v, g, m, s }, h as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
}
