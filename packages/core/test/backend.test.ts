import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { adamUpdateFused, batchNormReluPool2Train, batchNormTrain, defaultWasmThreads, initBackend, currentBackend, locateWasmDir, WASM_DIR_ENV } from '../src/backend/index.ts';
import { UserError } from '../src/errors.ts';
import { SIMD_ENV, simdVariant } from '../src/backend/simd/index.ts';

/** Deterministic N(0,1)-ish values (sum of uniforms) so failures reproduce. */
function randn(shape: number[], seed: number): tf.Tensor {
  let s = seed >>> 0 || 1;
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let k = 0; k < 4; k++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      acc += s / 2 ** 32;
    }
    v[i] = (acc - 2) * Math.sqrt(3);
  }
  return tf.tensor(v, shape);
}

/**
 * Worst |a−b| relative to the reference's largest magnitude. Each gradient element sums K float32
 * products; both backends round differently in a different order, so the error grows like
 * √K·ε·|terms| ≪ 1e-4·max|ref| for K ≤ 10⁵ (ε = 6e-8). A wrong index or padding gives O(1) errors.
 */
function relErr(a: Float32Array | Int32Array | Uint8Array, b: Float32Array | Int32Array | Uint8Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  let scale = 1e-12;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst / scale;
}
const TOL = 1e-4;

async function onBackend<T>(name: 'wasm' | 'cpu', fn: () => T): Promise<T> {
  await initBackend(name);
  return fn();
}

