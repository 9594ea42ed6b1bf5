// Batch norm (training), ReLU and a 2×2 max-pool as one op: NHWC, stride-2 windows, even H and W,
// C % 4 == 0. The normalised map z = a[c]·(x − m[c]) + t[c] is never stored: each pass recomputes
// it from the convolution's output x with the same a, m, t (same float32 operations, so the
// backward passes pick the same window maxima as the forward). Against batch norm, then ReLU +
// pool as two ops, this drops a write and three reads of the full-size map each step.

import { addF64 } from './blocks';

/** z for one vector of 4 channels. */
@inline function norm(x: v128, m: v128, a: v128, t: v128): v128 {
  return f32x4.add(f32x4.mul(f32x4.sub(x, m), a), t);
}

/**
 * out = max(0, max over each 2×2 window of z), batch images of H×W×C. Strict comparisons from 0,
 * as reluPool2: a NaN z is never taken.
 */
export function normPool2(x: usize, m: usize, a: usize, t: usize, out: usize, batch: i32, H: i32, W: i32, C: i32): void {
  const OW = W >> 1;
  const zero = f32x4.splat(0);
  const rowBytes = (<usize>W * C) << 2;
  const cBytes = (<usize>C) << 2;
  let o = out;
  for (let r = 0; r < batch * (H >> 1); r++) {
    const row = x + (<usize>r) * (rowBytes << 1);
    for (let ox = 0; ox < OW; ox++) {
      const p00 = row + (<usize>ox) * (cBytes << 1);
      for (let c: usize = 0; c < cBytes; c += 16) {
        const mm = v128.load(m + c), aa = v128.load(a + c), tt = v128.load(t + c);
        const p = p00 + c;
        let best = zero;
        let z = norm(v128.load(p), mm, aa, tt);
        best = v128.bitselect(z, best, f32x4.gt(z, best));
        z = norm(v128.load(p + cBytes), mm, aa, tt);
        best = v128.bitselect(z, best, f32x4.gt(z, best));
        z = norm(v128.load(p + rowBytes), mm, aa, tt);
        best = v128.bitselect(z, best, f32x4.gt(z, best));
        z = norm(v128.load(p + rowBytes + cBytes), mm, aa, tt);
        best = v128.bitselect(z, best, f32x4.gt(z, best));
        v128.store(o, best);
        o += 16;
      }
    }
  }
}

/**
 * Batch-norm gradient sums through ReLU and the pool, for pooled rows [r0, r1) (r = b·H/2 + oy):
 * out64[c] = Σ dz, out64[C + c] = Σ dz·(x − m[c]), dz being the gradient at z (nonzero only at each
 * window's chosen maximum). Float32 lanes over one pooled row, rows added in float64 (2·C doubles).
 */
export function normPool2Dots(x: usize, m: usize, a: usize, t: usize, dy: usize, out64: usize, H: i32, W: i32, C: i32, r0: i32, r1: i32): void {
  const OW = W >> 1;
  const rowBytes = (<usize>W * C) << 2;
  const cBytes = (<usize>C) << 2;
  const zero = f32x4.splat(0);
  memory.fill(out64, 0, cBytes << 2);
  for (let r = r0; r < r1; r++) {
    const row = x + (<usize>r) * (rowBytes << 1);
    const drow = dy + (<usize>r) * (<usize>OW) * cBytes;
    for (let c: usize = 0; c < cBytes; c += 16) {
      const mm = v128.load(m + c), aa = v128.load(a + c), tt = v128.load(t + c);
      let s1 = zero, s2 = zero;
      for (let ox = 0; ox < OW; ox++) {
        const p = row + (<usize>ox) * (cBytes << 1) + c;
        const x00 = v128.load(p), x01 = v128.load(p + cBytes), x10 = v128.load(p + rowBytes), x11 = v128.load(p + rowBytes + cBytes);
        // The window's first strictly greatest z, as reluPool2Grad; g = dy there when it is > 0.
        const z00 = norm(x00, mm, aa, tt);
        const z01 = norm(x01, mm, aa, tt);
        const m01 = f32x4.gt(z01, z00);
        const b1 = v128.bitselect(z01, z00, m01), x1 = v128.bitselect(x01, x00, m01);
        const z10 = norm(x10, mm, aa, tt);
        const m10 = f32x4.gt(z10, b1);
        const b2 = v128.bitselect(z10, b1, m10), x2 = v128.bitselect(x10, x1, m10);
        const z11 = norm(x11, mm, aa, tt);
        const m11 = f32x4.gt(z11, b2);
        const best = v128.bitselect(z11, b2, m11), xb = v128.bitselect(x11, x2, m11);
        const g = v128.and(v128.load(drow + (<usize>ox) * cBytes + c), f32x4.gt(best, zero));
        s1 = f32x4.add(s1, g);
        s2 = f32x4.add(s2, f32x4.mul(g, f32x4.sub(xb, mm)));
      }
      addF64(out64 + (c << 1), s1);
      addF64(out64 + (cBytes << 1) + (c << 1), s2);
    }
  }
}

