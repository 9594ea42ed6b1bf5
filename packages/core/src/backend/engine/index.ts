import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import type * as tfl from '@tensorflow/tfjs-layers';
import { regularisedWeights } from '../../model/index.js';
import { addL2 } from '../ops/weight-decay.js';
import { exclusiveView, layoutOf, shardLoss, valuesOf, type EngineLoss, type Layout, type StepRequest, type WorkerInit, type WorkerMessage } from './shared.js';

export type { EngineLoss } from './shared.js';

/** Env var naming the gradient worker script, for bundles that place it somewhere of their own. */
export const WORKER_SCRIPT_ENV = 'KEYPOINTS_GRADIENT_WORKER';

export interface GradientEngineOptions {
  /** The model the trainer owns; its weights are read before every step (after the optimizer changed them). */
  model: tfl.LayersModel;
  /** The loss, see `EngineLoss`. Regularisation terms are added once, on the main shard. */
  loss?: EngineLoss;
  /** The trainer's L2 coefficients (config.model.l2 on dense kernels, l2Conv on conv kernels). */
  l2?: { dense?: number; conv?: number };
  /**
   * Threads computing gradients, the main thread included. Default: available cores (at most 4)
   * divided by the XNNPACK threads the main wasm backend already uses. 1 = no workers.
   */
  threads?: number;
  /** Passed to the workers' `initBackend('wasm')`. */
  wasmDir?: string;
  /** Path of the built worker script (dist/gradient-worker.js); found automatically when unset. */
  workerScript?: string;
}

export interface GradientStep {
  /** Full-batch loss (data loss + regularisation). */
  loss: number;
  /** Gradients of `loss` keyed by variable name, ready for `optimizer.applyGradients`; the caller disposes them. */
  grads: tf.NamedTensorMap;
}

export interface GradientEngine {
  /** Threads actually computing (1 when no worker could start). */
  readonly threads: number;
  /** One sentence for logs, e.g. "data-parallel: 2 threads (main + 1 wasm worker)". */
  readonly note: string;
  /**
   * Loss and full-batch gradients; `mask` (same shape as y, 1 = labelled) for the masked loss.
   * `dropoutSeed`: the step's seed; shard i uses dropoutSeed + i.
   */
  computeGradients(x: tf.Tensor, y: tf.Tensor, mask?: tf.Tensor, step?: { dropoutSeed?: number }): Promise<GradientStep>;
  dispose(): Promise<void>;
}

function findWorkerScript(explicit?: string): string | undefined {
  const chosen = explicit ?? process.env[WORKER_SCRIPT_ENV];
  if (chosen) return existsSync(chosen) ? chosen : undefined;
  const candidates: string[] = [];
  try {
    // import.meta.url is empty in CJS bundles (a VS Code extension): __dirname is the bundle's folder there.
    const here = import.meta.url ? path.dirname(fileURLToPath(import.meta.url)) : typeof __dirname === 'string' ? __dirname : undefined;
    if (here) {
      candidates.push(path.join(here, 'gradient-worker.js')); // beside a bundle (core's or the CLI's dist/)
      candidates.push(path.join(here, 'worker.ts')); // running from source under tsx
    }
  } catch {
    // not a file URL
  }
  try {
    const pkg = createRequire(import.meta.url).resolve('@keypoints/core/package.json');
    candidates.push(path.join(path.dirname(pkg), 'dist', 'gradient-worker.js'));
  } catch {
    // core not resolvable as a package from here
  }
  return candidates.find((c) => existsSync(c));
}

interface Replica {
  worker: Worker;
  inputs: Float32Array;
  grads: Float32Array;
  pending?: { resolve: (loss: number) => void; reject: (e: Error) => void };
}

/**
 * Data-parallel gradients on wasm: TF.js runs wasm single-threaded under Node, so each extra core
 * gets a worker thread with its own wasm backend and a replica of the model. Every step the main
 * thread publishes the weights in shared memory, gives each thread a contiguous shard of the batch,
 * computes its own shard, and adds the workers' gradients (written to shared memory) to its own.
 * The sum is the full-batch gradient (see `shardLoss`), up to float rounding.
 * Batch norm computes its statistics per shard (as PyTorch's DataParallel does) and dropout masks
 * differ per replica; the main replica's moving statistics are kept.
 */
