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
      assert.deepEqual(WebAssembly.Module.exports(mod).filter((e) => e.kind === 'function').map((e) => e.name).sort(), ['adam', 'axpy', 'channelAffine', 'channelDots', 'channelMoments', 'conv2d', 'convFilterGrad', 'depthwiseFilterGrad', 'depthwiseInputGrad', 'gemm', 'normPool2', 'normPool2Dots', 'normPool2Grad', 'packFilter', 'relu', 'reluGrad', 'reluPool2', 'reluPool2Grad', 'sumRows', 'sumSquares', 'transpose', 'winoConv', 'winoFilter', 'winoFilterGrad', 'winoFilterOut']);
    });
  }
});
