/** Several keypoint networks on one input as one network: their outputs side by side, then put in the order the caller names. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export interface CombinedPart {
  model: tfl.LayersModel;
  /** The part's keypoints, in the order of its outputs (x, y each). */
  keypoints: readonly string[];
}

/**
 * One LayersModel whose output is every part's points in `order`: the parts run on the same input,
 * their outputs are concatenated, and a fixed 0/1 matrix (no bias) moves each coordinate to its
 * place, so the result is exact and every consumer of a single model (predict, evaluate, submit)
 * takes it unchanged. Disposing it disposes the parts.
 */
export function combineModels(parts: readonly CombinedPart[], order: readonly string[]): tfl.LayersModel {
  const from = parts.flatMap((p) => [...p.keypoints]);
  const missing = order.filter((n) => !from.includes(n));
  if (missing.length) throw new Error(`combineModels: no part predicts ${missing.join(', ')}`);
  const shape = parts[0]!.model.inputs[0]!.shape.slice(1) as number[];
  const input = tfl.input({ shape });
  const outs = parts.map((p, i) => {
    // Every run's network is called "keypoints"; a model's layers need unique names.
    (p.model as { name: string }).name = `part${i}_${p.model.name}`;
    return p.model.apply(input) as tfl.SymbolicTensor;
  });
  const joined = outs.length > 1 ? (tfl.layers.concatenate({ axis: -1 }).apply(outs) as tfl.SymbolicTensor) : outs[0]!;
  const place = tfl.layers.dense({ units: 2 * order.length, useBias: false, trainable: false, name: 'keypoint_order' });
  const model = tfl.model({ name: 'specialists', inputs: input, outputs: place.apply(joined) as tfl.SymbolicTensor });
  const matrix = new Float32Array(2 * from.length * 2 * order.length);
  order.forEach((name, k) => {
    const j = from.indexOf(name);
    for (let c = 0; c < 2; c++) matrix[(2 * j + c) * 2 * order.length + 2 * k + c] = 1;
  });
  tf.tidy(() => place.setWeights([tf.tensor2d(matrix, [2 * from.length, 2 * order.length])]));
  return model;
}