describe('initBackend', () => {
  it('auto falls back to wasm with a note saying why, and is idempotent', async () => {
    const a = await initBackend('auto');
    assert.equal(a.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    // One XNNPACK thread per core by default (2 on this project's machines).
    const n = process.env.KEYPOINTS_WASM_THREADS ? Number(process.env.KEYPOINTS_WASM_THREADS) : defaultWasmThreads();
    // Our SIMD kernels load on the wasm memory, with their worker when that memory is shared (> 1 thread).
    const ours = n > 1 ? ', Keypoints SIMD kernels on 2 threads' : ', Keypoints SIMD kernels';
    // Then why WebGPU was passed over: no adapter, Dawn missing, or only a software adapter.
    const webgpu = /; (no WebGPU adapter \(.+\)|webgpu \(Dawn\) (not installed|failed to load: .+)|only a software WebGPU adapter \(.+\), slower than wasm; auto never takes one)$/;
    assert.ok(a.note.startsWith(`wasm (SIMD, ${n} thread${n === 1 ? '' : 's'}${ours}); tfjs-node not installed; `), a.note);
    assert.match(a.note, webgpu);
    const b = await initBackend('auto');
    assert.strictEqual(a, b);
    assert.strictEqual(currentBackend(), a);
  });

  it('explicit tensorflow backends that are missing give a UserError naming the install', async () => {
    await assert.rejects(initBackend('tensorflow'), (e: unknown) => e instanceof UserError && /npm install @tensorflow\/tfjs-node\b/.test(e.message) && /libtensorflow 2\.9\.1/.test(e.message));
    await assert.rejects(initBackend('tensorflow-gpu'), (e: unknown) => e instanceof UserError && /tfjs-node-gpu/.test(e.message) && /CUDA 11\.2/.test(e.message) && /cuDNN 8\.1/.test(e.message));
  });

  it('cpu switches to the pure-JS backend', async () => {
    const info = await initBackend('cpu');
    assert.equal(info.name, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
  });

  it('finds the wasm binaries, and an explicit folder without them is reported', () => {
    assert.ok(locateWasmDir().dir, 'installed package dist folder');
    const bad = locateWasmDir('/nonexistent-keypoints-dir');
    assert.equal(bad.dir, undefined);
    assert.deepEqual(bad.tried, ['/nonexistent-keypoints-dir']);
    const saved = process.env[WASM_DIR_ENV];
    process.env[WASM_DIR_ENV] = '/also-missing';
    try {
      assert.deepEqual(locateWasmDir().tried, ['/also-missing']);
    } finally {
      if (saved === undefined) delete process.env[WASM_DIR_ENV];
      else process.env[WASM_DIR_ENV] = saved;
    }
  });
});

describe('the kernels\' build', () => {
  // test/simd-relaxed.test.ts runs this file again with KEYPOINTS_SIMD=relaxed: every comparison with cpu below then checks the relaxed build.
  it('is the one $KEYPOINTS_SIMD asks for, and the backend note says which', async () => {
    const info = await initBackend('wasm');
    const want = process.env[SIMD_ENV] === 'relaxed' ? 'relaxed' : 'plain';
    assert.equal(simdVariant(), want);
    if (info.note.includes('Keypoints SIMD kernels')) assert.equal(info.note.includes('relaxed SIMD'), want === 'relaxed', info.note);
  });
});

describe('wasm convolution gradients match cpu', () => {
  // [batch, h, w, inC, k, outC, stride, padding]
  const cases: [number, number, number, number, number, number, number, 'same' | 'valid'][] = [
    [2, 9, 9, 3, 3, 4, 1, 'same'],
    [2, 9, 9, 3, 3, 4, 2, 'same'],
    [2, 9, 9, 3, 3, 4, 1, 'valid'],
    [2, 9, 9, 3, 3, 4, 2, 'valid'],
    [3, 11, 7, 2, 5, 5, 1, 'same'],
    [3, 11, 7, 2, 5, 5, 2, 'valid'],
    [1, 8, 10, 4, 1, 3, 1, 'same'],
    [1, 8, 10, 4, 1, 3, 2, 'valid'],
    [4, 16, 16, 8, 5, 16, 1, 'same'],
    [2, 13, 13, 5, 4, 6, 2, 'same'], // even kernel: asymmetric 'same' padding
    [2, 12, 12, 5, 4, 6, 1, 'same'],
    [2, 10, 10, 3, 3, 2, 3, 'valid'],
    // One input channel (grayscale first layer): the patch-matrix path.
    [3, 11, 9, 1, 5, 4, 1, 'same'],
    [2, 10, 7, 1, 3, 3, 1, 'valid'],
    [2, 12, 12, 1, 4, 5, 1, 'same'],
    [2, 12, 12, 1, 4, 5, 2, 'same'],
    // Stride 1 with output channels % 8 == 0: the SIMD kernel (two threads when % 16 == 0).
    [2, 10, 9, 6, 3, 8, 1, 'valid'], // input channels not a multiple of 4
    [2, 12, 11, 1, 5, 32, 1, 'same'], // one input channel
    [2, 9, 6, 1, 5, 16, 1, 'valid'], // one input channel, 2 output columns
    [2, 7, 5, 1, 4, 8, 1, 'same'], // one input channel, even kernel wider than most rows' interior
    [1, 12, 14, 1, 9, 8, 1, 'same'], // one input channel, 9 taps a row: two blocks of 4 and one
    [1, 9, 9, 4, 4, 24, 1, 'same'], // even kernel: asymmetric padding; 24 channels: one thread
    [3, 7, 7, 3, 3, 16, 1, 'valid'],
    [2, 6, 5, 12, 1, 32, 1, 'valid'], // pointwise (separable convolutions' second half)
    // Stride 1 with input channels % 8 == 0: dx by the SIMD direct convolution (two threads when % 16 == 0).
    [2, 9, 8, 16, 3, 8, 1, 'valid'],
    [1, 10, 9, 32, 4, 16, 1, 'same'], // even kernel
    [2, 7, 11, 8, 5, 8, 1, 'same'], // rows of 11: blocks of 4 pixels and a remainder
    [1, 3, 4, 8, 5, 16, 1, 'same'], // a kernel wider than the input: every pixel on the padded path
    [12, 32, 32, 1, 5, 32, 1, 'same'], // one input channel, ≥ CONV_SPLIT_MIN: our forward on two threads
    [21, 120, 112, 1, 3, 8, 1, 'same'], // one input channel, 8 output channels, ≥ CONV_SPLIT_MIN: dW by halves of an odd batch, summed; forward's row padding in parts (≥ SPLIT_MIN floats)
    [3, 24, 24, 32, 4, 32, 1, 'same'], // ≥ CONV_SPLIT_MIN multiply-adds: forward and dx split by images, dW by channels
    [1, 40, 40, 16, 4, 32, 1, 'same'], // one image ≥ CONV_SPLIT_MIN: forward and dx split by channels
    // 3×3 and 5×5, in-channels % 4 and out-channels % 8 (each direction's own): Winograd (kernels/winograd.ts).
    [2, 11, 10, 8, 3, 16, 1, 'same'], // 3×3: tiles of 4×4 outputs, edge tiles cut to 3 and 2
    [3, 6, 6, 16, 3, 8, 1, 'same'], // a 6×6 map (the default network's last block): 2×2 tiles of 4 per image
    [2, 9, 13, 12, 3, 8, 1, 'valid'], // 7×11 outputs
    [4, 30, 30, 16, 3, 32, 1, 'same'], // ≥ CONV_SPLIT_MIN: two threads
    [2, 13, 11, 8, 5, 16, 1, 'valid'], // odd output sizes: edge tiles cut to 1 row or column
    [3, 9, 7, 12, 5, 8, 1, 'same'], // dx: 12 output channels are neither Winograd's nor the direct kernel's: XNNPACK's
    [4, 20, 18, 16, 5, 32, 1, 'same'], // ≥ CONV_SPLIT_MIN: two threads, several chunks of tiles
    [1, 40, 38, 16, 5, 32, 1, 'same'], // one image on two threads: tile ranges inside the image
  ];
  for (const [b, h, w, ci, k, co, s, pad] of cases) {
    it(`x[${b},${h},${w},${ci}] filter ${k}x${k}x${co} stride ${s} ${pad}`, async () => {
      const seed = b * 1000 + h * 100 + k * 10 + s;
      const grads = (backend: 'wasm' | 'cpu') =>
        onBackend(backend, async () => {
          const x = randn([b, h, w, ci], seed) as tf.Tensor4D;
          const f = randn([k, k, ci, co], seed + 1) as tf.Tensor4D;
          const outShape = tf.conv2d(x, f, s, pad).shape;
          const dy = randn(outShape, seed + 2) as tf.Tensor4D;
          const dx = tf.conv2dTranspose(dy, f, [b, h, w, ci], s, pad); // Conv2DBackpropInput
          const [gx, gf] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, s, pad), dy)))([x, f]);
          // Forward, plain and fused with a bias (the layers' path).
          const bias = randn([co], seed + 3) as tf.Tensor1D;
          const y = tf.conv2d(x, f, s, pad);
          const yb = tf.fused.conv2d({ x, filter: f, strides: s, pad, bias });
          const out = { dx: await dx.data(), gx: await gx.data(), gf: await gf.data(), y: await y.data(), yb: await yb.data() };
          tf.dispose([x, f, dy, dx, gx, gf, bias, y, yb]);
          return out;
        });
      const wasm = await grads('wasm');
      const cpu = await grads('cpu');
      assert.ok(relErr(wasm.y, cpu.y) < TOL, `forward error ${relErr(wasm.y, cpu.y)}`);
      assert.ok(relErr(wasm.yb, cpu.yb) < TOL, `forward with bias error ${relErr(wasm.yb, cpu.yb)}`);
      assert.ok(relErr(wasm.gf, cpu.gf) < TOL, `filter gradient error ${relErr(wasm.gf, cpu.gf)}`);
      assert.ok(relErr(wasm.gx, cpu.gx) < TOL, `input gradient error ${relErr(wasm.gx, cpu.gx)}`);
      assert.ok(relErr(wasm.dx, cpu.dx) < TOL, `conv2dTranspose error ${relErr(wasm.dx, cpu.dx)}`);
    });
  }
});

