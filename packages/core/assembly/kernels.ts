// SIMD kernels for training on the wasm backend, in AssemblyScript. Compiled to a module that
// imports the TF.js wasm backend's own memory, so it works on tensors in place by address; it
// has no data segments, globals in memory or allocator (src/backend/simd/ checks that on load).
// Every pointer is a byte address in that memory; every count is in floats.

import { addF64, block4x8, madd, outer4x8 } from './blocks';

/**
 * Adam, in the composite's order and float32 rounding: m' = m·β₁ + g·c₁, s' = s·β₂ + g²·c₂,
 * v' = v − (m'/(√s' + ε))·lrT, with c₁ = 1−β₁ and c₂ = 1−β₂ passed in (rounded as TF.js does).
 */
export function adam(v: usize, g: usize, m: usize, s: usize, ov: usize, om: usize, os: usize, n: i32, lrT: f32, b1: f32, c1: f32, b2: f32, c2: f32, eps: f32): void {
  const vb1 = f32x4.splat(b1), vc1 = f32x4.splat(c1), vb2 = f32x4.splat(b2), vc2 = f32x4.splat(c2), vlr = f32x4.splat(lrT), ve = f32x4.splat(eps);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = (<usize>i) << 2;
    const gi = v128.load(g + o);
    const mi = f32x4.add(f32x4.mul(v128.load(m + o), vb1), f32x4.mul(gi, vc1));
    const si = f32x4.add(f32x4.mul(v128.load(s + o), vb2), f32x4.mul(f32x4.mul(gi, gi), vc2));
    v128.store(om + o, mi);
    v128.store(os + o, si);
    v128.store(ov + o, f32x4.sub(v128.load(v + o), f32x4.mul(f32x4.div(mi, f32x4.add(f32x4.sqrt(si), ve)), vlr)));
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    const gi = load<f32>(g + o);
    const mi = load<f32>(m + o) * b1 + gi * c1;
    const si = load<f32>(s + o) * b2 + gi * gi * c2;
    store<f32>(om + o, mi);
    store<f32>(os + o, si);
    store<f32>(ov + o, load<f32>(v + o) - (mi / (Mathf.sqrt(si) + eps)) * lrT);
  }
}

/**
 * Gradient of relu(maxPool2x2(x)) (= maxPool2x2(relu(x))), NHWC, stride 2, no padding, C % 4 == 0.
 * In each window the first strictly greatest input gets dy when that maximum is > 0 (the rule of
 * ReLU's gradient after the cpu backend's max-pool gradient); every other input gets 0. Rows and
 * columns past the last full window (odd H or W) are zeroed.
 */
export function reluPool2Grad(x: usize, dy: usize, dx: usize, batch: i32, H: i32, W: i32, C: i32): void {
  const OH = H >> 1, OW = W >> 1;
  if ((H & 1) != 0 || (W & 1) != 0) memory.fill(dx, 0, (<usize>batch * H * W * C) << 2);
  const zero = f32x4.splat(0);
  const rowBytes = (<usize>W * C) << 2;
  const cBytes = (<usize>C) << 2;
  let o = dy;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const off = ((<usize>(b * H + 2 * oy) * W + 2 * ox) * C) << 2;
        for (let c: usize = 0; c < cBytes; c += 16) {
          const p00 = off + c, p01 = p00 + cBytes, p10 = p00 + rowBytes, p11 = p10 + cBytes;
          const a = v128.load(x + p00), v01 = v128.load(x + p01), v10 = v128.load(x + p10), v11 = v128.load(x + p11);
          const m01 = f32x4.gt(v01, a);
          const b1 = v128.bitselect(v01, a, m01);
          const m10 = f32x4.gt(v10, b1);
          const b2 = v128.bitselect(v10, b1, m10);
          const m11 = f32x4.gt(v11, b2);
          const best = v128.bitselect(v11, b2, m11);
          const g = v128.and(v128.load(o), f32x4.gt(best, zero));
          o += 16;
          const n11 = v128.not(m11);
          const n10 = v128.andnot(n11, m10);
          v128.store(dx + p11, v128.and(g, m11));
          v128.store(dx + p10, v128.and(g, v128.and(m10, n11)));
          v128.store(dx + p01, v128.and(g, v128.and(m01, n10)));
          v128.store(dx + p00, v128.andnot(v128.andnot(v128.andnot(g, m01), m10), m11));
        }
      }
    }
  }
}

/**
 * out[c] = Σ_r x[r·C + c] for channels [c0, c1), C, c0 and c1 multiples of 4: float32 lanes over
 * blocks of 256 rows, blocks added in float64 (out64, C doubles of scratch), so long sums keep
 * float32-level relative accuracy.
 */