export async function createGradientEngine(options: GradientEngineOptions): Promise<GradientEngine> {
  const { model } = options;
  const lossKind = options.loss ?? 'masked-mse';
  const xnnThreads = tf.getBackend() === 'wasm' ? Math.max(1, getThreadsCount()) : 1;
  const wanted = Math.max(1, Math.min(options.threads ?? Math.floor(Math.min(availableParallelism(), 4) / xnnThreads), 16));
  const weightVars = model.weights;
  const layout: Layout = layoutOf(weightVars.map((w) => w.shape as number[]));
  const trainable = weightVars.map((w) => w.trainable);
  const inputShape = (model.inputs[0].shape as (number | null)[]).slice(1) as number[];
  const outputShape = (model.outputs[0].shape as (number | null)[]).slice(1) as number[];
  const replicas: Replica[] = [];
  let note = 'one gradient replica';
  const script = wanted > 1 ? findWorkerScript(options.workerScript) : undefined;
  let weightsBuf: Float32Array | undefined;

  if (wanted > 1 && !script) note = 'single thread: gradient worker script not found (set ' + WORKER_SCRIPT_ENV + ')';
  if (wanted > 1 && script) {
    const weightsSab = new SharedArrayBuffer(layout.total * 4);
    weightsBuf = new Float32Array(weightsSab);
    const modelJson = JSON.stringify(model.toJSON(null, false));
    try {
      for (let i = 1; i < wanted; i++) {
        const grads = new SharedArrayBuffer(layout.total * 4);
        // Inputs: allocated on the first step, replaced (and sent along) when a shard outgrows them.
        const inputs = new SharedArrayBuffer(4);
        const init: WorkerInit = { keypointsGradientWorker: true, modelJson, weightShapes: layout.shapes, trainable, weights: weightsSab, grads, inputs, wasmDir: options.wasmDir };
        const worker = script.endsWith('.ts')
          ? // From source (tests, tsx): loader hooks are not inherited by workers on Node 20, so register tsx first.
            new Worker(`import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(pathToFileURL(script).href)}); });`, { eval: true, workerData: init })
          : new Worker(pathToFileURL(script), { workerData: init });
        const replica: Replica = { worker, inputs: new Float32Array(inputs), grads: new Float32Array(grads) };
        await new Promise<void>((resolve, reject) => {
          const onMsg = (m: WorkerMessage) => {
            if (m.type === 'ready') done(resolve);
            else if (m.type === 'error') done(() => reject(new Error(m.message)));
          };
          const onError = (e: Error) => done(() => reject(e));
          const onExit = (code: number) => done(() => reject(new Error(`gradient worker exited with code ${code} during start-up`)));
          // Remove only our listeners: Worker keeps internal ones (removeAllListeners breaks message delivery).
          const done = (settle: () => void) => {
            worker.off('message', onMsg).off('error', onError).off('exit', onExit);
            settle();
          };
          worker.on('message', onMsg).on('error', onError).on('exit', onExit);
        });
        worker.on('message', (m: WorkerMessage) => {
          const p = replica.pending;
          replica.pending = undefined;
          if (!p) return;
          if (m.type === 'done') p.resolve(m.loss);
          else if (m.type === 'error') p.reject(new Error('gradient worker: ' + m.message));
        });
        worker.on('error', (e) => replica.pending?.reject(e));
        worker.on('exit', (code) => replica.pending?.reject(new Error(`gradient worker exited with code ${code}`)));
        replicas.push(replica);
      }
      note = `data-parallel: ${wanted} threads (main + ${wanted - 1} wasm worker${wanted > 2 ? 's' : ''})`;
    } catch (err) {
      await Promise.all(replicas.map((r) => r.worker.terminate()));
      replicas.length = 0;
      note = `single thread: gradient worker failed to start (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
    }
  }

  const threads = replicas.length + 1;

  const l2 = regularisedWeights(model);
  async function computeGradients(x: tf.Tensor, y: tf.Tensor, mask?: tf.Tensor, step: { dropoutSeed?: number } = {}): Promise<GradientStep> {
    const dropoutSeed = step.dropoutSeed ?? 0;
    const batch = x.shape[0];
    if (lossKind === 'mse' && mask) throw new Error("createGradientEngine: loss 'mse' takes no mask");
    let totalCount = y.size;
    if (mask) {
      const count = tf.sum(mask);
      totalCount = Math.max(1, (await count.data())[0]);
      count.dispose();
    }
    // Shards: contiguous, sizes differ by at most one; the main thread takes the first.
    const n = Math.min(threads, batch);
    const bounds: number[] = [0];
    for (let i = 1; i <= n; i++) bounds.push(Math.round((batch * i) / n));
    const active = replicas.slice(0, n - 1);

    let workerLosses: Promise<number>[] = [];
    if (active.length > 0) {
      // Publish the current weights (the optimizer has changed them since the last step).
      weightVars.forEach((w, i) => weightsBuf!.set(valuesOf(w.read()), layout.offsets[i]));
      const xv = x.dataSync() as Float32Array;
      const yv = y.dataSync() as Float32Array;
      const mv = mask ? (mask.dataSync() as Float32Array) : undefined;
      const xPer = x.size / batch;
      const yPer = y.size / batch;
      workerLosses = active.map((r, k) => {
        const [s, e] = [bounds[k + 1], bounds[k + 2]];
        const rows = e - s;
        const need = (rows * xPer + rows * yPer * (mv ? 2 : 1)) * 4;
        let newInputs: SharedArrayBuffer | undefined;
        if (r.inputs.byteLength < need) {
          newInputs = new SharedArrayBuffer(need);
          r.inputs = new Float32Array(newInputs);
        }
        r.inputs.set(xv.subarray(s * xPer, e * xPer), 0);
        r.inputs.set(yv.subarray(s * yPer, e * yPer), rows * xPer);
        if (mv) r.inputs.set(mv.subarray(s * yPer, e * yPer), rows * xPer + rows * yPer);
        const req: StepRequest = { type: 'step', weightsChanged: true, batch: rows, xShape: [rows, ...inputShape], yShape: [rows, ...outputShape], hasMask: !!mv, totalCount, dropoutSeed: dropoutSeed + k + 1, inputs: newInputs };
        return new Promise<number>((resolve, reject) => {
          r.pending = { resolve, reject };
          r.worker.postMessage(req);
        });
      });
    }

    // The main shard, on this thread's backend, with the regularisation terms added once.
    const mainRows = bounds[1];
    const trainableVars = weightVars.filter((w) => w.trainable).map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.tidy(() => {
      const xs = mainRows === batch ? x : tf.slice(x, 0, mainRows);
      const ys = mainRows === batch ? y : tf.slice(y, 0, mainRows);
      const ms = mask ? (mainRows === batch ? mask : tf.slice(mask, 0, mainRows)) : undefined;
      return tf.variableGrads(() => shardLoss(model, xs, ys, ms, totalCount, dropoutSeed), trainableVars);
    });

    let loss = (await value.data())[0];
    value.dispose();
    // The trainer's L2 terms, once per batch, off the tape (Keypoints models carry no tfjs-layers
    // regularisers): value added to the loss, gradient added to the fresh gradients in place.
    loss += addL2(l2.dense, options.l2?.dense ?? 0, grads) + addL2(l2.conv, options.l2?.conv ?? 0, grads);
    if (active.length > 0) {
      const losses = await Promise.all(workerLosses);
      for (const l of losses) loss += l;
      const summed: tf.NamedTensorMap = {};
      weightVars.forEach((w, i) => {
        if (!w.trainable) return;
        const name = (w.read() as tf.Variable).name;
        const mine = grads[name];
        const parts = active.map((r) => r.grads.subarray(layout.offsets[i], layout.offsets[i] + mine.size));
        const view = exclusiveView(mine);
        if (view) {
          // Our own fresh gradient: add the workers' shares in place (no new tensors, one pass).
          for (const p of parts) for (let j = 0; j < p.length; j++) view[j] += p[j];
          summed[name] = mine;
          return;
        }
        summed[name] = tf.tidy(() => parts.reduce<tf.Tensor>((g, p) => tf.add(g, tf.tensor(p, mine.shape)), mine));
        mine.dispose();
      });
      return { loss, grads: summed };
    }
    return { loss, grads };
  }

  return {
    threads,
    note,
    computeGradients,
    async dispose() {
      await Promise.all(replicas.map((r) => r.worker.terminate()));
      replicas.length = 0;
    },
  };
}