describe('wasm matmul and max-pool gradients match cpu', () => {
  for (const [m, k, n, batch] of [
    [5, 7, 3, 1],
    [64, 300, 40, 1],
    [3, 200, 90, 1],
    [6, 4096, 300, 1], // a large B, transposed by the SIMD kernel the first time it is seen
    [5, 3001, 350, 1], // the same with sides that are not multiples of 4
    [4, 6, 5, 3],
    // N % 8 == 0: the SIMD GEMM, with row remainders, several K chunks and 64-row blocks, two threads
    [70, 1000, 64, 1],
    [9, 333, 24, 2],
    [130, 600, 512, 1],
    [1100, 40, 16, 1], // transposeA with more than 1024 rows: transposed first, then the GEMM
  ] as const) {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      it(`matMul [${batch}] ${m}x${k}x${n} transposeA=${ta} transposeB=${tb}`, async () => {
        const run = (backend: 'wasm' | 'cpu') =>
          onBackend(backend, async () => {
            const shapeA = batch > 1 ? [batch, ...(ta ? [k, m] : [m, k])] : ta ? [k, m] : [m, k];
            const shapeB = batch > 1 ? [batch, ...(tb ? [n, k] : [k, n])] : tb ? [n, k] : [k, n];
            const a = randn(shapeA, m + k);
            const b = randn(shapeB, n + k + 1);
            const c = tf.matMul(a, b, ta, tb);
            const v = await c.data();
            tf.dispose([a, b, c]);
            return { v, shape: c.shape };
          });
        const w = await run('wasm');
        const c = await run('cpu');
        assert.deepEqual(w.shape, c.shape);
        assert.ok(relErr(w.v, c.v) < TOL, `error ${relErr(w.v, c.v)}`);
      });
    }
  }

  for (const [shape, axis, keepDims] of [
    [[4, 9, 7, 5], [0, 1, 2], false],
    [[3, 40, 30, 8], [0, 1, 2], false], // channels % 4 == 0 and > 256 rows: the SIMD kernel
    [[8, 60, 50, 12], [0, 1, 2], false], // large: channels split between two threads
    [[4, 9, 7, 5], [2, 0, 1], true],
    [[30, 17], 0, false],
    [[30, 17], -2, true],
    [[3, 4, 5], [0, 2], false], // not the leading axes: stock kernel
    [[3, 4, 5], -1, false],
  ] as const) {
    it(`sum of [${shape}] over ${JSON.stringify(axis)} keepDims=${keepDims}`, async () => {
      const run = (backend: 'wasm' | 'cpu') =>
        onBackend(backend, async () => {
          const x = randn([...shape], 9);
          const s = tf.sum(x, axis as number | number[], keepDims);
          const out = { v: await s.data(), shape: s.shape };
          tf.dispose([x, s]);
          return out;
        });
      const w = await run('wasm');
      const c = await run('cpu');
      assert.deepEqual(w.shape, c.shape);
      assert.ok(relErr(w.v, c.v) < TOL, `error ${relErr(w.v, c.v)}`);
    });
  }

  // [batch, h, w, c, pool, stride, padding]; the ReLU'd inputs have many tied zeros.
  const pools: [number, number, number, number, number, number, 'same' | 'valid'][] = [
    [2, 8, 8, 3, 2, 2, 'valid'],
    [2, 9, 7, 4, 2, 2, 'same'],
    [2, 9, 7, 4, 2, 2, 'valid'],
    [1, 10, 10, 5, 3, 2, 'same'],
    [1, 10, 10, 5, 3, 1, 'valid'],
    [3, 6, 6, 16, 3, 3, 'same'],
  ];
  for (const [b, h, w, c, p, s, pad] of pools) {
    it(`maxPool gradient x[${b},${h},${w},${c}] pool ${p} stride ${s} ${pad} (with ties)`, async () => {
      const run = (backend: 'wasm' | 'cpu') =>
        onBackend(backend, async () => {
          const x = tf.relu(randn([b, h, w, c], h * w + p));
          const dy = randn(tf.maxPool(x as tf.Tensor4D, p, s, pad).shape, 5);
          const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(xx as tf.Tensor4D, p, s, pad), dy)))(x);
          const v = await g.data();
          tf.dispose([x, dy, g]);
          return v;
        });
      const wv = await run('wasm');
      const cv = await run('cpu');
      assert.ok(relErr(wv, cv) < 1e-6, `error ${relErr(wv, cv)}`); // sums of ≤ 9 terms: exact
    });
  }
});

