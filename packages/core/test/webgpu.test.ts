// The webgpu backend on a software GPU (Chromium's SwiftShader Vulkan driver): same maths as cpu/wasm, and `auto` never takes it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { forgetWebgpu, initBackend, probeWebgpu, WEBGPU_SOFTWARE_ENV } from '../src/backend/index.ts';
import { describeNoAdapter, sizeFailure, WEBGPU_MAX_BUFFER_ENV, webgpuHelp } from '../src/backend/webgpu-diagnose.ts';
import { resolveConfig } from '../src/config/resolve.ts';
import { splitIndices, subset } from '../src/data/split.ts';
import { syntheticFaceSet } from '../src/data/synthetic.ts';
import { buildModel, forwardTrain } from '../src/model/index.ts';
import { maskedMse } from '../src/train/loss.ts';
import { asKeypointModel, loadCheckpoint, loadRun, predictBatch, readMetrics } from '../src/train/run-folder.ts';
import { UserError } from '../src/errors.ts';
import { train } from '../src/train/trainer.ts';

/** Where Debian's chromium-common puts SwiftShader's Vulkan ICD (override with KEYPOINTS_TEST_VK_ICD). */
const ICD = process.env.KEYPOINTS_TEST_VK_ICD ?? '/usr/lib/chromium/vk_swiftshader_icd.json';
const INSTALL = 'apt-get install chromium libvulkan1 (SwiftShader Vulkan driver and the Vulkan loader)';

