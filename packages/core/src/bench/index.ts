/** `keypoints bench`: the trainer's step and inference timed per network and backend, beside PyTorch in the same run. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, probeWebgpuQuietly } from '../backend/index.js';
import { poolStats } from '../backend/simd/index.js';
import type { BackendName, ModelConfig, PresetName } from '../config/schema.js';
import { resolveConfig } from '../config/resolve.js';
import { batchPrefetcher } from '../data/prefetch.js';
import { flipPermutation } from '../data/schema.js';
import { subset } from '../data/split.js';
import { syntheticFaceSet } from '../data/synthetic.js';
import { UserError } from '../errors.js';
import { forwardInfer } from '../model/forward.js';
import { modelFlops } from '../model/index.js';
import { createLearner } from '../train/learner.js';
import { DEFAULT_GPU_BATCH } from '../train/gpu-batch.js';
import { flushLoss, trainStep } from '../train/step.js';
import { createRng, deriveSeed } from '../util/random.js';
import { formatBenchTable, median, medianFigures, medianPerThread, threadFigures } from './figures.js';

export { formatBenchTable, median, threadFigures } from './figures.js';

export interface PytorchFigures {
  version: string;
  threads: number;
  trainImagesPerSec: number;
  inferImagesPerSec: number;
  predictMs: number;
}

/** One network on one backend, with PyTorch's figures for the same network and batch from the same run. */
export interface BenchRecord {
  network: PresetName;
  backend: string;
  /** The backend and what was timed, e.g. "wasm (SIMD, 2 threads, Keypoints SIMD kernels); the trainer's step (batch + trainStep)". */
  engine: string;
  batch: number;
  /** The WebGPU adapter measured on (webgpu rows). */
  adapter?: string;
  steps: number;
  /** Untimed steps before them (the same for PyTorch). */
  warmupSteps: number;
  /** Forward FLOPs per image (2 per multiply-add). */
  mflopsPerImage: number;
  trainImagesPerSec: number;
  /** Inference at batch 64. */
  inferImagesPerSec: number;
  /** Median latency of one image, ms. */
  predictMs: number;
  /** Wall time of one timed training step (its batch + trainStep), ms: 1000 · batch / trainImagesPerSec. */
  stepMs: number;
  /**
   * Of which the training thread spent on the batch: planning the next one (its random draws and
   * targets) and waiting for this one's pixels, drawn on a worker during the previous step (data/prefetch.ts), ms.
   */
  batchMsPerStep: number;
  /**
   * Idle ms per step of each thread running Keypoints' SIMD kernels: [main, worker] with the
   * pool, [0] for the wasm backend without it (one thread, nothing to wait for); null on other
   * backends. Main: waiting for the worker's last parts of a kernel call; worker: the step's wall
   * time less the time it ran parts (asleep between calls, waking, claiming). XNNPACK's own pool
   * thread (inside TF.js's binary) is not seen.
   */
  threadIdleMsPerStep: number[] | null;
  /** Kernel calls per step handed to both threads (each wakes the worker); null without the pool. */
  poolCallsPerStep: number | null;
  /** Largest resident set seen while measuring this record (workers included), MB. */
  peakRssMB: number;
  pytorch: PytorchFigures | null;
  /** Why PyTorch figures are missing, when they are. */
  pytorchNote?: string;
  /** trainImagesPerSec / PyTorch's, same network and batch, same run; null without PyTorch. */
  trainRatioToPytorch: number | null;
  inferRatioToPytorch: number | null;
  /** PyTorch's predict latency / ours (> 1: we are faster). */
  predictSpeedupVsPytorch: number | null;
  /** Rounds measured (PyTorch and ours alternating); every figure above is the median over them. */
  rounds: number;
  /** Lowest and highest per-round training ratio when rounds > 1 (how much the machine varied). */
  trainRatioRange: [number, number] | null;
  machine: { cpus: number; cpuModel: string; loadAverage: number[]; node: string };
}