describe('fused batch-norm training op', () => {
  /** The composite formulation (tf.moments, scale and shift) whose gradient tfjs derives op by op. */
  const composite = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number) => {
    const { mean, variance } = tf.moments(x, x.shape.slice(0, -1).map((_, i) => i));
    const scale = tf.mul(g, tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(x, scale), tf.sub(b, tf.mul(mean, scale)));
  };
  for (const shape of [
    [4, 5, 7, 3],
    [2, 9, 9, 16],
    [6, 10],
    [8, 48, 48, 16], // SIMD kernels, rows split over two threads (≥ SPLIT_MIN floats)
    [8, 64, 64, 8],
  ]) {
    for (const backend of ['wasm', 'cpu'] as const) {
      it(`[${shape}] on ${backend}: output, statistics and gradients match the composite on cpu`, async () => {
        const run = (b: 'wasm' | 'cpu', fused: boolean) =>
          onBackend(b, async () => {
            const C = shape[shape.length - 1];
            const x = tf.add(tf.mul(randn(shape, 1), 3), 2);
            const g = tf.add(randn([C], 2), 1);
            const bt = randn([C], 3);
            const dy = randn(shape, 4);
            const fn = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => (fused ? batchNormTrain(xx, gg, bb, 1e-3).y : composite(xx, gg, bb, 1e-3));
            const y = fn(x, g, bt);
            const grads = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(fn(xx, gg, bb), dy)))([x, g, bt]);
            const stats = fused ? batchNormTrain(x, g, bt, 1e-3) : undefined;
            const out = {
              y: await y.data(),
              grads: await Promise.all(grads.map((t) => t.data())),
              mean: stats ? await stats.mean.data() : undefined,
              variance: stats ? await stats.variance.data() : undefined,
            };
            tf.dispose([x, g, bt, dy, y, ...grads]);
            if (stats) tf.dispose([stats.y, stats.mean, stats.variance]);
            return out;
          });
        const f = await run(backend, true);
        const r = await run('cpu', false);
        assert.ok(relErr(f.y, r.y) < TOL, `y ${relErr(f.y, r.y)}`);
        f.grads.forEach((g, i) => assert.ok(relErr(g, r.grads[i]) < TOL, `grad ${i}: ${relErr(g, r.grads[i])}`));
        const m = await onBackend('cpu', async () => {
          const x = tf.add(tf.mul(randn(shape, 1), 3), 2);
          const mv = tf.moments(x, shape.slice(0, -1).map((_, i) => i));
          const out = { mean: await mv.mean.data(), variance: await mv.variance.data() };
          tf.dispose([x, mv.mean, mv.variance]);
          return out;
        });
        assert.ok(relErr(f.mean!, m.mean) < TOL && relErr(f.variance!, m.variance) < TOL, 'batch statistics');
      });
    }
  }
});