export function sumRows(x: usize, out: usize, out64: usize, rows: i32, C: i32, c0: i32, c1: i32): void {
  const cBytes = (<usize>C) << 2, cStart = (<usize>c0) << 2, cEnd = (<usize>c1) << 2;
  memory.fill(out64 + (cStart << 1), 0, (cEnd - cStart) << 1);
  for (let r0 = 0; r0 < rows; r0 += 256) {
    const r1 = min(rows, r0 + 256);
    for (let c: usize = cStart; c < cEnd; c += 16) {
      let acc = f32x4.splat(0);
      let p = x + (<usize>r0) * cBytes + c;
      for (let r = r0; r < r1; r++) {
        acc = f32x4.add(acc, v128.load(p));
        p += cBytes;
      }
      const q = out64 + (c << 1);
      v128.store(q, f64x2.add(v128.load(q), f64x2.promote_low_f32x4(acc)));
      v128.store(q + 16, f64x2.add(v128.load(q + 16), f64x2.promote_low_f32x4(i32x4.shuffle(acc, acc, 2, 3, 0, 1))));
    }
  }
  for (let c: usize = cStart; c < cEnd; c += 8) {
    v128.store64_lane(out + c, f32x4.demote_f64x2_zero(v128.load(out64 + (c << 1))), 0);
  }
}

/**
 * Rows [r0, r1) of src (`row` floats each) into rows of `prow` floats of dst, starting `off` floats
 * in, zeros either side: a grayscale first layer's input padded for conv2d's 4-pixel blocks.
 */
export function padRows(src: usize, dst: usize, row: i32, prow: i32, off: i32, r0: i32, r1: i32): void {
  const rB = (<usize>row) << 2, pB = (<usize>prow) << 2, oB = (<usize>off) << 2;
  for (let r = r0; r < r1; r++) {
    const d = dst + (<usize>r) * pB;
    memory.fill(d, 0, oB);
    memory.copy(d + oB, src + (<usize>r) * rB, rB);
    memory.fill(d + oB + rB, 0, pB - oB - rB);
  }
}

/**
 * dst[j·rows + i] = src[i·cols + j] for source rows [r0, r1), 4×4 blocks in registers when rows,
 * cols and r0 are multiples of 4.
 */
export function transpose(src: usize, dst: usize, rows: i32, cols: i32, r0: i32, r1: i32): void {
  if ((rows & 3) != 0 || (cols & 3) != 0 || (r0 & 3) != 0) {
    for (let i = r0; i < r1; i++) for (let j = 0; j < cols; j++) store<f32>(dst + ((<usize>j * rows + i) << 2), load<f32>(src + ((<usize>i * cols + j) << 2)));
    return;
  }
  const sRow = (<usize>cols) << 2, dRow = (<usize>rows) << 2;
  for (let i0 = r0; i0 < r1; i0 += 64) {
    const i1 = min(r1, i0 + 64);
    for (let j0 = 0; j0 < cols; j0 += 64) {
      const j1 = min(cols, j0 + 64);
      for (let i = i0; i < i1; i += 4) {
        for (let j = j0; j < j1; j += 4) {
          const s = src + (<usize>i * cols + j) * 4;
          const r0 = v128.load(s), r1 = v128.load(s + sRow), r2 = v128.load(s + 2 * sRow), r3 = v128.load(s + 3 * sRow);
          const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
          const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
          const d = dst + (<usize>j * rows + i) * 4;
          v128.store(d, i64x2.shuffle(t0, t1, 0, 2));
          v128.store(d + dRow, i64x2.shuffle(t0, t1, 1, 3));
          v128.store(d + 2 * dRow, i64x2.shuffle(t2, t3, 0, 2));
          v128.store(d + 3 * dRow, i64x2.shuffle(t2, t3, 1, 3));
        }
      }
    }
  }
}

/**
 * Filter gradient of a stride-1, dilation-1 NHWC convolution, for output channels [co0, co1):
 *   dw[kh, kw, ci, co] = Σ_{b, oh, ow} x[b, oh+kh−pt, ow+kw−pl, ci] · dy[b, oh, ow, co]
 * Co, co0 and co1 are multiples of 8. Blocks of 4 input × 8 output channels stay in registers
 * (8 accumulators, 2 dy vectors, 1 splatted x) while a row of output pixels streams past, so
 * dw is read and written once per row, not per pixel; two threads split the output channels.
 */