export interface BenchOptions {
  /** Backends to measure; default: every available fast one (tensorflow variants when they load, wasm). cpu only on request. */
  backends?: string[];
  /**
   * Timed training steps per measurement, after WARMUP_STEPS untimed ones (ours and PyTorch's). Default 20:
   * five steps of the default network last ~0.3 s, short enough for one slow step to move the figure by 20 %.
   */
  steps?: number;
  /**
   * Rounds per network, PyTorch and ours alternating; figures are medians over the rounds, and the
   * range of the per-round training ratios is reported. Default 1. On a shared or virtual machine
   * single runs vary by ±15 %: 3 or more rounds give figures worth quoting.
   */
  rounds?: number;
  networks?: PresetName[];
  /** Print one JSON record per line instead of the table. */
  json?: boolean;
  /** Print nothing (programmatic use). */
  quiet?: boolean;
  /** PyTorch threads. Default 2, as in the issue's comparison. */
  pytorchThreads?: number;
  /**
   * XNNPACK threads for wasm (TF.js's threaded binary). Default: $KEYPOINTS_WASM_THREADS, else the
   * available cores.
   */
  wasmThreads?: number;
  /** Path of bench/pytorch_bench.py; found by walking up from here and from the working directory. */
  pytorchScript?: string;
  /** Skip PyTorch entirely. */
  noPytorch?: boolean;
  onRecord?: (record: BenchRecord) => void;
  onProgress?: (line: string) => void;
  /**
   * Takes one measurement somewhere else, e.g. in a fresh process (the CLI's `bench` does, through
   * measureOne): measured one after another in one process, the `default` network inherited the
   * `seed` network's 1.1 GB heap (its peak RSS) and predicted at batch 1 in ~4 ms instead of ~2.
   * Default: in this process.
   */
  measureIn?: (network: PresetName, backend: string, steps: number) => Promise<Measurement>;
}

/** One network on one backend: our figures only (runBenchmark adds PyTorch's and the ratios). */
export type Measurement = Omit<BenchRecord, 'pytorch' | 'pytorchNote' | 'trainRatioToPytorch' | 'inferRatioToPytorch' | 'predictSpeedupVsPytorch' | 'machine' | 'rounds' | 'trainRatioRange'>;

/** One measurement in this process, the backends initialised as runBenchmark does (for measureIn's other side). */
export async function measureOne(network: PresetName, backend: string, opts: Pick<BenchOptions, 'wasmThreads'>, steps: number): Promise<Measurement> {
  if (backend === 'wasm') await initBackend('wasm', { threads: wasmThreadsOf(opts) });
  return measure(network, backend, steps);
}

/** The wasm binary (threaded or not) is chosen at its first initialisation in the process. */
function wasmThreadsOf(opts: Pick<BenchOptions, 'wasmThreads'>): number {
  return opts.wasmThreads ?? (Number(process.env.KEYPOINTS_WASM_THREADS) || availableParallelism());
}

const PYTHON = '/usr/bin/python3';

/** Untimed training steps before the timed ones, the same for PyTorch and for ours. */
export const WARMUP_STEPS = 3;
const IMAGE = 96;
const OUTPUTS = 30;

function findPytorchScript(explicit?: string): string | undefined {
  const chosen = explicit ?? process.env.KEYPOINTS_PYTORCH_BENCH;
  if (chosen) return existsSync(chosen) ? chosen : undefined;
  const starts: string[] = [process.cwd()];
  try {
    starts.push(path.dirname(fileURLToPath(import.meta.url)));
  } catch {
    // not a file URL
  }
  for (const start of starts) {
    let dir = start;
    for (;;) {
      const p = path.join(dir, 'bench', 'pytorch_bench.py');
      if (existsSync(p)) return p;
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return undefined;
}

function hasTorch(): boolean {
  return spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/** Debian's python3-torch (+ OpenBLAS with threads): installed with apt-get when missing and we are root. */
function ensurePytorch(log: (s: string) => void): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} not found; install Debian's python3, python3-torch and libopenblas0-pthread`;
  if (hasTorch()) return undefined;
  if (process.getuid?.() !== 0) return 'PyTorch is not installed and installing needs root: sudo apt-get install python3-torch libopenblas0-pthread';
  log('PyTorch missing: apt-get install python3-torch libopenblas0-pthread (a few minutes)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const upd = spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'pipe'], env });
  const inst = spawnSync('apt-get', ['install', '-y', '-qq', 'python3-torch', 'libopenblas0-pthread'], { stdio: ['ignore', 'ignore', 'pipe'], env });
  if (hasTorch()) return undefined;
  const err = (inst.stderr?.toString() || upd.stderr?.toString() || '').trim().split('\n').slice(-2).join(' ');
  return `could not install PyTorch with apt-get (${err || `exit ${inst.status ?? upd.status}`}); install python3-torch and libopenblas0-pthread by hand`;
}

function runPytorch(script: string, model: ModelConfig, batch: number, steps: number, threads: number): PytorchFigures | string {
  const r = spawnSync(PYTHON, [script, '--config', JSON.stringify(model), '--batch', String(batch), '--steps', String(steps), '--warmup', String(WARMUP_STEPS), '--threads', String(threads), '--size', String(IMAGE), '--outputs', String(OUTPUTS)], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) },
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) return `PyTorch run failed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-1)[0]}`;
  const j = JSON.parse(r.stdout.trim().split('\n').slice(-1)[0]) as { torch: string; threads: number; trainImagesPerSec: number; inferImagesPerSec: number; predictMs: number };
  return { version: j.torch, threads: j.threads, trainImagesPerSec: j.trainImagesPerSec, inferImagesPerSec: j.inferImagesPerSec, predictMs: j.predictMs };
}