describe('fused batch norm + ReLU + 2×2 pool training op (wasm)', () => {
  /** Batch norm as tf.moments + scale and shift, then ReLU and max-pool: tfjs derives the gradient op by op. */
  const composite = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const scale = tf.mul(g, tf.rsqrt(tf.add(variance, eps)));
    return tf.maxPool(tf.relu(tf.add(tf.mul(x, scale), tf.sub(b, tf.mul(mean, scale)))) as tf.Tensor4D, 2, 2, 'valid');
  };
  for (const shape of [
    [3, 4, 6, 4],
    [2, 10, 8, 12],
    [8, 48, 48, 16], // batch halves on two threads (≥ SPLIT_MIN floats)
    [5, 24, 24, 8], // odd batch split
  ] as [number, number, number, number][]) {
    it(`[${shape}]: pooled output, statistics and gradients match the composite on cpu`, async () => {
      const C = shape[3];
      const inputs = () => ({
        x: tf.add(tf.mul(randn(shape, 11), 3), 2),
        // Mixed signs: a negative γ turns the window's largest input into its smallest z.
        g: tf.mul(tf.add(randn([C], 12), 0.2), 1.5),
        b: randn([C], 13),
        dy: randn([shape[0], shape[1] / 2, shape[2] / 2, C], 14),
      });
      const fused = await onBackend('wasm', async () => {
        const { x, g, b, dy } = inputs();
        const r = batchNormReluPool2Train(x as tf.Tensor4D, g, b, 1e-3);
        assert.ok(r, 'the fused op applies on wasm');
        const grads = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(batchNormReluPool2Train(xx as tf.Tensor4D, gg, bb, 1e-3)!.y, dy)))([x, g, b]);
        const out = { y: await r.y.data(), mean: await r.mean.data(), variance: await r.variance.data(), grads: await Promise.all(grads.map((t) => t.data())) };
        tf.dispose([x, g, b, dy, r.y, r.mean, r.variance, ...grads]);
        return out;
      });
      const ref = await onBackend('cpu', async () => {
        const { x, g, b, dy } = inputs();
        const y = composite(x, g, b, 1e-3);
        const m = tf.moments(x, [0, 1, 2]);
        const grads = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(composite(xx, gg, bb, 1e-3), dy)))([x, g, b]);
        const out = { y: await y.data(), mean: await m.mean.data(), variance: await m.variance.data(), grads: await Promise.all(grads.map((t) => t.data())) };
        tf.dispose([x, g, b, dy, y, m.mean, m.variance, ...grads]);
        return out;
      });
      assert.ok(relErr(fused.y, ref.y) < TOL, `y ${relErr(fused.y, ref.y)}`);
      assert.ok(relErr(fused.mean, ref.mean) < TOL && relErr(fused.variance, ref.variance) < TOL, 'batch statistics');
      ['x', 'gamma', 'beta'].forEach((name, i) => assert.ok(relErr(fused.grads[i], ref.grads[i]) < TOL, `d${name}: ${relErr(fused.grads[i], ref.grads[i])}`));
    });
  }
  it('declines what its kernels do not cover (odd size, channels not a multiple of 4, the cpu backend)', async () => {
    await onBackend('wasm', () => {
      const g = tf.ones([4]), b = tf.zeros([4]);
      assert.equal(batchNormReluPool2Train(tf.zeros([1, 5, 6, 4]) as tf.Tensor4D, g, b, 1e-3), undefined);
      assert.equal(batchNormReluPool2Train(tf.zeros([1, 6, 6, 3]) as tf.Tensor4D, tf.ones([3]), tf.zeros([3]), 1e-3), undefined);
    });
    await onBackend('cpu', () => assert.equal(batchNormReluPool2Train(tf.zeros([1, 6, 6, 4]) as tf.Tensor4D, tf.ones([4]), tf.zeros([4]), 1e-3), undefined));
  });
});