export function convFilterGrad(x: usize, dy: usize, dw: usize, B: i32, H: i32, W: i32, Ci: i32, OH: i32, OW: i32, Co: i32, KH: i32, KW: i32, pt: i32, pl: i32, co0: i32, co1: i32): void {
  const ciB = (<usize>Ci) << 2, coB = (<usize>Co) << 2;
  for (let r = 0; r < KH * KW * Ci; r++) memory.fill(dw + ((<usize>r * Co + co0) << 2), 0, (<usize>(co1 - co0)) << 2);
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh + kh - pt;
        if (ih < 0 || ih >= H) continue;
        for (let kw = 0; kw < KW; kw++) {
          const owS = max(0, pl - kw), owE = min(OW, W + pl - kw);
          if (owS >= owE) continue;
          const n = owE - owS;
          const xRow = x + ((<usize>(b * H + ih) * W + (owS + kw - pl)) * ciB);
          const dyRow = dy + ((<usize>(b * OH + oh) * OW + owS) * coB);
          const dwTap = dw + (<usize>(kh * KW + kw) * Ci) * coB;
          let ci = 0;
          for (; ci + 4 <= Ci; ci += 4) {
            for (let co = co0; co < co1; co += 8) {
              outer4x8(dwTap + (<usize>ci) * coB + ((<usize>co) << 2), coB, xRow + ((<usize>ci) << 2), ciB, dyRow + ((<usize>co) << 2), coB, n);
            }
          }
          for (; ci < Ci; ci++) {
            for (let co = co0; co < co1; co += 8) {
              const w0 = dwTap + (<usize>ci) * coB + ((<usize>co) << 2);
              let a0 = v128.load(w0), a1 = v128.load(w0 + 16);
              let px = xRow + ((<usize>ci) << 2), pd = dyRow + ((<usize>co) << 2);
              for (let t = 0; t < n; t++) {
                const s = v128.load32_splat(px);
                a0 = madd(s, v128.load(pd), a0);
                a1 = madd(s, v128.load(pd + 16), a1);
                px += ciB;
                pd += coB;
              }
              v128.store(w0, a0); v128.store(w0 + 16, a1);
            }
          }
        }
      }
    }
  }
}

/**
 * Stride-1, dilation-1 NHWC convolution for output channels [co0, co1) (multiples of 8):
 *   out[b, oh, ow, co] = Σ_{kh, kw, ci} x[b, oh+kh−pt, ow+kw−pl, ci] · f[kh, kw, ci, co]
 * (+ bias[co] when bias ≠ 0) with zeros outside x. The filter comes packed by blocks of 8 output
 * channels, fp[co/8][kh][kw][ci][8] (packFilter), so one block's taps are contiguous and stay in
 * L1. A block of 4 output pixels × 8 channels stays in registers across every tap and input
 * channel and is stored once; pixels whose taps reach into the padding take a per-pixel path.
 * Used for forward convolutions and for the input gradient (a convolution of dy with the
 * flipped, transposed filter). Two threads split the output channels.
 */
export function conv2d(x: usize, fp: usize, bias: usize, out: usize, B: i32, H: i32, W: i32, Ci: i32, OH: i32, OW: i32, Co: i32, KH: i32, KW: i32, pt: i32, pl: i32, co0: i32, co1: i32): void {
  const ciB = (<usize>Ci) << 2, coB = (<usize>Co) << 2;
  const blockB = (<usize>(KH * KW * Ci)) << 5; // one packed block of 8 output channels
  // Output columns whose 4-pixel block has every tap inside x: ow ≥ pl and ow + 3 + KW − 1 − pl < W.
  const owIn0 = pl, owIn1 = W + pl - KW + 1; // interior columns [owIn0, owIn1)
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const kh0 = max(0, pt - oh), kh1 = min(KH, H + pt - oh);
      const outRow = out + (<usize>(b * OH + oh) * OW) * coB;
      const xBase = x + (<usize>(b * H + oh - pt) * W) * ciB; // row oh − pt (kh added below)
      for (let co = co0; co < co1; co += 8) {
        const fb = fp + (<usize>(co >> 3)) * blockB;
        let init0 = f32x4.splat(0), init1 = f32x4.splat(0);
        if (bias != 0) {
          init0 = v128.load(bias + ((<usize>co) << 2));
          init1 = v128.load(bias + ((<usize>co) << 2) + 16);
        }
        let ow = 0;
        while (ow < OW) {
          // Fewer than 4 pixels left: an interior block ending at the last pixel recomputes a few
          // pixels (same values) rather than taking the one-pixel path.
          if (ow + 4 > OW && OW - 4 >= owIn0 && OW <= owIn1 && OW >= 4) ow = OW - 4;
          if (ow >= owIn0 && ow + 4 <= owIn1) {
            let a00 = init0, a01 = init1, a10 = init0, a11 = init1, a20 = init0, a21 = init1, a30 = init0, a31 = init1;
            for (let kh = kh0; kh < kh1; kh++) {
              // Taps kw and input channels ci read x and the packed filter contiguously: one loop.
              let px = xBase + (<usize>(kh * W + ow - pl)) * ciB;
              let pf = fb + ((<usize>(kh * KW * Ci)) << 5);
              const pEnd = px + (<usize>(KW * Ci) << 2);
              for (; px < pEnd; px += 4) {
                const f0 = v128.load(pf), f1 = v128.load(pf + 16);
                let s = v128.load32_splat(px);
                a00 = madd(s, f0, a00);
                a01 = madd(s, f1, a01);
                s = v128.load32_splat(px + ciB);
                a10 = madd(s, f0, a10);
                a11 = madd(s, f1, a11);
                s = v128.load32_splat(px + 2 * ciB);
                a20 = madd(s, f0, a20);
                a21 = madd(s, f1, a21);
                s = v128.load32_splat(px + 3 * ciB);
                a30 = madd(s, f0, a30);
                a31 = madd(s, f1, a31);
                pf += 32;
              }
            }
            const o0 = outRow + (<usize>ow) * coB + ((<usize>co) << 2), o1 = o0 + coB, o2 = o1 + coB, o3 = o2 + coB;
            v128.store(o0, a00); v128.store(o0 + 16, a01); v128.store(o1, a10); v128.store(o1 + 16, a11);
            v128.store(o2, a20); v128.store(o2 + 16, a21); v128.store(o3, a30); v128.store(o3 + 16, a31);
            ow += 4;
          } else {
            // One pixel, only the taps inside x.
            const kw0 = max(0, pl - ow), kw1 = min(KW, W + pl - ow);
            let a0 = init0, a1 = init1;
            for (let kh = kh0; kh < kh1; kh++) {
              let px = xBase + (<usize>(kh * W + ow + kw0 - pl)) * ciB;
              let pf = fb + ((<usize>((kh * KW + kw0) * Ci)) << 5);
              const pEnd = px + (<usize>((kw1 - kw0) * Ci) << 2);
              for (; px < pEnd; px += 4) {
                const s = v128.load32_splat(px);
                a0 = madd(s, v128.load(pf), a0);
                a1 = madd(s, v128.load(pf + 16), a1);
                pf += 32;
              }
            }
            const o0 = outRow + (<usize>ow) * coB + ((<usize>co) << 2);
            v128.store(o0, a0); v128.store(o0 + 16, a1);
            ow++;
          }
        }
      }
    }
  }
}

