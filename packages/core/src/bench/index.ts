import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../backend/index.js';
import { resolveConfig } from '../config/resolve.js';
import type { BackendName, ModelConfig, PresetName } from '../config/schema.js';
import { UserError } from '../errors.js';
import { buildModel, forwardTrain, modelFlops, regularisedWeights } from '../model/index.js';
import { l2Penalty, maskedMse } from '../train/loss.js';
import { createOptimizer } from '../train/optimizers.js';
import { ensurePytorch, runPytorch, type PytorchResult } from './pytorch.js';

export { ensurePytorch, PYTORCH_PYTHON, PYTORCH_APT_PACKAGES, type PytorchStatus, type PytorchResult } from './pytorch.js';

export type BenchNetwork = Extract<PresetName, 'seed' | 'default'>;
/** TF.js backends the bench can measure (`auto` is not one: it names one of these). */
export type BenchBackend = Exclude<BackendName, 'auto'>;

export interface BenchOptions {
  networks?: BenchNetwork[];
  /** Default: every backend that initialises except `cpu` (pure JS trains at < 0.2 img/s; ask for it explicitly). */
  backends?: BenchBackend[];
  /** Training batch; default: each preset's own (seed 64, default 32). Inference is always measured at 64. */
  batchSize?: number;
  /** Timed training steps per network and backend (after `warmupSteps` untimed ones). */
  trainSteps?: number;
  warmupSteps?: number;
  /** Timed batch-64 inference runs and batch-1 predictions. */
  inferRuns?: number;
  predictRuns?: number;
  /** Measure PyTorch side by side (default true); install it with apt-get when missing (default true, needs root). */
  pytorch?: boolean;
  installPytorch?: boolean;
  pytorchThreads?: number;
  /** Fraction of coordinates marked missing in the random labels (the masked loss's work is the same either way). */
  missingFraction?: number;
  seed?: number;
  /** Progress lines for a terminal. */
  onLog?: (msg: string) => void;
  /** Called as soon as each record is measured. */
  onRecord?: (rec: BenchRecord) => void;
}

export interface BenchRecord {
  network: BenchNetwork;
  /** 'wasm', 'cpu', 'tensorflow', 'tensorflow-gpu' or 'pytorch'. */
  backend: BenchBackend | 'pytorch';
  /** What the backend really was, e.g. "wasm (SIMD, 1 thread)" or "PyTorch 1.13.0a0, 2 threads". */
  backendNote: string;
  batchSize: number;
  trainSteps: number;
  trainImagesPerSec: number;
  inferImagesPerSec: number;
  /** Median of `predictRuns` single-image predictions. */
  predictLatencyMs: number;
  /** Peak resident memory: for TF.js the largest RSS seen after any step or run of this measurement (the wasm heap never shrinks, so it includes the high-water mark); for PyTorch its process's ru_maxrss. */
  peakRssMB: number;
  /** Forward GFLOP per image (2 per multiply-add), from the config. */
  forwardGflopPerImage: number;
  /** This record's figure divided by PyTorch's on the same network and batch in the same run; null without PyTorch. */
  trainRatioToPytorch: number | null;
  inferRatioToPytorch: number | null;
  /** PyTorch's latency divided by ours: above 1 means we answer faster. */
  predictSpeedupVsPytorch: number | null;
}

export interface BenchMachine {
  cpu: string;
  cores: number;
  memoryGB: number;
  node: string;
  tfjs: string;
  platform: string;
  /** 1-minute load average before and after: figures taken while the load is high are not final. */
  loadBefore: number;
  loadAfter: number;
}

export interface BenchReport {
  machine: BenchMachine;
  records: BenchRecord[];
  /** Why PyTorch or a backend was left out, one line each. */
  skipped: string[];
}

const IMAGE = 96;
const OUTPUTS = 30;
const INFER_BATCH = 64;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

const rssMB = () => process.memoryUsage.rss() / 2 ** 20;

function presetModel(network: BenchNetwork): { model: ModelConfig; batchSize: number } {
  const cfg = resolveConfig({ preset: network }, `preset ${network}`);
  return { model: cfg.model, batchSize: cfg.train.batchSize };
}

interface Inputs {
  x: tf.Tensor4D;
  y: tf.Tensor2D;
  mask: tf.Tensor2D;
  xi: tf.Tensor4D;
  x1: tf.Tensor4D;
}

function makeInputs(batch: number, missing: number, seed: number): Inputs {
  return tf.tidy(() => ({
    x: tf.randomUniform([batch, IMAGE, IMAGE, 1], 0, 1, 'float32', seed) as tf.Tensor4D,
    y: tf.randomUniform([batch, OUTPUTS], -1, 1, 'float32', seed + 1) as tf.Tensor2D,
    mask: tf.cast(tf.greater(tf.randomUniform([batch, OUTPUTS], 0, 1, 'float32', seed + 2), missing), 'float32') as tf.Tensor2D,
    xi: tf.randomUniform([INFER_BATCH, IMAGE, IMAGE, 1], 0, 1, 'float32', seed + 3) as tf.Tensor4D,
    x1: tf.randomUniform([1, IMAGE, IMAGE, 1], 0, 1, 'float32', seed + 4) as tf.Tensor4D,
  }));
}