/**
 * dx = a[c]·dz + b[c]·(x − m[c]) + k[c] at every input (batch norm's input gradient, with dz the
 * ReLU + pool gradient at z, see normPool2Dots; b and k from its sums), for batch images of H×W×C.
 */
export function normPool2Grad(x: usize, m: usize, a: usize, t: usize, dy: usize, b: usize, k: usize, dx: usize, batch: i32, H: i32, W: i32, C: i32): void {
  const OW = W >> 1;
  const rowBytes = (<usize>W * C) << 2;
  const cBytes = (<usize>C) << 2;
  const zero = f32x4.splat(0);
  let o = dy;
  for (let r = 0; r < batch * (H >> 1); r++) {
    const off = (<usize>r) * (rowBytes << 1);
    for (let ox = 0; ox < OW; ox++) {
      const p00 = off + (<usize>ox) * (cBytes << 1);
      for (let c: usize = 0; c < cBytes; c += 16) {
        const mm = v128.load(m + c), aa = v128.load(a + c), tt = v128.load(t + c);
        const bb = v128.load(b + c), kk = v128.load(k + c);
        const q00 = p00 + c, q01 = q00 + cBytes, q10 = q00 + rowBytes, q11 = q10 + cBytes;
        const d00 = f32x4.sub(v128.load(x + q00), mm), d01 = f32x4.sub(v128.load(x + q01), mm);
        const d10 = f32x4.sub(v128.load(x + q10), mm), d11 = f32x4.sub(v128.load(x + q11), mm);
        // z exactly as norm() computes it (same operations on the same values), then the
        // window's choice as in normPool2Dots.
        const z00 = f32x4.add(f32x4.mul(d00, aa), tt), z01 = f32x4.add(f32x4.mul(d01, aa), tt);
        const z10 = f32x4.add(f32x4.mul(d10, aa), tt), z11 = f32x4.add(f32x4.mul(d11, aa), tt);
        const m01 = f32x4.gt(z01, z00);
        const b1 = v128.bitselect(z01, z00, m01);
        const m10 = f32x4.gt(z10, b1);
        const b2 = v128.bitselect(z10, b1, m10);
        const m11 = f32x4.gt(z11, b2);
        const g = v128.and(v128.load(o), f32x4.gt(v128.bitselect(z11, b2, m11), zero));
        o += 16;
        const ag = f32x4.mul(g, aa);
        const n11 = v128.not(m11);
        const n10 = v128.andnot(n11, m10);
        // The chosen input: m11; else m10; else m01; else the first. Others get dz = 0.
        const g11 = v128.and(ag, m11);
        const g10 = v128.and(ag, v128.and(m10, n11));
        const g01 = v128.and(ag, v128.and(m01, n10));
        const g00 = v128.andnot(v128.andnot(v128.andnot(ag, m01), m10), m11);
        v128.store(dx + q00, f32x4.add(f32x4.add(g00, f32x4.mul(d00, bb)), kk));
        v128.store(dx + q01, f32x4.add(f32x4.add(g01, f32x4.mul(d01, bb)), kk));
        v128.store(dx + q10, f32x4.add(f32x4.add(g10, f32x4.mul(d10, bb)), kk));
        v128.store(dx + q11, f32x4.add(f32x4.add(g11, f32x4.mul(d11, bb)), kk));
      }
    }
  }
}