/**
 * fp[co/8][kh][kw][ci][8] = f[kh, kw, ci, co] for conv2d (f: KH×KW×Ci×Co, Co % 8 == 0), or, with
 * flip = 1, of the flipped transpose the input gradient convolves with:
 * f'[kh, kw, co, ci] = f[KH−1−kh, KW−1−kw, ci, co] (then fp is blocked by 8 of f's Ci).
 */
export function packFilter(f: usize, fp: usize, KH: i32, KW: i32, Ci: i32, Co: i32, flip: i32): void {
  const taps = KH * KW;
  if (flip == 0) {
    // Rows of f are Co floats: copy 8 at a time into their block.
    const blockB = (<usize>(taps * Ci)) << 5;
    for (let r = 0; r < taps * Ci; r++) {
      const src = f + (<usize>r) * ((<usize>Co) << 2);
      for (let co = 0; co < Co; co += 8) {
        const dst = fp + (<usize>(co >> 3)) * blockB + ((<usize>r) << 5);
        v128.store(dst, v128.load(src + ((<usize>co) << 2)));
        v128.store(dst + 16, v128.load(src + ((<usize>co) << 2) + 16));
      }
    }
    return;
  }
  // f' has Co input and Ci output channels: block by 8 of Ci.
  const blockB = (<usize>(taps * Co)) << 5;
  for (let t = 0; t < taps; t++) {
    const srcTap = f + (<usize>((taps - 1 - t) * Ci * Co)) * 4;
    for (let ci = 0; ci < Ci; ci++) {
      const dstLane = fp + (<usize>(ci >> 3)) * blockB + ((<usize>(t * Co)) << 5) + ((<usize>(ci & 7)) << 2);
      const src = srcTap + (<usize>(ci * Co)) * 4;
      for (let co = 0; co < Co; co++) store<f32>(dstLane + ((<usize>co) << 5), load<f32>(src + ((<usize>co) << 2)));
    }
  }
}

/** First output column whose input column ow·s + k − pad is ≥ 0, and one past the last < W. */
@inline function colRange(OW: i32, W: i32, s: i32, k: i32, pad: i32): i64 {
  let start = 0;
  if (pad - k > 0) start = (pad - k + s - 1) / s;
  const last = W - 1 + pad - k;
  const end = last < 0 ? 0 : min(OW, last / s + 1);
  return (<i64>start << 32) | <i64>(<u32>end);
}

/**
 * Filter gradient of a depthwise convolution (channel multiplier 1, any stride, dilation 1),
 * NHWC, channels [c0, c1) (multiples of 4): dw[kh, kw, c] = Σ x[b, oh·sh+kh−pt, ow·sw+kw−pl, c] · dy[b, oh, ow, c].
 */