/**
 * The trainer's step (src/train/trainer.ts): masked MSE of the training-mode forward pass (batch
 * norm on batch statistics, dropout) plus L2 terms, gradients by `tf.variableGrads`, our Adam.
 */
function makeTrainStep(model: tfl.LayersModel, cfg: ModelConfig, inp: Inputs): { step: (i: number) => number; dispose: () => void } {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = createOptimizer('adam', vars, { momentum: 0.9 });
  const { dense, conv } = regularisedWeights(model);
  const step = (i: number): number => {
    const { value, grads } = tf.variableGrads(
      () => tf.add(tf.add(maskedMse(forwardTrain(model, inp.x, 1000 + i), inp.y, inp.mask), l2Penalty(dense, cfg.l2)), l2Penalty(conv, cfg.l2Conv)) as tf.Scalar,
      vars,
    );
    const loss = value.dataSync()[0];
    optimizer.apply(vars, vars.map((v) => grads[v.name]!), 1e-3);
    tf.dispose([value, ...Object.values(grads)]);
    return loss;
  };
  return { step, dispose: () => optimizer.dispose() };
}

async function measureTfjs(
  network: BenchNetwork,
  cfg: ModelConfig,
  batch: number,
  o: Required<Pick<BenchOptions, 'trainSteps' | 'warmupSteps' | 'inferRuns' | 'predictRuns' | 'missingFraction' | 'seed'>>,
  log: (m: string) => void,
): Promise<Pick<BenchRecord, 'trainImagesPerSec' | 'inferImagesPerSec' | 'predictLatencyMs' | 'peakRssMB'>> {
  const before = tf.memory().numTensors;
  const model = buildModel(cfg, { imageSize: IMAGE, outputs: OUTPUTS, seed: o.seed });
  const inp = makeInputs(batch, o.missingFraction, o.seed);
  const { step, dispose } = makeTrainStep(model, cfg, inp);
  let peak = rssMB();
  try {
    for (let i = 0; i < o.warmupSteps; i++) step(i);
    peak = Math.max(peak, rssMB());
    const t0 = performance.now();
    for (let i = 0; i < o.trainSteps; i++) {
      const loss = step(o.warmupSteps + i);
      if (!Number.isFinite(loss)) throw new Error(`${network}: training loss became ${loss}`);
      peak = Math.max(peak, rssMB());
    }
    const trainS = (performance.now() - t0) / 1000;
    log(`  train ${((o.trainSteps * batch) / trainS).toFixed(1)} img/s`);

    const predict = (x: tf.Tensor) => {
      const out = model.predict(x) as tf.Tensor;
      out.dataSync();
      out.dispose();
    };
    for (let i = 0; i < 2; i++) predict(inp.xi);
    const t1 = performance.now();
    for (let i = 0; i < o.inferRuns; i++) predict(inp.xi);
    const inferS = (performance.now() - t1) / 1000;
    peak = Math.max(peak, rssMB());
    for (let i = 0; i < 3; i++) predict(inp.x1);
    const lat: number[] = [];
    for (let i = 0; i < o.predictRuns; i++) {
      const t = performance.now();
      predict(inp.x1);
      lat.push(performance.now() - t);
    }
    peak = Math.max(peak, rssMB());
    return {
      trainImagesPerSec: (o.trainSteps * batch) / trainS,
      inferImagesPerSec: (o.inferRuns * INFER_BATCH) / inferS,
      predictLatencyMs: median(lat),
      peakRssMB: peak,
    };
  } finally {
    dispose();
    tf.dispose(Object.values(inp));
    model.dispose();
    const leaked = tf.memory().numTensors - before;
    if (leaked > 0) log(`  note: ${leaked} tensors left after the ${network} measurement`);
  }
}

/** Backends to measure: the requested ones, or every one that initialises here except cpu. */
async function chooseBackends(requested: BenchBackend[] | undefined, skipped: string[]): Promise<{ name: BenchBackend; note: string }[]> {
  const candidates: BenchBackend[] = requested ?? ['tensorflow-gpu', 'tensorflow', 'wasm'];
  if (!requested) skipped.push('cpu: not measured by default (pure JavaScript, under 0.2 training img/s on the seed network); add it with --backends cpu');
  const out: { name: BenchBackend; note: string }[] = [];
  for (const name of candidates) {
    try {
      const info = await initBackend(name);
      // tfjs-node-gpu falls back to the CPU build silently when CUDA is missing; both register 'tensorflow'.
      if (name === 'tensorflow' && out.some((b) => b.name === 'tensorflow-gpu')) continue;
      out.push({ name, note: info.note });
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      skipped.push(`${name}: ${err.message}`);
    }
  }
  return out;
}