describe('one-pass ReLU gradient', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`on ${backend} equals dy·step(x), non-finite values included`, async () => {
      await initBackend(backend);
      const xs = [-2, -0, 0, 1e-30, 3, NaN, Infinity, -Infinity, 0.5, -0.5, 2, -1];
      const dys = [1, 2, 3, 4, Infinity, 5, 6, 7, NaN, -Infinity, -3, 0.25];
      const x = tf.tensor1d(xs);
      const dy = tf.tensor1d(dys);
      const viaGrad = tf.grad((t: tf.Tensor) => tf.relu(t))(x, dy);
      const formula = tf.mul(dy, tf.cast(tf.step(x), 'float32'));
      assert.deepEqual(Array.from(await viaGrad.data()), Array.from(await formula.data()));
      // Real-sized random data, large enough to be split between two threads on wasm.
      const big = randn([16, 37, 29, 18], 21);
      const bigDy = randn([16, 37, 29, 18], 22);
      const g = tf.grad((t: tf.Tensor) => tf.relu(t))(big, bigDy);
      const f = tf.mul(bigDy, tf.cast(tf.step(big), 'float32'));
      assert.deepEqual(Array.from(await g.data()), Array.from(await f.data()));
      tf.dispose([x, dy, viaGrad, formula, big, bigDy, g, f]);
    });
  }
});

describe('fused Adam update', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    for (const shape of [[37, 11], [600, 513]]) it(`on ${backend} equals the tf-ops composite for [${shape}], three steps, nothing leaks`, async () => {
      await initBackend(backend);
      const h = { lrT: 3e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
      let v = randn(shape, 31), m = tf.zeros(shape), s = tf.zeros(shape);
      let rv = v.clone(), rm = m.clone(), rs = s.clone();
      const before = tf.memory().numTensors;
      for (let step = 0; step < 3; step++) {
        const g = randn(shape, 40 + step);
        const fused = adamUpdateFused(v, g, m, s, h);
        assert.ok(fused, `${backend} has the fused kernel`);
        tf.dispose([v, m, s]);
        [v, m, s] = fused;
        const [nv, nm, ns] = tf.tidy(() => {
          const nm = tf.add(tf.mul(rm, h.beta1), tf.mul(g, 1 - h.beta1));
          const ns = tf.add(tf.mul(rs, h.beta2), tf.mul(tf.square(g), 1 - h.beta2));
          return [tf.sub(rv, tf.mul(tf.div(nm, tf.add(tf.sqrt(ns), h.epsilon)), h.lrT)), nm, ns];
        });
        tf.dispose([rv, rm, rs, g]);
        [rv, rm, rs] = [nv, nm, ns];
      }
      assert.equal(tf.memory().numTensors, before, 'tensor count');
      for (const [a, b] of [[v, rv], [m, rm], [s, rs]] as const) assert.ok(relErr(await a.data(), await b.data()) < 1e-6, `error ${relErr(await a.data(), await b.data())}`);
      // The weights did move (a kernel that returned v unchanged would fail here).
      assert.ok(relErr(await v.data(), await randn(shape, 31).data()) > 1e-4);
      tf.dispose([v, m, s, rv, rm, rs]);
    });
  }
});

describe('wasm depthwise convolution gradients match cpu', () => {
  // [batch, h, w, channels, kernel, multiplier, stride, padding]
  const cases: [number, number, number, number, number, number, number, 'same' | 'valid'][] = [
    [2, 9, 9, 3, 3, 1, 1, 'same'],
    [2, 9, 7, 4, 3, 2, 2, 'same'],
    [1, 10, 10, 5, 5, 1, 2, 'valid'],
    [3, 8, 8, 2, 3, 3, 1, 'valid'],
    [2, 12, 12, 8, 4, 1, 2, 'same'],
    // Multiplier 1, channels % 4 == 0: the SIMD kernels (two threads from 8 channels).
    [2, 9, 9, 4, 3, 1, 1, 'same'],
    [2, 11, 10, 16, 3, 1, 1, 'same'],
    [2, 13, 12, 12, 3, 1, 2, 'same'],
    [1, 7, 9, 8, 3, 1, 2, 'valid'],
    [1, 3, 3, 8, 5, 1, 1, 'same'], // kernel wider than the image
  ];
  for (const [b, h, w, c, k, m, s, pad] of cases) {
    it(`x[${b},${h},${w},${c}] ${k}x${k} multiplier ${m} stride ${s} ${pad}`, async () => {
      const run = (backend: 'wasm' | 'cpu') =>
        onBackend(backend, async () => {
          const x = randn([b, h, w, c], 31 + k) as tf.Tensor4D;
          const f = randn([k, k, c, m], 32 + m) as tf.Tensor4D;
          const dy = randn(tf.depthwiseConv2d(x, f, s, pad).shape, 33);
          const [gx, gf] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, s, pad), dy)))([x, f]);
          const out = { gx: await gx.data(), gf: await gf.data() };
          tf.dispose([x, f, dy, gx, gf]);
          return out;
        });
      const wv = await run('wasm');
      const cv = await run('cpu');
      assert.ok(relErr(wv.gx, cv.gx) < TOL, `input gradient ${relErr(wv.gx, cv.gx)}`);
      assert.ok(relErr(wv.gf, cv.gf) < TOL, `filter gradient ${relErr(wv.gf, cv.gf)}`);
    });
  }
});