export function depthwiseFilterGrad(x: usize, dy: usize, dw: usize, B: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, KH: i32, KW: i32, sh: i32, sw: i32, pt: i32, pl: i32, c0: i32, c1: i32): void {
  const cB = (<usize>C) << 2, xStep = (<usize>sw) * cB;
  for (let t = 0; t < KH * KW; t++) memory.fill(dw + (<usize>t) * cB + ((<usize>c0) << 2), 0, (<usize>(c1 - c0)) << 2);
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * sh + kh - pt;
        if (ih < 0 || ih >= H) continue;
        for (let kw = 0; kw < KW; kw++) {
          const r = colRange(OW, W, sw, kw, pl);
          const owS = <i32>(r >> 32), owE = <i32>(r & 0xffffffff);
          if (owS >= owE) continue;
          const xRow = x + (<usize>((b * H + ih) * W + owS * sw + kw - pl)) * cB;
          const dyRow = dy + (<usize>((b * OH + oh) * OW + owS)) * cB;
          const tap = dw + (<usize>(kh * KW + kw)) * cB;
          for (let c = c0; c < c1; c += 4) {
            const off = (<usize>c) << 2;
            let acc = v128.load(tap + off);
            let px = xRow + off, pd = dyRow + off;
            for (let ow = owS; ow < owE; ow++) {
              acc = madd(v128.load(px), v128.load(pd), acc);
              px += xStep;
              pd += cB;
            }
            v128.store(tap + off, acc);
          }
        }
      }
    }
  }
}

/**
 * Input gradient of the same depthwise convolution: dx[b, ih, iw, c] = Σ dy[b, oh, ow, c] · f[kh, kw, c]
 * over the (oh, ow, kh, kw) that read (ih, iw); channels [c0, c1) (multiples of 4).
 */
export function depthwiseInputGrad(dy: usize, f: usize, dx: usize, B: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, KH: i32, KW: i32, sh: i32, sw: i32, pt: i32, pl: i32, c0: i32, c1: i32): void {
  const cB = (<usize>C) << 2, xStep = (<usize>sw) * cB, span = (<usize>(c1 - c0)) << 2;
  for (let p = 0; p < B * H * W; p++) memory.fill(dx + (<usize>p) * cB + ((<usize>c0) << 2), 0, span);
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * sh + kh - pt;
        if (ih < 0 || ih >= H) continue;
        for (let kw = 0; kw < KW; kw++) {
          const r = colRange(OW, W, sw, kw, pl);
          const owS = <i32>(r >> 32), owE = <i32>(r & 0xffffffff);
          if (owS >= owE) continue;
          const dxRow = dx + (<usize>((b * H + ih) * W + owS * sw + kw - pl)) * cB;
          const dyRow = dy + (<usize>((b * OH + oh) * OW + owS)) * cB;
          const tap = f + (<usize>(kh * KW + kw)) * cB;
          for (let c = c0; c < c1; c += 4) {
            const off = (<usize>c) << 2;
            const wv = v128.load(tap + off);
            let px = dxRow + off, pd = dyRow + off;
            for (let ow = owS; ow < owE; ow++) {
              v128.store(px, madd(v128.load(pd), wv, v128.load(px)));
              px += xStep;
              pd += cB;
            }
          }
        }
      }
    }
  }
}

/** ReLU's gradient: dx[i] = dy[i] where x[i] > 0, else 0 (NaN in x gives NaN, as dy·step(x) would). */
export function reluGrad(x: usize, dy: usize, dx: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = (<usize>i) << 2;
    const xv = v128.load(x + o);
    const g = v128.load(dy + o);
    // x > 0: dy; NaN x: NaN (x + 0 is NaN); else 0 · dy (0, or NaN for infinite dy, as the formula).
    const pos = f32x4.gt(xv, zero);
    const nan = f32x4.ne(xv, xv);
    v128.store(dx + o, v128.bitselect(g, v128.bitselect(xv, f32x4.mul(g, zero), nan), pos));
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    const xv = load<f32>(x + o), g = load<f32>(dy + o);
    store<f32>(dx + o, xv > 0 ? g : xv != xv ? xv : g * 0);
  }
}

/** Rows per float32 block in the channel sums below: about 8 KB of rows, at least 16. */
function blockRows(C: i32): i32 {
  return max(16, 2048 / C);
}

/**
 * Batch-norm statistics for rows [r0, r1) of a rows×C matrix (NHWC activations, C % 4 == 0):
 * out64[c] = Σ (x − k), out64[C + c] = Σ (x − k)² with k = x's first row, a shift that keeps
 * E[(x−k)²] − E[x−k]² from cancelling when the mean is large. Float32 lanes over blocks of rows,
 * blocks added in float64 (2·C doubles at out64).
 */
