import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { forwardTrain } from '../../model/index.js';

/**
 * The loss every replica computes on its shard. `masked-mse` is the trainer's loss: the mean of
 * (pred − y)² over labelled values (mask = 1), i.e. Σ mask·(pred−y)² / Σ mask over the WHOLE
 * batch. Each shard divides by the whole batch's count, so shard losses and gradients simply add
 * up to the full-batch ones (exact, not an average of averages). `mse` is the same with mask ≡ 1.
 */
export type EngineLoss = 'masked-mse' | 'mse';

export function shardLoss(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, mask: tf.Tensor | undefined, totalCount: number, dropoutSeed: number): tf.Scalar {
  return tf.tidy(() => {
    // The trainer's own forward pass (batch norm on batch statistics, seeded dropout).
    const pred = forwardTrain(model, x, dropoutSeed);
    let se = tf.squaredDifference(pred, y);
    if (mask) se = tf.mul(se, mask);
    return tf.div(tf.sum(se), totalCount) as tf.Scalar;
  });
}

/** Offsets (in floats) of every weight in one flat buffer, in `model.weights` order. */
export interface Layout {
  shapes: number[][];
  offsets: number[];
  total: number;
}

export function layoutOf(shapes: number[][]): Layout {
  const offsets: number[] = [];
  let total = 0;
  for (const s of shapes) {
    offsets.push(total);
    total += s.reduce((a, b) => a * b, 1);
  }
  return { shapes, offsets, total };
}

export interface WorkerInit {
  keypointsGradientWorker: true;
  modelJson: string;
  weightShapes: number[][];
  trainable: boolean[];
  weights: SharedArrayBuffer;
  grads: SharedArrayBuffer;
  inputs: SharedArrayBuffer;
  wasmDir?: string;
}

export interface StepRequest {
  type: 'step';
  /** Whether the weights buffer holds new values since the last step. */
  weightsChanged: boolean;
  batch: number;
  xShape: number[];
  yShape: number[];
  hasMask: boolean;
  totalCount: number;
  dropoutSeed: number;
  /** A larger inputs buffer replacing the previous one. */
  inputs?: SharedArrayBuffer;
}

export type WorkerMessage = { type: 'ready' } | { type: 'done'; loss: number } | { type: 'error'; message: string };

interface HeapBackend {
  typedArrayFromHeap(t: { shape: number[]; dtype: string; dataId: object }): Float32Array;
  dataIdMap: { get(id: object): { refCount: number } | undefined };
}

/** The wasm backend when it holds this tensor's data, else undefined. */
function heapOf(t: tf.Tensor): HeapBackend | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const b = tf.backend() as unknown as HeapBackend;
  return b.dataIdMap.get(t.dataId) ? b : undefined;
}

/** The tensor's float32 values without the copy dataSync makes on wasm (read it before allocating again). */
export function valuesOf(t: tf.Tensor): Float32Array {
  const b = heapOf(t);
  return b ? b.typedArrayFromHeap(t) : (t.dataSync() as Float32Array);
}

/**
 * A writable view of the tensor's memory when nothing else shares it (refCount 1 on wasm), so
 * worker gradients can be added in place; undefined otherwise.
 */
export function exclusiveView(t: tf.Tensor): Float32Array | undefined {
  const b = heapOf(t);
  if (!b || b.dataIdMap.get(t.dataId)?.refCount !== 1) return undefined;
  return b.typedArrayFromHeap(t);
}
