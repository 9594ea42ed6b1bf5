import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { addressOf, CONV_SPLIT_MIN, PARTS, ranges, runParts, runSplit, simdKernels } from '../simd/index.js';
import { LruCache } from '../../util/lru.js';

/** Set to 0 to run 3×3 and 5×5 convolutions on the direct kernels instead of Winograd's, e.g. to compare. */
export const WINOGRAD_ENV = 'KEYPOINTS_WINOGRAD';

/**
 * Tiles per chunk: the transformed inputs and products of one chunk (36 × tiles × channels floats
 * each) stay in L2 while the 36 small products run over them.
 */
const CONV_TILES = 16;
const GRAD_TILES = 32;

/**
 * Whether a stride-1, dilation-1 convolution with this filter runs by Winograd (assembly/winograd.ts):
 * 5×5 or 3×3 filters with in-channels a multiple of 4 and out-channels of 8 (the convolution's own:
 * for the input gradient, those of dy's convolution with the flipped filter).
 */
export function winogradFits(KH: number, KW: number, Ci: number, Co: number): boolean {
  return KH === KW && (KH === 5 || KH === 3) && Ci % 4 === 0 && Co % 8 === 0 && process.env[WINOGRAD_ENV] !== '0';
}

/** Tiles of m×m outputs (m = 7 − r) over the batch. */
function tileCount(B: number, OH: number, OW: number, r: number): number {
  const m = 7 - r;
  return B * Math.ceil(OH / m) * Math.ceil(OW / m);
}

/** The kernels' scratch: two 36-vector tiles, then 36 planes of tc rows of Ci and of Co floats (+ 16 floats of padding each). */
function scratchFloats(tc: number, Ci: number, Co: number): number {
  return 288 + 36 * (tc * (Ci + Co) + 32);
}

/** Two threads take halves of the tiles from CONV_SPLIT_MIN multiply-adds (of the direct method). */
function splitAt(tiles: number, macs: number, tc: number): number | undefined {
  if (macs < CONV_SPLIT_MIN || tiles < 8) return undefined;
  // A whole number of chunks in the first half when there are many, so no half ends on a sliver.
  const half = tiles >> 1;
  return tiles >= 8 * tc ? Math.round(half / tc) * tc : half;
}

/**
 * out (B×OH×OW×Co at address `out`) = x (B×H×W×Ci) convolved with the r×r filter (+ bias at its
 * address, or 0), stride 1, pad top/left pt/pl, zeros outside x. flip: filter is r×r×Co×Ci and the
 * convolution uses its flipped transpose (the input gradient's convolution of dy).
 */
export function runWinoConv(backend: BackendWasm, x: TensorInfo, filter: TensorInfo, flip: boolean, bias: number, out: number, dims: [number, number, number, number, number, number, number, number, number]): void {
  const [B, H, W, Ci, OH, OW, Co, pt, pl] = dims;
  const r = filter.shape[0]!;
  const simd = simdKernels(backend)!;
  const U = transformedFilter(backend, filter, flip);
  const tiles = tileCount(B, OH, OW, r);
  const at = splitAt(tiles, B * OH * OW * Ci * Co * r * r, CONV_TILES);
  const floats = scratchFloats(CONV_TILES, Ci, Co);
  const scratch = backend.makeOutput([at === undefined ? floats : 2 * floats], 'float32');
  const u = addressOf(backend, U), s = addressOf(backend, scratch);
  const args = (scr: number, t0: number, t1: number) =>
    [addressOf(backend, x), u, bias, out, scr, H, W, Ci, OH, OW, Co, r, pt, pl, CONV_TILES, t0, t1] as Parameters<typeof simd.winoConv>;
  if (at === undefined) simd.winoConv(...args(s, 0, tiles));
  // Parts of whole chunks, claimed by either thread; the scratch is per thread (argument 4).
  else runParts(backend, 'winoConv', ranges(tiles, PARTS, CONV_TILES).map(([t0, t1]) => args(s, t0, t1)), { index: 4, values: [s, s + 4 * floats] });
  backend.disposeData(scratch.dataId);
}