export function channelMoments(x: usize, out64: usize, C: i32, r0: i32, r1: i32): void {
  const cBytes = (<usize>C) << 2;
  memory.fill(out64, 0, cBytes << 2);
  const step = blockRows(C);
  for (let b0 = r0; b0 < r1; b0 += step) {
    const b1 = min(r1, b0 + step);
    for (let c: usize = 0; c < cBytes; c += 16) {
      const k = v128.load(x + c);
      let s1 = f32x4.splat(0), s2 = f32x4.splat(0);
      let p = x + (<usize>b0) * cBytes + c;
      for (let r = b0; r < b1; r++) {
        const d = f32x4.sub(v128.load(p), k);
        s1 = f32x4.add(s1, d);
        s2 = madd(d, d, s2);
        p += cBytes;
      }
      addF64(out64 + (c << 1), s1);
      addF64(out64 + (cBytes << 1) + (c << 1), s2);
    }
  }
}

/**
 * Batch-norm gradient sums for rows [r0, r1): out64[c] = Σ dy, out64[C + c] = Σ dy·(x − mean[c])
 * (2·C doubles), blocked like channelMoments.
 */
export function channelDots(dy: usize, x: usize, mean: usize, out64: usize, C: i32, r0: i32, r1: i32): void {
  const cBytes = (<usize>C) << 2;
  memory.fill(out64, 0, cBytes << 2);
  const step = blockRows(C);
  for (let b0 = r0; b0 < r1; b0 += step) {
    const b1 = min(r1, b0 + step);
    for (let c: usize = 0; c < cBytes; c += 16) {
      const m = v128.load(mean + c);
      let s1 = f32x4.splat(0), s2 = f32x4.splat(0);
      const start = (<usize>b0) * cBytes + c;
      let p = x + start, q = dy + start;
      for (let r = b0; r < b1; r++) {
        const g = v128.load(q);
        s1 = f32x4.add(s1, g);
        s2 = f32x4.add(s2, f32x4.mul(g, f32x4.sub(v128.load(p), m)));
        p += cBytes;
        q += cBytes;
      }
      addF64(out64 + (c << 1), s1);
      addF64(out64 + (cBytes << 1) + (c << 1), s2);
    }
  }
}

/**
 * Per-channel affine maps for rows [r0, r1), centred for accuracy: out = a[c]·(u − m[c]) + t[c]
 * when v = 0 (batch norm's forward: u = x, m = mean), else out = a[c]·u + b[c]·(v − m[c]) + t[c]
 * (its input gradient: u = dy, v = x).
 */
export function channelAffine(u: usize, v: usize, m: usize, a: usize, b: usize, t: usize, out: usize, C: i32, r0: i32, r1: i32): void {
  const cBytes = (<usize>C) << 2;
  const start = (<usize>r0) * cBytes, end = (<usize>r1) * cBytes;
  if (v == 0) {
    for (let o = start; o < end; o += cBytes) {
      for (let c: usize = 0; c < cBytes; c += 16) {
        v128.store(out + o + c, f32x4.add(f32x4.mul(f32x4.sub(v128.load(u + o + c), v128.load(m + c)), v128.load(a + c)), v128.load(t + c)));
      }
    }
    return;
  }
  for (let o = start; o < end; o += cBytes) {
    for (let c: usize = 0; c < cBytes; c += 16) {
      const s = f32x4.add(f32x4.mul(v128.load(u + o + c), v128.load(a + c)), f32x4.mul(f32x4.sub(v128.load(v + o + c), v128.load(m + c)), v128.load(b + c)));
      v128.store(out + o + c, f32x4.add(s, v128.load(t + c)));
    }
  }
}

/**
 * C[:, n0:n1] = op(A)·op(B)[:, n0:n1], C row-major M×N; op(A) is M×K, stored row-major as A (M×K)
 * or, with tA = 1, as Aᵀ (K×M); op(B) is K×N, stored as B (K×N) or, with tB = 1, as Bᵀ (N×K).
 * N, n0 and n1 are multiples of 8. Blocks of 4 rows × 8 columns of C stay in registers while K
 * streams past in chunks of 256. Each chunk's 256×8 panel of op(B) is first copied to `pack`
 * (8 KB, contiguous; from Bᵀ this is a gather): read in place, B's rows are N floats apart, which
 * for N = 512 maps them all onto two L1 sets and evicts the panel before the next rows reuse it.
 * The panel then serves a 64-row block of A, whose 64×256 chunk stays in L2 while every column
 * block passes (K chunks outside the column loop: with columns outside, a dense layer's 64×36864
 * input was read from memory once per 8 columns, and its forward product took 73 instead of
 * ~50 ms in a training step). With tA the 4 values of A for a block come as one vector, broadcast lane by lane, so
 * dense-layer gradients (xᵀ·dy, dy·Wᵀ) need no transposes. Two threads split the columns.
 */