/** Samples the process RSS (worker threads included) while a phase runs. */
function rssSampler(): { stop(): number; sample(): void } {
  let peak = process.memoryUsage.rss();
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, 25);
  return {
    sample,
    stop() {
      clearInterval(timer);
      sample();
      return peak / 2 ** 20;
    },
  };
}

async function defaultBackends(): Promise<string[]> {
  const info = await initBackend('auto');
  return info.name === 'tensorflow' || info.name === 'webgpu' ? [info.name, 'wasm'] : ['wasm'];
}

async function measure(network: PresetName, backend: string, steps: number): Promise<Measurement> {
  // 'webgpu@256' / 'webgpu@gpu': the backend at another batch than the preset's (gpu: the GPU batch, train/gpu-batch.ts).
  const [name, at] = backend.split('@') as [string, string | undefined];
  const preset = resolveConfig({ preset: network, seed: 1 }, `bench ${network}`);
  const batch = at === undefined ? preset.train.batchSize : at === 'gpu' ? (preset.train.gpuBatchSize ?? DEFAULT_GPU_BATCH) : Number(at);
  const cfg = { ...preset, train: { ...preset.train, batchSize: batch } };
  const info = await initBackend(name as BackendName);
  const tc = cfg.train;
  const rss = rssSampler();
  // The trainer's own step on synthetic faces: batch building (augmentation included), forward,
  // masked loss + L2, gradients, clipping and the optimizer, as a user's run does them.
  const raw = syntheticFaceSet({ count: 2 * batch, seed: 1, size: IMAGE });
  const set = subset(raw, Array.from({ length: raw.count }, (_, i) => i)); // in shared memory, as a run's training rows
  // webgpu: the loss is read once per timed run (flushLoss below), as the trainer reads it a few times an epoch.
  const learner = createLearner(cfg, set, { fresh: true, freezeSteps: 0, log: () => {}, readEvery: steps + WARMUP_STEPS });
  const model = learner.model;
  const rng = createRng(deriveSeed(cfg.seed, 2));
  const order = createRng(deriveSeed(cfg.seed, 1)).shuffle(Int32Array.from({ length: set.count }, (_, i) => i));
  const perm = flipPermutation(set.keypoints);
  let batchMs = 0;
  // As the trainer builds them: planned a step ahead, pixels drawn on a worker meanwhile (data/prefetch.ts).
  const batches = batchPrefetcher(set, { augment: tc.augment, perm });
  const rowsOf = (i: number) => {
    const from = (i * batch) % set.count;
    return order.subarray(from, from + batch);
  };
  try {
    batches.request(rowsOf(0), rng);
    const step = async (i: number) => {
      const tb = performance.now();
      const b = await batches.take();
      batches.request(rowsOf(i + 1), rng);
      batchMs += performance.now() - tb;
      await trainStep(learner.ctx, b, tc.learningRate, deriveSeed(cfg.seed, i, 3));
      rss.sample();
    };
    // Warm-up, untimed: XNNPACK operators, the SIMD worker's start-up, V8 optimising the hot paths
    // (the first steps of a fresh process run ~1.5× slower than later ones).
    for (let i = 0; i < WARMUP_STEPS; i++) await step(i);
    await flushLoss(learner.ctx);
    // The pool's counters around the timed steps (its worker has started during the warm-up).
    const pool0 = poolStats(tf.backend());
    batchMs = 0;
    let t0 = performance.now();
    for (let i = 0; i < steps; i++) await step(WARMUP_STEPS + i);
    await flushLoss(learner.ctx); // waits for a GPU's queued steps: they count
    const trainMs = performance.now() - t0;
    const trainImagesPerSec = (batch * steps * 1000) / trainMs;
    const threads = threadFigures(info.name, pool0, poolStats(tf.backend()), trainMs, steps);

    const x64 = tf.randomUniform([64, IMAGE, IMAGE, 1], 0, 1, 'float32', 4);
    const infer = async (input: tf.Tensor) => {
      const out = forwardInfer(model, input); // as predict and evaluate run it
      await out.data();
      out.dispose();
      rss.sample();
    };
    // Two warm-ups: the first call packs fresh weights our way, the second lets XNNPACK pack and
    // cache them (see kernels/batch-matmul.ts); timed calls then run as a serving process would.
    await infer(x64);
    await infer(x64);
    const inferRuns = Math.max(3, steps);
    t0 = performance.now();
    for (let i = 0; i < inferRuns; i++) await infer(x64);
    const inferImagesPerSec = (64 * inferRuns * 1000) / (performance.now() - t0);
    x64.dispose();

    const x1 = tf.randomUniform([1, IMAGE, IMAGE, 1], 0, 1, 'float32', 5);
    await infer(x1);
    await infer(x1);
    const lat: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await infer(x1);
      lat.push(performance.now() - t);
    }
    x1.dispose();
    lat.sort((a, b) => a - b);
    return {
      network,
      backend: info.name,
      engine: `${info.note}; the trainer's step (batch + trainStep)`,
      batch,
      ...(info.adapter ? { adapter: info.adapter } : {}),
      steps,
      warmupSteps: WARMUP_STEPS,
      mflopsPerImage: modelFlops(cfg.model, IMAGE, 2 * set.keypoints.length) / 1e6,
      trainImagesPerSec,
      inferImagesPerSec,
      predictMs: (lat[9] + lat[10]) / 2,
      stepMs: trainMs / steps,
      batchMsPerStep: batchMs / steps,
      ...threads,
      peakRssMB: rss.stop(),
    };
  } finally {
    await batches.close();
    rss.stop();
    learner.dispose();
  }
}