/** conv-relu-maxpool ×2 with batch norm, dropout (seeded, so both backends drop the same units), dense. */
function tinyModel(): tfl.LayersModel {
  const m = tfl.sequential();
  // No bias before batch norm: its true gradient is 0, so only rounding noise would be compared.
  m.add(tfl.layers.conv2d({ inputShape: [24, 24, 1], filters: 6, kernelSize: 5, padding: 'same', useBias: false, kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }));
  m.add(tfl.layers.batchNormalization());
  m.add(tfl.layers.activation({ activation: 'relu' }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 16, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }));
  m.add(tfl.layers.dropout({ rate: 0.25, seed: 7 }));
  m.add(tfl.layers.dense({ units: 4, kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }));
  return m;
}

function lossFn(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor): () => tf.Scalar {
  return () => tf.mean(tf.squaredDifference(model.apply(x, { training: true }) as tf.Tensor, y)) as tf.Scalar;
}

describe('a small tfjs-layers CNN on wasm', () => {
  let model: tfl.LayersModel;
  let x: tf.Tensor;
  let y: tf.Tensor;
  before(async () => {
    await initBackend('wasm');
    model = tinyModel();
    x = randn([8, 24, 24, 1], 11);
    y = tf.tanh(randn([8, 4], 12));
  });
  after(() => {
    tf.dispose([x, y]);
    model.dispose();
  });

  it('has the same gradients as cpu for every weight', async () => {
    const grads = async (backend: 'wasm' | 'cpu') => {
      await initBackend(backend);
      const { value, grads } = tf.variableGrads(lossFn(model, x, y));
      const out: Record<string, Float32Array> = {};
      for (const [name, g] of Object.entries(grads)) out[name] = (await g.data()) as Float32Array;
      const loss = (await value.data())[0];
      tf.dispose([value, ...Object.values(grads)]);
      return { loss, out };
    };
    const w = await grads('wasm');
    const c = await grads('cpu');
    assert.ok(Math.abs(w.loss - c.loss) <= 1e-5 * Math.abs(c.loss), `loss ${w.loss} vs ${c.loss}`);
    const names = Object.keys(c.out);
    assert.ok(names.length >= 9, `expected every trainable weight, got ${names.join(', ')}`);
    for (const name of names) assert.ok(relErr(w.out[name], c.out[name]) < TOL, `${name}: ${relErr(w.out[name], c.out[name])}`);
  });

  it('trains with Adam: the loss goes down and no tensors leak', async () => {
    await initBackend('wasm');
    const opt = tf.train.adam(3e-3);
    const losses: number[] = [];
    const counts: number[] = [];
    for (let step = 0; step < 12; step++) {
      const loss = opt.minimize(lossFn(model, x, y), true) as tf.Scalar;
      losses.push((await loss.data())[0]);
      loss.dispose();
      counts.push(tf.memory().numTensors);
    }
    // Adam creates its slot variables on the first step; after that the count must not move.
    assert.deepEqual(new Set(counts.slice(1)).size, 1, `tensor counts ${counts.join(',')}`);
    assert.ok(losses[11] < 0.7 * losses[0], `loss ${losses[0]} -> ${losses[11]}`);
    opt.dispose();
  });

  it('sgd and momentum steps leak nothing either', async () => {
    await initBackend('wasm');
    for (const opt of [tf.train.sgd(1e-2), tf.train.momentum(1e-2, 0.9)]) {
      const counts: number[] = [];
      for (let step = 0; step < 4; step++) {
        tf.dispose(opt.minimize(lossFn(model, x, y), true) ?? undefined);
        counts.push(tf.memory().numTensors);
      }
      assert.equal(new Set(counts.slice(1)).size, 1, `tensor counts ${counts.join(',')}`);
      opt.dispose();
    }
  });
});