export function gemm(a: usize, b: usize, c: usize, pack: usize, M: i32, K: i32, N: i32, tA: i32, tB: i32, n0: i32, n1: i32): void {
  const cRow = (<usize>N) << 2;
  // Byte steps in A: to the next k, and to the next row of op(A).
  const aK: usize = tA != 0 ? (<usize>M) << 2 : 4, aI: usize = tA != 0 ? 4 : (<usize>K) << 2;
  const zero = f32x4.splat(0);
  for (let i0 = 0; i0 < M; i0 += 64) {
    const i1 = min(M, i0 + 64);
    for (let p0 = 0; p0 < K; p0 += 256) {
      const p1 = min(K, p0 + 256);
      for (let j = n0; j < n1; j += 8) {
        const cj = c + ((<usize>j) << 2);
        packPanel(b, pack, K, N, tB, j, p0, p1);
        let i = i0;
        for (; i + 4 <= i1; i += 4) {
          const c0 = cj + (<usize>i) * cRow;
          let pa = a + (<usize>i) * aI + (<usize>p0) * aK, pb = pack;
          if (tA == 0) {
            block4x8(pa, aI, pb, p1 - p0, c0, cRow, p0 > 0);
            continue;
          }
          // Aᵀ: the block's 4 values of A for one k are one vector, broadcast lane by lane.
          const c1 = c0 + cRow, c2 = c1 + cRow, c3 = c2 + cRow;
          let a00 = zero, a01 = zero, a10 = zero, a11 = zero, a20 = zero, a21 = zero, a30 = zero, a31 = zero;
          if (p0 > 0) {
            a00 = v128.load(c0); a01 = v128.load(c0 + 16); a10 = v128.load(c1); a11 = v128.load(c1 + 16);
            a20 = v128.load(c2); a21 = v128.load(c2 + 16); a30 = v128.load(c3); a31 = v128.load(c3 + 16);
          }
          for (let p = p0; p < p1; p++) {
            const b0 = v128.load(pb), b1 = v128.load(pb + 16);
            const av = v128.load(pa);
            let s = i32x4.shuffle(av, av, 0, 0, 0, 0);
            a00 = madd(s, b0, a00);
            a01 = madd(s, b1, a01);
            s = i32x4.shuffle(av, av, 1, 1, 1, 1);
            a10 = madd(s, b0, a10);
            a11 = madd(s, b1, a11);
            s = i32x4.shuffle(av, av, 2, 2, 2, 2);
            a20 = madd(s, b0, a20);
            a21 = madd(s, b1, a21);
            s = i32x4.shuffle(av, av, 3, 3, 3, 3);
            a30 = madd(s, b0, a30);
            a31 = madd(s, b1, a31);
            pa += aK;
            pb += 32;
          }
          v128.store(c0, a00); v128.store(c0 + 16, a01); v128.store(c1, a10); v128.store(c1 + 16, a11);
          v128.store(c2, a20); v128.store(c2 + 16, a21); v128.store(c3, a30); v128.store(c3 + 16, a31);
        }
        for (; i < i1; i++) {
          const c0 = cj + (<usize>i) * cRow;
          let a0 = zero, a1 = zero;
          if (p0 > 0) {
            a0 = v128.load(c0); a1 = v128.load(c0 + 16);
          }
          let pa = a + (<usize>i) * aI + (<usize>p0) * aK, pb = pack;
          for (let p = p0; p < p1; p++) {
            const s = v128.load32_splat(pa);
            a0 = madd(s, v128.load(pb), a0);
            a1 = madd(s, v128.load(pb + 16), a1);
            pa += aK;
            pb += 32;
          }
          v128.store(c0, a0); v128.store(c0 + 16, a1);
        }
      }
    }
  }
}

/** pack[p − p0][0..8) = op(B)[p, j..j+8) for p in [p0, p1): rows of B, or a gather from 8 rows of Bᵀ. */
@inline function packPanel(b: usize, pack: usize, K: i32, N: i32, tB: i32, j: i32, p0: i32, p1: i32): void {
  let dst = pack;
  if (tB == 0) {
    const bRow = (<usize>N) << 2;
    let src = b + (<usize>p0) * bRow + ((<usize>j) << 2);
    for (let p = p0; p < p1; p++) {
      v128.store(dst, v128.load(src));
      v128.store(dst + 16, v128.load(src + 16));
      src += bRow;
      dst += 32;
    }
    return;
  }
  // Bᵀ is N×K: column p of rows j..j+7. Four k at a time: 8 row vectors, transposed in registers.
  const kRow = (<usize>K) << 2;
  const r0 = b + (<usize>j) * kRow;
  let p = p0;
  for (; p + 4 <= p1; p += 4) {
    const o = (<usize>p) << 2;
    for (let h = 0; h < 2; h++) {
      const base = r0 + (<usize>(4 * h)) * kRow + o;
      const x0 = v128.load(base), x1 = v128.load(base + kRow), x2 = v128.load(base + 2 * kRow), x3 = v128.load(base + 3 * kRow);
      const t0 = i32x4.shuffle(x0, x1, 0, 4, 1, 5), t1 = i32x4.shuffle(x2, x3, 0, 4, 1, 5);
      const t2 = i32x4.shuffle(x0, x1, 2, 6, 3, 7), t3 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
      const d = dst + (<usize>(16 * h));
      v128.store(d, i64x2.shuffle(t0, t1, 0, 2));
      v128.store(d + 32, i64x2.shuffle(t0, t1, 1, 3));
      v128.store(d + 64, i64x2.shuffle(t2, t3, 0, 2));
      v128.store(d + 96, i64x2.shuffle(t2, t3, 1, 3));
    }
    dst += 128;
  }
  for (; p < p1; p++) {
    for (let q = 0; q < 8; q++) store<f32>(dst + ((<usize>q) << 2), load<f32>(r0 + (<usize>q) * kRow + ((<usize>p) << 2)));
    dst += 32;
  }
}

