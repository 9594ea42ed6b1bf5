import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KERNELS_WASM, KERNELS_WASM_RELAXED } from '../src/backend/simd/kernels-wasm.ts';
import type { SimdKernels } from '../src/backend/simd/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const bytes = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

/** Whether this runtime compiles relaxed SIMD as it is (Node 22+), before any flag is set. */
function relaxedHere(): boolean {
  return WebAssembly.validate(bytes(KERNELS_WASM_RELAXED));
}

describe('relaxed-SIMD build of the kernels (fused multiply-adds)', () => {
  it('every comparison with the cpu backend in backend.test.ts passes with KEYPOINTS_SIMD=relaxed (tolerance there: 1e-4 of the largest magnitude)', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=dot', path.join(here, 'backend.test.ts')], {
      env: { ...process.env, KEYPOINTS_SIMD: 'relaxed' },
      encoding: 'utf8',
      timeout: 600_000,
    });
    assert.equal(r.status, 0, `backend.test.ts with KEYPOINTS_SIMD=relaxed failed:\n${(r.stdout + r.stderr).slice(-4000)}`);
  });

  it('gives the plain build\'s results within 1e-5 of the largest magnitude (one rounding per multiply-add instead of two)', async () => {
    if (!relaxedHere()) {
      const { simdVariant } = await import('../src/backend/simd/index.ts');
      process.env.KEYPOINTS_SIMD = 'relaxed';
      try {
        simdVariant(); // sets Node 20's --experimental-wasm-relaxed-simd
      } finally {
        delete process.env.KEYPOINTS_SIMD;
      }
    }
    assert.ok(relaxedHere(), 'this runtime compiles relaxed SIMD (Node 20 with the flag set, or Node 22+)');
    const memory = new WebAssembly.Memory({ initial: 64 }); // 4 MiB
    const load = (b64: string) => new WebAssembly.Instance(new WebAssembly.Module(bytes(b64)), { env: { memory } }).exports as unknown as SimdKernels;
    const plain = load(KERNELS_WASM), relaxed = load(KERNELS_WASM_RELAXED);
    const f32 = new Float32Array(memory.buffer);
    let seed = 7;
    const fill = (at: number, n: number) => {
      for (let i = 0; i < n; i++) {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        f32[at / 4 + i] = seed / 2 ** 32 - 0.5;
      }
    };
    /** Worst |a − b| over the largest |a|. */
    const rel = (a: number, b: number, n: number) => {
      let worst = 0, scale = 1e-12;
      for (let i = 0; i < n; i++) {
        scale = Math.max(scale, Math.abs(f32[a / 4 + i]!));
        worst = Math.max(worst, Math.abs(f32[a / 4 + i]! - f32[b / 4 + i]!));
      }
      return worst / scale;
    };
    // A 64×300 by 300×40 product (gemm: a, b, c, pack, M, K, N, tA, tB, n0, n1).
    const A = 0, B = A + 4 * 64 * 300, C1 = B + 4 * 300 * 40, C2 = C1 + 4 * 64 * 40, PACK = C2 + 4 * 64 * 40;
    fill(A, 64 * 300);
    fill(B, 300 * 40);
    plain.gemm(A, B, C1, PACK, 64, 300, 40, 0, 0, 0, 40);
    relaxed.gemm(A, B, C2, PACK, 64, 300, 40, 0, 0, 0, 40);
    const gemmErr = rel(C1, C2, 64 * 40);
    assert.ok(gemmErr > 0 && gemmErr < 1e-5, `gemm: ${gemmErr}`); // > 0: the relaxed build really fuses
    // A 3×3 convolution filter gradient, 2 images of 20×20×4 → 8 channels.
    const X = 0, DY = X + 4 * 2 * 20 * 20 * 4, W1 = DY + 4 * 2 * 20 * 20 * 8, W2 = W1 + 4 * 9 * 4 * 8;
    fill(X, 2 * 20 * 20 * 4);
    fill(DY, 2 * 20 * 20 * 8);
    plain.convFilterGrad(X, DY, W1, 2, 20, 20, 4, 20, 20, 8, 3, 3, 1, 1, 0, 8);
    relaxed.convFilterGrad(X, DY, W2, 2, 20, 20, 4, 20, 20, 8, 3, 3, 1, 1, 0, 8);
    const convErr = rel(W1, W2, 9 * 4 * 8);
    assert.ok(convErr < 1e-5, `convFilterGrad: ${convErr}`);
  });
});