describe('wasm Identity', () => {
  it("a clone shares its source's data, outlives it, and frees it with the last reference", async () => {
    await initBackend('wasm');
    const buffers = () => (tf.backend() as unknown as { dataIdMap: { numDataIds(): number } }).dataIdMap.numDataIds();
    const before = buffers();
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    const y = tf.clone(x);
    assert.equal(buffers(), before + 1, 'one buffer for both: no copy');
    x.dispose();
    assert.deepEqual([...(await y.data())], [1, 2, 3, 4]);
    y.dispose();
    assert.equal(buffers(), before, 'freed with the last reference');
  });
});

describe('L2 term off the tape (addL2)', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`on ${backend}: value and gradient equal the taped coef·Σw², in place or not`, async () => {
      const { addL2 } = await import('../src/backend/ops/weight-decay.ts');
      const { l2Penalty } = await import('../src/train/loss.ts');
      await initBackend(backend);
      const w1 = tf.variable(randn([600, 513], 5), true, `l2w1${backend}`); // > SPLIT_MIN floats: two threads on wasm
      const w2 = tf.variable(randn([3, 3, 4, 8], 6), true, `l2w2${backend}`);
      const coef = 0.37;
      const ref = tf.variableGrads(() => l2Penalty([w1, w2], coef), [w1, w2]);
      const [n1, n2] = [w1.name, w2.name];
      const grads: tf.NamedTensorMap = { [n1]: tf.ones(w1.shape), [n2]: tf.ones(w2.shape) };
      const shared = tf.clone(grads[n2]!); // l2w2's gradient is not ours alone: it must not change in place
      const value = addL2([w1, w2], coef, grads);
      const refValue = (await ref.value.data())[0]!;
      // The taped value is a float32 sum of 77k squares; ours adds blocks in float64.
      assert.ok(Math.abs(value - refValue) < 1e-4 * refValue, `value ${value} vs ${refValue}`);
      for (const name of [n1, n2]) {
        const expected = tf.add(ref.grads[name]!, 1);
        assert.ok(relErr(await grads[name]!.data(), await expected.data()) < TOL, name);
        expected.dispose();
      }
      assert.deepEqual([...(await shared.data())], new Array(shared.size).fill(1));
      tf.dispose([w1, w2, ref.value, ...Object.values(ref.grads), ...Object.values(grads), shared]);
    });
  }
});

describe('wasm inference batch norm (FusedBatchNorm)', () => {
  for (const [shape, withParams] of [
    [[8, 48, 48, 16], true], // SIMD, rows on two threads
    [[2, 5, 5, 8], false], // SIMD, no offset or scale
    [[2, 3, 3, 6], true], // channels not a multiple of 4: stock kernel
  ] as const) {
    it(`[${shape}]${withParams ? ' with offset and scale' : ''} matches cpu`, async () => {
      const run = (b: 'wasm' | 'cpu') =>
        onBackend(b, async () => {
          const C = shape[shape.length - 1]!;
          const x = tf.add(tf.mul(randn([...shape], 11), 3), 1);
          const mean = randn([C], 12), variance = tf.add(tf.abs(randn([C], 13)), 0.1);
          const offset = withParams ? randn([C], 14) : undefined, scale = withParams ? randn([C], 15) : undefined;
          const y = tf.batchNorm(x, mean, variance, offset, scale, 1e-3);
          const v = await y.data();
          tf.dispose([x, mean, variance, y, ...(offset ? [offset] : []), ...(scale ? [scale] : [])]);
          return v;
        });
      const w = await run('wasm');
      const c = await run('cpu');
      assert.ok(relErr(w, c) < TOL, `error ${relErr(w, c)}`);
    });
  }
});

describe('wasm ReLU and 2×2 max-pool kernels match cpu', () => {
  for (const shape of [[2, 9, 7, 4], [1, 6, 6, 8], [8, 64, 66, 8]]) {
    it(`[${shape}] (odd sizes, NaN, ±∞ and ties included)`, async () => {
      const run = (b: 'wasm' | 'cpu') =>
        onBackend(b, async () => {
          const v = tf.round(tf.mul(randn(shape, 41), 2)).dataSync() as Float32Array;
          [Number.NaN, Infinity, -Infinity, -0].forEach((s, i) => (v[7 * i + 3] = s));
          const x = tf.tensor4d(v, shape as [number, number, number, number]);
          const r = tf.relu(x), p = tf.maxPool(x, 2, 2, 'valid');
          const out = { r: Array.from(await r.data(), (t) => t + 0), p: Array.from(await p.data()) };
          tf.dispose([x, r, p]);
          return out;
        });
      const w = await run('wasm');
      const c = await run('cpu');
      assert.deepEqual(w.r, c.r);
      assert.deepEqual(w.p, c.p);
    });
  }
});