/**
 * out64[0] = Σ x[i]² over [i0, i1): float32 lanes over blocks of 4096 floats, blocks added in
 * float64 (one double at out64), for the L2 penalty of a large kernel in one pass.
 */
export function sumSquares(x: usize, out64: usize, i0: i32, i1: i32): void {
  let total: f64 = 0;
  for (let b0 = i0; b0 < i1; b0 += 4096) {
    const b1 = min(i1, b0 + 4096);
    let acc = f32x4.splat(0);
    let i = b0;
    for (; i + 4 <= b1; i += 4) {
      const v = v128.load(x + ((<usize>i) << 2));
      acc = madd(v, v, acc);
    }
    let part: f64 = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) + <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
    for (; i < b1; i++) {
      const v = load<f32>(x + ((<usize>i) << 2));
      part += <f64>(v * v);
    }
    total += part;
  }
  store<f64>(out64, total);
}

/** y[i] += a·x[i] for i in [i0, i1), in place (the L2 term's gradient added to a fresh gradient). */
export function axpy(y: usize, x: usize, a: f32, i0: i32, i1: i32): void {
  const va = f32x4.splat(a);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(y + o, madd(v128.load(x + o), va, v128.load(y + o)));
  }
  for (; i < i1; i++) {
    const o = (<usize>i) << 2;
    store<f32>(y + o, load<f32>(y + o) + load<f32>(x + o) * a);
  }
}

/**
 * out = max(floor, maxPool2x2(x)), NHWC, stride 2, no padding (an odd last row or column is
 * dropped), C % 4 == 0: floor = 0 gives relu(maxPool(x)) in one pass, floor = −∞ the plain
 * max-pool. NaN inputs are skipped (an all-NaN window gives the floor), as in the cpu backend.
 */
export function reluPool2(x: usize, out: usize, batch: i32, H: i32, W: i32, C: i32, floor: f32): void {
  const OH = H >> 1, OW = W >> 1;
  const zero = f32x4.splat(floor);
  const rowBytes = (<usize>W * C) << 2;
  const cBytes = (<usize>C) << 2;
  let o = out;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const p00 = x + (((<usize>(b * H + 2 * oy) * W + 2 * ox) * C) << 2);
        for (let c: usize = 0; c < cBytes; c += 16) {
          const p = p00 + c;
          // Strict comparisons from the floor, as the cpu backend's pool: NaN is never taken.
          let m = zero;
          let v = v128.load(p);
          m = v128.bitselect(v, m, f32x4.gt(v, m));
          v = v128.load(p + cBytes);
          m = v128.bitselect(v, m, f32x4.gt(v, m));
          v = v128.load(p + rowBytes);
          m = v128.bitselect(v, m, f32x4.gt(v, m));
          v = v128.load(p + rowBytes + cBytes);
          m = v128.bitselect(v, m, f32x4.gt(v, m));
          v128.store(o, m);
          o += 16;
        }
      }
    }
  }
}

/** out[i] = max(x[i], 0) for i in [i0, i1); NaN stays NaN (as the stock ReLU). */
export function relu(x: usize, out: usize, i0: i32, i1: i32): void {
  const zero = f32x4.splat(0);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = (<usize>i) << 2;
    const v = v128.load(x + o);
    // max(v, 0) that keeps NaN: v where v > 0 or v is NaN, else 0.
    v128.store(out + o, v128.bitselect(v, zero, v128.or(f32x4.gt(v, zero), f32x4.ne(v, v))));
  }
  for (; i < i1; i++) {
    const o = (<usize>i) << 2;
    const v = load<f32>(x + o);
    store<f32>(out + o, v > 0 || v != v ? v : 0);
  }
}

export { winoConv, winoFilter, winoFilterGrad, winoFilterOut } from './winograd';
export { normPool2, normPool2Dots, normPool2Grad } from './norm-pool';
