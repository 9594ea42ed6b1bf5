import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../index.js';
import { layoutOf, shardLoss, valuesOf, type StepRequest, type WorkerInit, type WorkerMessage } from './shared.js';

/**
 * One replica of the model on its own wasm backend (its own wasm instance, its own core).
 * Reads weights from shared memory, computes loss and gradients for its shard of the batch and
 * writes the gradients back to shared memory; the main thread sums and applies them.
 */
async function main(init: WorkerInit): Promise<void> {
  const port = parentPort!;
  const send = (m: WorkerMessage) => port.postMessage(m);
  // One XNNPACK thread per replica: the replicas are the parallelism.
  await initBackend('wasm', { wasmDir: init.wasmDir, threads: 1 });
  const model = (await tfl.models.modelFromJSON(JSON.parse(init.modelJson))) as tfl.LayersModel;
  const layout = layoutOf(init.weightShapes);
  const weights = new Float32Array(init.weights);
  const grads = new Float32Array(init.grads);
  let inputs = new Float32Array(init.inputs);
  const vars = model.weights;
  if (vars.length !== layout.shapes.length) throw new Error(`replica has ${vars.length} weights, main model ${layout.shapes.length}`);
  const trainableIdx = init.trainable.map((t, i) => (t ? i : -1)).filter((i) => i >= 0);

  port.on('message', (req: StepRequest) => {
    try {
      if (req.inputs) inputs = new Float32Array(req.inputs);
      if (req.weightsChanged) {
        tf.tidy(() => {
          vars.forEach((v, i) => v.write(tf.tensor(weights.subarray(layout.offsets[i], layout.offsets[i] + tf.util.sizeFromShape(layout.shapes[i])), layout.shapes[i])));
        });
      }
      const xSize = tf.util.sizeFromShape(req.xShape);
      const ySize = tf.util.sizeFromShape(req.yShape);
      const { value, grads: g } = tf.tidy(() => {
        const x = tf.tensor(inputs.subarray(0, xSize), req.xShape);
        const y = tf.tensor(inputs.subarray(xSize, xSize + ySize), req.yShape);
        const mask = req.hasMask ? tf.tensor(inputs.subarray(xSize + ySize, xSize + 2 * ySize), req.yShape) : undefined;
        const varList = trainableIdx.map((i) => vars[i].read() as tf.Variable);
        return tf.variableGrads(() => shardLoss(model, x, y, mask, req.totalCount, req.dropoutSeed), varList);
      });
      // variableGrads keys by variable name; write in the main model's weight order.
      trainableIdx.forEach((i) => {
        const name = (vars[i].read() as tf.Variable).name;
        grads.set(valuesOf(g[name]), layout.offsets[i]);
      });
      const loss = value.dataSync()[0];
      tf.dispose([value, ...Object.values(g)]);
      send({ type: 'done', loss });
    } catch (err) {
      send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  });
  send({ type: 'ready' });
}

const init = workerData as WorkerInit | undefined;
if (parentPort && init?.keypointsGradientWorker) {
  main(init).catch((err: unknown) => parentPort!.postMessage({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
}