// Point the Vulkan loader at SwiftShader only, before Dawn first loads (it reads the variable then).
const hasIcd = existsSync(ICD);
if (hasIcd) {
  process.env.VK_ICD_FILENAMES = ICD;
  if (!process.env.XDG_RUNTIME_DIR) {
    const dir = path.join(tmpdir(), `kp-xdg-${process.pid}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
}
const probe = hasIcd ? await probeWebgpu({ hardwareOnly: true }) : undefined;
const skip = !hasIcd
  ? `no software Vulkan driver at ${ICD}: ${INSTALL}`
  : probe && !probe.ok && !probe.software
    ? `Dawn found no adapter through SwiftShader (${probe.why}): ${INSTALL}`
    : false;

/** Largest |a−b| over the largest |b|: a relative error that ignores tiny components' noise. */
function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1e-12, worst = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst / scale;
}

/** One training step's loss and weight gradients, read asynchronously (webgpu has no synchronous read). */
async function step(preset: string, backend: 'cpu' | 'webgpu', size: number, n: number): Promise<{ loss: number; grads: Float32Array[]; names: string[] }> {
  await initBackend(backend);
  // Dropout off: its mask is random; the rest of the preset (batch norm, pools, dense) as configured.
  const cfg = resolveConfig({ preset, model: { dropout: 0 } }, 'test').model;
  const model = buildModel(cfg, { imageSize: size, outputs: 30, seed: 3 });
  try {
    const x = tf.randomUniform([n, size, size, 1], 0, 1, 'float32', 5);
    const y = tf.randomUniform([n, 30], -1, 1, 'float32', 6);
    const mask = tf.tensor2d(Array.from({ length: n * 30 }, (_, i) => (i % 7 === 3 ? 0 : 1)), [n, 30]);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => maskedMse(forwardTrain(model, x, 1), y, mask), vars);
    const out = { loss: (await value.data())[0]!, grads: await Promise.all(vars.map(async (v) => (await grads[v.name]!.data()) as Float32Array)), names: vars.map((v) => v.name) };
    tf.dispose([x, y, mask, value, ...Object.values(grads)]);
    return out;
  } finally {
    model.dispose();
  }
}

describe('webgpu on SwiftShader', { skip }, () => {
  const saved = process.env[WEBGPU_SOFTWARE_ENV];
  before(() => {
    delete process.env[WEBGPU_SOFTWARE_ENV];
  });
  after(() => {
    if (saved === undefined) delete process.env[WEBGPU_SOFTWARE_ENV];
    else process.env[WEBGPU_SOFTWARE_ENV] = saved;
  });

  it('auto never picks the software adapter, and says so', async () => {
    assert.ok(probe && !probe.ok && probe.software, `SwiftShader is seen as software: ${JSON.stringify(probe)}`);
    const a = await initBackend('auto');
    assert.notEqual(a.name, 'webgpu');
    assert.match(a.note, /only a software WebGPU adapter \(SwiftShader[^)]*\), slower than wasm; auto never takes one/);
  });

  it('--backend webgpu refuses a software adapter unless allowed, with a one-line error naming the fix', async () => {
    await assert.rejects(initBackend('webgpu'), (e: Error) => /Backend 'webgpu' is unavailable: only a software WebGPU adapter/.test(e.message) && e.message.includes(WEBGPU_SOFTWARE_ENV) && /Vulkan/.test(e.message) && !e.message.includes('\n'));
    process.env[WEBGPU_SOFTWARE_ENV] = '1';
    const w = await initBackend('webgpu');
    assert.equal(w.name, 'webgpu');
    assert.match(w.adapter ?? '', /SwiftShader/);
    // Switching to auto again still passes the (allowed) software adapter over.
    assert.notEqual((await initBackend('auto')).name, 'webgpu');
  });

  // Tolerances: float32 on both sides with different summation orders (SwiftShader's conv and
  // reductions vs cpu's loops): loss within 1e-5 relative, each gradient within 2e-4 of its largest entry
  // (seen on SwiftShader: ≤ 2e-7 and ≤ 2e-5).
  // pretrained resizes every input to 112×112 inside the network, so it gets one image (cpu is slow there).
  for (const [preset, size, n] of [['seed', 24, 2], ['default', 24, 2], ['pretrained', 24, 1]] as const) {
    it(`one training step of the ${preset} network (${size}×${size}, batch ${n}) matches cpu's loss and gradients`, async (t) => {
      process.env[WEBGPU_SOFTWARE_ENV] = '1';
      const cpu = await step(preset, 'cpu', size, n);
      const gpu = await step(preset, 'webgpu', size, n);
      t.diagnostic(`loss ${gpu.loss} vs ${cpu.loss} (relative ${(Math.abs(gpu.loss - cpu.loss) / Math.abs(cpu.loss)).toExponential(2)}); worst gradient error ${Math.max(...gpu.grads.map((g, i) => maxRel(g, cpu.grads[i]!))).toExponential(2)}`);
      assert.ok(Math.abs(gpu.loss - cpu.loss) <= 1e-5 * Math.abs(cpu.loss), `loss ${gpu.loss} vs ${cpu.loss}`);
      assert.equal(gpu.grads.length, cpu.grads.length);
      gpu.grads.forEach((g, i) => assert.ok(maxRel(g, cpu.grads[i]!) < 2e-4, `${cpu.names[i]}: error ${maxRel(g, cpu.grads[i]!)}`));
      assert.ok(gpu.grads.some((g) => g.some((v) => v !== 0)), 'gradients are not all zero');
    });
  }

  /** 64 synthetic 24-px faces split 48/16, and a new run folder: what the short webgpu runs train on. */
  const smallRun = (seed: number, prefix: string) => {
    const all = syntheticFaceSet({ count: 64, seed, size: 24 });
    const sp = splitIndices(all.count, 0.25, 1);
    return { data: { train: subset(all, sp.train), val: subset(all, sp.val) }, runDir: mkdtempSync(path.join(tmpdir(), prefix)) };
  };
  /** The failure cases' run: one 8-filter conv and a 16-unit dense layer, batch 12 (also on webgpu), no augmentation. */
  const failureConfig = (backend: 'cpu' | 'webgpu', seed: number, epochs: number) =>
    resolveConfig({
      preset: 'tiny',
      backend,
      seed,
      model: { conv: [{ filters: 8, kernel: 3 }], dense: [16] },
      train: { epochs, batchSize: 12, gpuBatchSize: 12, augment: { flip: false, shift: 0, rotate: 0, brightness: 0 } },
    });
  it('a short training run on webgpu lowers the loss, and its model predicts like wasm', async (t) => {
    process.env[WEBGPU_SOFTWARE_ENV] = '1';
    const { data, runDir } = smallRun(3, 'kp-webgpu-run-');
    const config = resolveConfig({
      preset: 'tiny',
      backend: 'webgpu',
      seed: 5,
      model: { conv: [{ filters: 8, kernel: 3, batchNorm: true }, { filters: 8, kernel: 3 }], dense: [16], l2: 1e-4 },
      // gpuBatchSize as batchSize: four steps an epoch, so the loss is read from windows of steps.
      train: { epochs: 2, batchSize: 12, gpuBatchSize: 12, learningRate: 3e-3, augment: { flip: false, shift: 0, rotate: 0, brightness: 0 } },
    });
    const s = await train({ config, runDir, data });
    assert.equal(s.backend, 'webgpu');
    const m = await readMetrics(runDir);
    assert.equal(m.length, 2);
    assert.ok(m.every((e) => Number.isFinite(e.trainLoss) && Number.isFinite(e.valLoss)), JSON.stringify(m));
    assert.ok(m[1]!.trainLoss < m[0]!.trainLoss, `train loss ${m.map((e) => e.trainLoss).join(' → ')}`);

    // Predict on webgpu (asynchronous reads) and on wasm from the same saved model: same keypoints within 1e-3 px.
    const x = data.val.pixels.subarray(0, 4 * 24 * 24);
    const onGpu = await asKeypointModel(await loadRun(runDir)).predict(x, 4);
    await initBackend('wasm');
    const run = await loadRun(runDir);
    const onWasm = predictBatch(run.model, x, 4, 24);
    assert.equal(onGpu.length, onWasm.length);
    let worst = 0;
    for (let i = 0; i < onWasm.length; i++) worst = Math.max(worst, Math.abs(onGpu[i]! - onWasm[i]!));
    t.diagnostic(`train loss ${m.map((e) => e.trainLoss.toFixed(4)).join(' → ')}; predict webgpu vs wasm: max ${worst.toExponential(2)} px`);
    assert.ok(worst < 1e-3, `max difference ${worst} px`);
  });
  it('a device lost mid-training: one line, the checkpoint kept, and resume finishes the run', async () => {
    process.env[WEBGPU_SOFTWARE_ENV] = '1';
    const { data, runDir } = smallRun(4, 'kp-webgpu-lost-');
    const config = failureConfig('webgpu', 6, 3);
    // Destroying the device after epoch 1's checkpoint is what a driver reset or a removed GPU does to a run.
    const lose = (e: { type: string; epoch?: number }) => {
      if (e.type === 'checkpoint' && e.epoch === 1) (tf.backend() as unknown as { device: { destroy(): void } }).device.destroy();
    };
    await assert.rejects(train({ config, runDir, data, onEvent: lose }), (e: Error) => {
      assert.ok(e instanceof UserError, `${e.name}: ${e.message}`);
      assert.match(e.message, /^the GPU device was lost during training \(destroyed/);
      assert.ok(e.message.endsWith(`the checkpoint of epoch 1 is kept: resume with keypoints train --resume ${runDir}`), e.message);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
    assert.equal((await loadCheckpoint(runDir)).state.epoch, 1);
    const s = await train({ runDir, resume: true, data });
    assert.equal(s.backend, 'webgpu');
    assert.equal(s.epochsRun, 3);
    const m = await readMetrics(runDir);
    assert.deepEqual(m.map((e) => e.epoch), [1, 2, 3]);
    assert.ok(m.every((e) => Number.isFinite(e.valLoss)), JSON.stringify(m));
  });
  it('a batch too large for the GPU: one line naming the batch and a smaller one, the checkpoint kept', async () => {
    process.env[WEBGPU_SOFTWARE_ENV] = '1';
    const { data, runDir } = smallRun(5, 'kp-webgpu-oom-');
    // Epoch 1 on cpu (no GPU time spent on it), stopped after its checkpoint; then the run is moved to webgpu.
    const config = failureConfig('cpu', 7, 2);
    const stop = new AbortController();
    const s1 = await train({ config, runDir, data, signal: stop.signal, onEvent: (e: { type: string; epoch?: number }) => void (e.type === 'checkpoint' && e.epoch === 1 && stop.abort()) });
    assert.equal(s1.reason, 'stopped');
    await writeFile(path.join(runDir, 'config.json'), JSON.stringify({ ...config, backend: 'webgpu' }));
    // A GPU too small for the batch: Dawn refuses buffers over 100 kB (the first conv's output at batch 12 is 221 kB).
    forgetWebgpu();
    process.env[WEBGPU_MAX_BUFFER_ENV] = '100000';
    try {
      await assert.rejects(train({ runDir, resume: true, data }), (e: Error) => {
        assert.ok(e instanceof UserError, `${e.name}: ${e.message}`);
        assert.match(e.message, /^the GPU ran out of memory at batch size 12 \(Buffer size \(\d+\) exceeds the max buffer size limit/);
        assert.ok(e.message.includes(`the checkpoint of epoch 1 in ${runDir} is kept, but a resume keeps this batch`), e.message);
        assert.ok(e.message.endsWith('start a new run with a smaller batch: train.gpuBatchSize 6 or less in a --config file'), e.message);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    } finally {
      delete process.env[WEBGPU_MAX_BUFFER_ENV];
    }
    assert.equal((await loadCheckpoint(runDir)).state.epoch, 1);
    // (The failed device is dropped, as after a lost one: the test above shows a resume then finishes.)
  });
});

describe('webgpu with no adapter', () => {
  it('gives a one-line error saying what was found and what to install', () => {
    // A fresh process whose Vulkan loader sees no driver at all.
    const script = `import('${path.resolve(import.meta.dirname, '../src/backend/index.ts')}').then((m) => m.initBackend('webgpu')).then(() => console.log('OK'), (e) => console.log('ERR ' + e.message))`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
      env: { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json', [WEBGPU_SOFTWARE_ENV]: '' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const line = out.split('\n').at(-1)!;
    assert.match(line, /^ERR Backend 'webgpu' is unavailable: (no WebGPU adapter|webgpu \(Dawn\) not installed)/);
    assert.match(line, /libvulkan1/);
    assert.match(line, /graphics/);
  });
});

describe('webgpu diagnosis', () => {
  it('names what the Vulkan loader found, and what to install on each platform', () => {
    // As Dawn's child probe prints them (the first seen in a scratch folder with no loader, the second with no driver).
    assert.match(describeNoAdapter('Error: libvulkan.so.1: cannot open shared object file: No such file or directory'), /the Vulkan loader \(libvulkan\.so\.1\) is not installed/);
    assert.match(describeNoAdapter('Warning: vkCreateInstance: Found no drivers!', '/x/icd.json'), /installed but found no GPU driver \(VK_ICD_FILENAMES\/VK_DRIVER_FILES point at \/x\/icd\.json\)/);
    assert.match(describeNoAdapter(''), /Dawn found no Vulkan\/Metal\/D3D12 GPU driver/);
    assert.match(webgpuHelp('no WebGPU adapter', 'linux', ''), /libvulkan1.*NVIDIA_DRIVER_CAPABILITIES including graphics/);
    assert.match(webgpuHelp('no WebGPU adapter', 'win32', ''), /D3D12 or Vulkan/);
    assert.match(webgpuHelp('webgpu (Dawn) not installed', 'linux', ''), /npm install webgpu @tensorflow\/tfjs-backend-webgpu/);
    // In VS Code's server (no Dawn in the VSIX) the way to the GPU is the CLI, not an install.
    assert.match(webgpuHelp('webgpu (Dawn) not installed', 'linux', 'vscode'), /carries no Dawn.*npx keypoints train --backend webgpu/);
  });
  it('counts out-of-memory and size-limit errors as a batch too large, and nothing else', () => {
    class GPUOutOfMemoryError { constructor(readonly message: string) {} }
    class GPUValidationError { constructor(readonly message: string) {} }
    assert.equal(sizeFailure(new GPUOutOfMemoryError('Allocation failed.\n - While calling CreateBuffer')), 'Allocation failed');
    assert.equal(sizeFailure(new GPUValidationError('Binding size (5368709120) of [Buffer] is larger than the maximum storage buffer binding size (4294967292).')), 'Binding size (5368709120) of [Buffer] is larger than the maximum storage buffer binding size (4294967292)');
    assert.equal(sizeFailure(new GPUValidationError('[Invalid Buffer] is invalid due to a previous error.')), undefined);
    assert.equal(sizeFailure(undefined), undefined);
  });
});

describe('GPU batch size', () => {
  it('a GPU backend trains at train.gpuBatchSize with the learning rate scaled by √ of the growth; others unchanged', async () => {
    const { gpuBatchConfig, DEFAULT_GPU_BATCH } = await import('../src/train/gpu-batch.ts');
    const seed = resolveConfig({ preset: 'seed' }, 'test');
    assert.deepEqual(gpuBatchConfig(seed, { gpu: false }).config, seed);
    const g = gpuBatchConfig(seed, { gpu: true });
    assert.equal(g.config.train.batchSize, DEFAULT_GPU_BATCH);
    assert.ok(Math.abs(g.config.train.learningRate - seed.train.learningRate * Math.sqrt(DEFAULT_GPU_BATCH / 64)) < 1e-12);
    assert.match(g.note ?? '', /batch 64 → 256/);
    // Applying it again (a resumed run reads the saved config) changes nothing.
    assert.deepEqual(gpuBatchConfig(g.config, { gpu: true }).config, g.config);
    const own = resolveConfig({ preset: 'seed', train: { gpuBatchSize: 128 } }, 'test');
    assert.equal(gpuBatchConfig(own, { gpu: true }).config.train.batchSize, 128);
    const smaller = resolveConfig({ preset: 'seed', train: { gpuBatchSize: 32 } }, 'test');
    assert.deepEqual(gpuBatchConfig(smaller, { gpu: true }).config, smaller);
  });
});
