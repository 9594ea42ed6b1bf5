import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { KERNELS_WASM, KERNELS_WASM_SHARED } from '../src/backend/simd/kernels-wasm.ts';
// @ts-expect-error: a plain .mjs build script without type declarations
import { generatedSource, OUT } from '../assembly/build.mjs';

/** Section ids of a wasm binary (id 11 = data segments, 2 = imports). */
function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let p = 8;
  while (p < bytes.length) {
    const id = bytes[p++]!;
    let size = 0, shift = 0, b: number;
    do {
      b = bytes[p++]!;
      size |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    ids.push(id);
    p += size;
  }
  return ids;
}

describe('SIMD kernels module', () => {
  it('the committed build matches assembly/kernels.ts (run `npm run build:simd -w @keypoints/core` after editing it)', async () => {
    assert.equal(await readFile(OUT, 'utf8'), await generatedSource());
  });

  for (const [name, b64] of [['plain', KERNELS_WASM], ['shared', KERNELS_WASM_SHARED]] as const) {
    it(`${name} variant imports only a memory and writes no data segments into it`, () => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const mod = new WebAssembly.Module(bytes);
      assert.deepEqual(WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}:${i.kind}`), ['env.memory:memory']);
      assert.ok(!sectionIds(bytes).includes(11), 'no data section: it would overwrite TF.js memory at instantiation');
      assert.deepEqual(WebAssembly.Module.exports(mod).filter((e) => e.kind === 'function').map((e) => e.name).sort(), ['adam', 'axpy', 'channelAffine', 'channelDots', 'channelMoments', 'conv2d', 'convFilterGrad', 'depthwiseFilterGrad', 'depthwiseInputGrad', 'gemm', 'normPool2', 'normPool2Dots', 'normPool2Grad', 'packFilter', 'padRows', 'relu', 'reluGrad', 'reluPool2', 'reluPool2Grad', 'sumRows', 'sumSquares', 'transpose', 'winoConv', 'winoFilter', 'winoFilterGrad', 'winoFilterOut']);
    });
  }
});

describe('SIMD worker pool', () => {
  it('hands the worker every kernel of the table (the list is derived from it, not written out)', async () => {
    const tf = await import('@tensorflow/tfjs-core');
    const { initBackend } = await import('../src/backend/index.ts');
    const { simdKernels } = await import('../src/backend/simd/index.ts');
    const { kernelNames } = await import('../src/backend/simd/parallel.ts');
    await initBackend('wasm');
    const kernels = simdKernels(tf.backend() as never);
    if (!kernels) return; // no SIMD in this runtime: nothing to hand over
    const names = kernelNames(kernels);
    // Two kernels the hand-written list left out, and every name resolves to a function.
    for (const n of ['winoFilter', 'winoFilterOut', 'adam', 'normPool2Grad'] as const) assert.ok(names.includes(n), n);
    assert.ok(names.every((n) => typeof kernels[n] === 'function'));
    assert.deepEqual(kernelNames(kernels), names, 'one order on both threads');
  });
});