/**
 * The last few transformed filters, by filter tensor and direction. Inference convolves with the
 * same weights every call, and transforming a 3×3×64×128 filter took about a quarter of the
 * default network's predict at batch 1; in training every step's weights are new tensors (an
 * update never rewrites a tensor's data in place), so their entries age out after a few steps.
 */
const CACHED_FILTERS = 16;
const filterCache = new WeakMap<BackendWasm, LruCache<object, (TensorInfo | undefined)[]>>();

function transformedFilter(backend: BackendWasm, filter: TensorInfo, flip: boolean): TensorInfo {
  let cache = filterCache.get(backend);
  if (!cache) filterCache.set(backend, (cache = new LruCache(CACHED_FILTERS, (sides) => sides.forEach((t) => t && backend.disposeData(t.dataId)))));
  let entry = cache.get(filter.dataId);
  if (!entry) cache.set(filter.dataId, (entry = [undefined, undefined]));
  const side = flip ? 1 : 0;
  if (!entry[side]) {
    const [r, , Ci, Co] = filter.shape as [number, number, number, number];
    const uFloats = 36 * Ci * Co;
    const U = backend.makeOutput([uFloats + 224], 'float32'); // + winoFilter's 880-byte scratch
    const u = addressOf(backend, U);
    simdKernels(backend)!.winoFilter(addressOf(backend, filter), u, Ci, Co, r, side, u + 4 * uFloats);
    entry[side] = U;
  }
  return entry[side]!;
}

/**
 * dW (r×r×Ci×Co) of a stride-1 convolution of x (B×H×W×Ci) whose output gradient is dy
 * (B×OH×OW×Co), pad top/left pt/pl: Winograd sums per thread, then one output transform.
 */
export function runWinoFilterGrad(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, r: number, dims: [number, number, number, number, number, number, number, number, number]): TensorInfo {
  const [B, H, W, Ci, OH, OW, Co, pt, pl] = dims;
  const simd = simdKernels(backend)!;
  const dw = backend.makeOutput([r, r, Ci, Co], 'float32');
  const tiles = tileCount(B, OH, OW, r);
  const at = splitAt(tiles, B * OH * OW * Ci * Co * r * r, GRAD_TILES);
  const accFloats = 36 * Ci * Co;
  const part = accFloats + scratchFloats(GRAD_TILES, Ci, Co); // accumulator, then scratch
  const scratch = backend.makeOutput([at === undefined ? part : 2 * part], 'float32');
  const s0 = addressOf(backend, scratch), s1 = s0 + 4 * part;
  // The kernel adds to its thread's accumulator.
  const view = backend.typedArrayFromHeap(scratch) as Float32Array;
  view.fill(0, 0, accFloats);
  if (at !== undefined) view.fill(0, part, part + accFloats);
  const args = (s: number, t0: number, t1: number) =>
    [addressOf(backend, x), addressOf(backend, dy), s, s + 4 * accFloats, H, W, Ci, OH, OW, Co, r, pt, pl, GRAD_TILES, t0, t1] as Parameters<typeof simd.winoFilterGrad>;
  if (at === undefined) simd.winoFilterGrad(...args(s0, 0, tiles));
  // Two fixed halves of the tiles, each summing into its own accumulator, whichever thread runs it:
  // the float sums then happen in one order every run (a run is reproducible bit for bit). Parts
  // claimed by either thread into per-thread accumulators balanced load better, but which tiles
  // landed in which sum depended on the threads' timing.
  else runSplit(backend, 'winoFilterGrad', args(s0, 0, at), args(s1, at, tiles));
  simd.winoFilterOut(s0, at === undefined ? 0 : s1, addressOf(backend, dw), Ci * Co, r, s0 + 4 * accFloats);
  backend.disposeData(scratch.dataId);
  return dw;
}