/**
 * Trains and runs the `seed` and `default` networks for a fixed number of steps on every
 * available backend and on PyTorch (Debian's, 2 threads) in the same run, on random inputs of
 * the real shape (96×96×1, 30 outputs, a masked loss). Ratios compare with PyTorch on the same
 * network and batch. Not part of the test suite: a full run takes a few minutes.
 */
export async function runBenchmark(opts: BenchOptions = {}): Promise<BenchReport> {
  const log = opts.onLog ?? (() => undefined);
  const o = {
    trainSteps: opts.trainSteps ?? 10,
    warmupSteps: opts.warmupSteps ?? 2,
    inferRuns: opts.inferRuns ?? 8,
    predictRuns: opts.predictRuns ?? 40,
    missingFraction: opts.missingFraction ?? 0.3,
    seed: opts.seed ?? 42,
  };
  if (o.trainSteps < 1 || o.inferRuns < 1 || o.predictRuns < 1) throw new UserError('bench: trainSteps, inferRuns and predictRuns must be at least 1');
  const networks = opts.networks ?? ['seed', 'default'];
  const skipped: string[] = [];
  const machine: BenchMachine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    tfjs: tf.version_core,
    platform: `${os.platform()} ${os.arch()}`,
    loadBefore: os.loadavg()[0]!,
    loadAfter: NaN,
  };
  const threads = opts.pytorchThreads ?? 2;
  let torch: { version: string } | undefined;
  if (opts.pytorch ?? true) {
    const st = ensurePytorch({ install: opts.installPytorch ?? true, log });
    if (st.ok) torch = { version: st.version };
    else skipped.push(`pytorch: ${st.reason}`);
  }
  const backends = await chooseBackends(opts.backends, skipped);
  const records: BenchRecord[] = [];
  const emit = (r: BenchRecord) => {
    records.push(r);
    opts.onRecord?.(r);
  };

  for (const network of networks) {
    const { model: cfg, batchSize: presetBatch } = presetModel(network);
    const batch = opts.batchSize ?? presetBatch;
    const gflop = modelFlops(cfg, IMAGE, OUTPUTS) / 1e9;
    let ref: PytorchResult | undefined;
    if (torch) {
      log(`${network}: PyTorch ${torch.version}, ${threads} threads, batch ${batch}`);
      try {
        ref = await runPytorch({ model: cfg, imageSize: IMAGE, outputs: OUTPUTS, batchSize: batch, threads, ...o });
        emit({
          network,
          backend: 'pytorch',
          backendNote: `PyTorch ${ref.torchVersion} (CPU), ${ref.threads} threads`,
          batchSize: batch,
          trainSteps: o.trainSteps,
          trainImagesPerSec: ref.trainImagesPerSec,
          inferImagesPerSec: ref.inferImagesPerSec,
          predictLatencyMs: ref.predictLatencyMs,
          peakRssMB: ref.peakRssMB,
          forwardGflopPerImage: gflop,
          trainRatioToPytorch: 1,
          inferRatioToPytorch: 1,
          predictSpeedupVsPytorch: 1,
        });
      } catch (err) {
        skipped.push(`pytorch (${network}): ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    for (const b of backends) {
      const info = await initBackend(b.name);
      log(`${network}: ${info.note}, batch ${batch}`);
      const m = await measureTfjs(network, cfg, batch, o, log);
      emit({
        network,
        backend: b.name,
        backendNote: info.note,
        batchSize: batch,
        trainSteps: o.trainSteps,
        ...m,
        forwardGflopPerImage: gflop,
        trainRatioToPytorch: ref ? m.trainImagesPerSec / ref.trainImagesPerSec : null,
        inferRatioToPytorch: ref ? m.inferImagesPerSec / ref.inferImagesPerSec : null,
        predictSpeedupVsPytorch: ref ? ref.predictLatencyMs / m.predictLatencyMs : null,
      });
    }
  }
  machine.loadAfter = os.loadavg()[0]!;
  return { machine, records, skipped };
}

const fmt = (v: number | null, digits = 1) => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(digits));

/** A Markdown table (readable on a terminal, pasteable into the docs) with the machine above it. */
export function formatBenchTable(report: BenchReport): string {
  const m = report.machine;
  const lines = [
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, ${m.platform}; Node ${m.node}, TF.js ${m.tfjs}; load ${m.loadBefore.toFixed(2)} → ${m.loadAfter.toFixed(2)}`,
    '',
    '| network | backend | batch | train img/s | × PyTorch | infer img/s (b64) | × PyTorch | predict b1 ms | peak RSS MB |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of report.records) {
    lines.push(
      `| ${r.network} | ${r.backendNote} | ${r.batchSize} | ${fmt(r.trainImagesPerSec)} | ${fmt(r.trainRatioToPytorch, 2)} | ${fmt(r.inferImagesPerSec)} | ${fmt(r.inferRatioToPytorch, 2)} | ${fmt(r.predictLatencyMs, 2)} | ${fmt(r.peakRssMB, 0)} |`,
    );
  }
  for (const s of report.skipped) lines.push(`Skipped ${s}`);
  return lines.join('\n');
}