/**
 * Trains and runs the `seed` and `default` networks for a fixed number of steps on every requested
 * backend and on PyTorch (Debian's python3-torch, 2 threads) in the same run, same network, batch,
 * masked-MSE loss and Adam. Ours times the trainer's own step (trainStep) with its batch building
 * (augmentation included, as the trainer builds batches: data/prefetch.ts) on synthetic faces; PyTorch's script steps on random tensors.
 */
export async function runBenchmark(opts: BenchOptions = {}): Promise<BenchRecord[]> {
  const steps = opts.steps ?? 20;
  const networks = opts.networks ?? ['seed', 'default'];
  const print = !opts.quiet;
  const log = (s: string) => {
    opts.onProgress?.(s);
    if (print && !opts.json) process.stderr.write(s + '\n');
  };
  if (!opts.measureIn && (!opts.backends?.length || opts.backends.includes('wasm'))) await initBackend('wasm', { threads: wasmThreadsOf(opts) });
  let backends = opts.backends?.length ? opts.backends : await defaultBackends();
  for (const b of backends) {
    const [name, at] = b.split('@');
    if (!['auto', 'wasm', 'cpu', 'tensorflow', 'tensorflow-gpu', 'webgpu'].includes(name!) || (at !== undefined && at !== 'gpu' && !(Number.isInteger(Number(at)) && Number(at) > 0))) {
      throw new UserError(`bench: unknown backend '${b}': use wasm, cpu, tensorflow, tensorflow-gpu or webgpu, optionally @<batch> or @gpu (e.g. webgpu@256)`);
    }
  }
  if (backends.some((b) => b.startsWith('webgpu'))) {
    // Only a software adapter (or none): say so and leave the webgpu rows out rather than stop the bench.
    const probe = probeWebgpuQuietly();
    if (!probe.ok) {
      process.stderr.write(`bench: webgpu rows skipped: ${probe.why}\n`);
      backends = backends.filter((b) => !b.startsWith('webgpu'));
    } else if (probe.software) process.stderr.write(`bench: webgpu runs on a software adapter (${probe.name}): its figures say nothing about a GPU\n`);
  }
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? 'unknown', loadAverage: loadavg(), node: process.version };
  let pytorchNote: string | undefined;
  let script: string | undefined;
  if (opts.noPytorch) pytorchNote = 'skipped';
  else {
    script = findPytorchScript(opts.pytorchScript);
    pytorchNote = script ? ensurePytorch(log) : 'bench/pytorch_bench.py not found (run from a Keypoints clone or set KEYPOINTS_PYTORCH_BENCH)';
    if (pytorchNote) log(`PyTorch: ${pytorchNote}`);
  }

  const rounds = Math.max(1, Math.floor(opts.rounds ?? 1));
  const records: BenchRecord[] = [];
  for (const network of networks) {
    const cfg = resolveConfig({ preset: network }, `bench ${network}`);
    const torchRuns: PytorchFigures[] = [];
    let note = pytorchNote;
    const ours = new Map<string, Awaited<ReturnType<typeof measure>>[]>(backends.map((b) => [b, []]));
    for (let round = 1; round <= rounds; round++) {
      const of = rounds > 1 ? ` (round ${round} of ${rounds})` : '';
      if (script && !pytorchNote && note === pytorchNote) {
        log(`${network}: PyTorch, batch ${cfg.train.batchSize}, ${steps} steps${of}…`);
        const r = runPytorch(script, cfg.model, cfg.train.batchSize, steps, opts.pytorchThreads ?? 2);
        if (typeof r === 'string') note = r;
        else torchRuns.push(r);
      }
      for (const backend of backends) {
        log(`${network}: ${backend}${backend.includes('@') ? '' : `, batch ${cfg.train.batchSize}`}, ${steps} steps${of}…`);
        ours.get(backend)!.push(await (opts.measureIn ? opts.measureIn(network, backend, steps) : measure(network, backend, steps)));
      }
    }
    const pytorch: PytorchFigures | null = torchRuns.length === rounds ? medianFigures(torchRuns) : null;
    if (!pytorch && !note) note = 'PyTorch failed in some rounds';
    for (const backend of backends) {
      const runs = ours.get(backend)!;
      const calls = runs.map((r) => r.poolCallsPerStep);
      const m = {
        ...medianFigures(runs),
        stepMs: median(runs.map((r) => r.stepMs)),
        batchMsPerStep: median(runs.map((r) => r.batchMsPerStep)),
        threadIdleMsPerStep: medianPerThread(runs.map((r) => r.threadIdleMsPerStep)),
        poolCallsPerStep: calls.every((c) => c !== null) ? median(calls as number[]) : null,
        peakRssMB: Math.max(...runs.map((r) => r.peakRssMB)),
      };
      const ratios = pytorch ? runs.map((r, i) => r.trainImagesPerSec / torchRuns[i]!.trainImagesPerSec) : [];
      const record: BenchRecord = {
        ...m,
        pytorch,
        ...(pytorch ? {} : { pytorchNote: note }),
        trainRatioToPytorch: pytorch ? median(ratios) : null,
        inferRatioToPytorch: pytorch ? median(runs.map((r, i) => r.inferImagesPerSec / torchRuns[i]!.inferImagesPerSec)) : null,
        predictSpeedupVsPytorch: pytorch ? median(runs.map((r, i) => torchRuns[i]!.predictMs / r.predictMs)) : null,
        rounds,
        trainRatioRange: pytorch && rounds > 1 ? [Math.min(...ratios), Math.max(...ratios)] : null,
        machine,
      };
      records.push(record);
      opts.onRecord?.(record);
      if (print && opts.json) process.stdout.write(JSON.stringify(record) + '\n');
    }
  }
  if (print && !opts.json) process.stdout.write(formatBenchTable(records) + '\n');
  return records;
}
