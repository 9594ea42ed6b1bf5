// Winograd convolution, stride 1, for r×r filters with r = 5 or 3 and m = 7 − r outputs per tile
// side: F(m×m, r×r) for the forward pass and the input gradient, F(r×r, m×m) for the filter
// gradient. All cut 6×6 input tiles (Bᵀ d B, the same for both r) and multiply in the transformed
// domain, where the 36 positions are 36 independent small matrix products: 36 multiply-adds per
// m×m outputs and channel pair instead of m²r² (direct convolution), 2.8× fewer for 5×5 and 4×
// fewer for 3×3. Transforms come from the points 0, ±1, ±2, ∞ (Eₙ: their Vandermonde rows up to
// power n−1, ∞ picking the last); Bᵀ is scaled to small integers (the classic F(4,3) input
// transform) and the filter-side transforms carry the inverse scale, so errors stay near float32
// rounding (checked against the cpu backend in the tests).
//
// Layouts (floats): a tile-chunk's transformed inputs V[ξ][t][ci], products M[ξ][t][co], the
// transformed filter U[ξ][co/8][ci][8]; ξ = 6·row + column of the transformed tile.

import { block4x8, outer4x8 } from './blocks';


@inline function scale(a: v128, k: f32): v128 {
  return f32x4.mul(a, f32x4.splat(k));
}

/**
 * Bytes between two of the 36 planes of a chunk (tc rows of C floats): one cache line more than
 * the rows need, so the planes' rows do not all fall in the same L1 sets (power-of-two strides
 * made the transforms 2–3× slower).
 */
@inline function planeBytes(tc: i32, C: i32): usize {
  return ((<usize>(tc * C)) << 2) + 64;
}

/** q[k·qs] = (Bᵀ d)[k] for the 6 vectors d[i] = p[i·ps]; Bᵀ rows ×(4, 6, 6, 24, 24, 1) of (V⁻¹)ᵀ. */
@inline function bt6(p: usize, ps: usize, q: usize, qs: usize): void {
  const d0 = v128.load(p), d1 = v128.load(p + ps), d2 = v128.load(p + 2 * ps);
  const d3 = v128.load(p + 3 * ps), d4 = v128.load(p + 4 * ps), d5 = v128.load(p + 5 * ps);
  const a = f32x4.sub(scale(d1, 4), d3); // 4d1 − d3
  const b = f32x4.sub(scale(d2, 4), d4); // 4d2 − d4
  const c = f32x4.sub(d4, d2);
  const e = scale(f32x4.sub(d3, d1), 2);
  v128.store(q, f32x4.add(f32x4.sub(scale(d0, 4), scale(d2, 5)), d4));
  v128.store(q + qs, f32x4.add(a, b));
  v128.store(q + 2 * qs, f32x4.sub(b, a));
  v128.store(q + 3 * qs, f32x4.add(c, e));
  v128.store(q + 4 * qs, f32x4.sub(c, e));
  v128.store(q + 5 * qs, f32x4.add(f32x4.sub(scale(d1, 4), scale(d3, 5)), d5));
}

/**
 * V[6i+k] (planes vB bytes apart) = (Bᵀ d B)[i][k] for 4 channels of the 6×6 tile d whose row i,
 * column j is at src + i·rowB + j·colB; tmp holds 36 vectors.
 */
@inline function inputTile(src: usize, rowB: usize, colB: usize, tmp: usize, v: usize, vB: usize): void {
  for (let j: usize = 0; j < 6; j++) bt6(src + j * colB, rowB, tmp + j * 16, 96);
  for (let i: usize = 0; i < 6; i++) bt6(tmp + i * 96, 16, v + i * 6 * vB, vB);
}

/**
 * q[k·qs] = (Eₙᵀ m)[k] for k < n (2 ≤ n ≤ 5) from the 6 vectors m[i] = p[i·ps]: Σ aᵢᵏ·mᵢ over
 * the points 0, ±1, ±2, plus m₅ (∞) at k = n − 1. Output transforms: Aᵀ = Eₘᵀ forward, Eᵣᵀ for dW.
 */
@inline function et(p: usize, ps: usize, q: usize, qs: usize, n: i32): void {
  const m0 = v128.load(p), m1 = v128.load(p + ps), m2 = v128.load(p + 2 * ps);
  const m3 = v128.load(p + 3 * ps), m4 = v128.load(p + 4 * ps), m5 = v128.load(p + 5 * ps);
  const s = f32x4.add(m1, m2), d = f32x4.sub(m1, m2), sp = f32x4.add(m3, m4), dn = f32x4.sub(m3, m4);
  v128.store(q, f32x4.add(f32x4.add(m0, s), sp));
  let y = f32x4.add(d, scale(dn, 2));
  v128.store(q + qs, n == 2 ? f32x4.add(y, m5) : y);
  if (n > 2) {
    y = f32x4.add(s, scale(sp, 4));
    v128.store(q + 2 * qs, n == 3 ? f32x4.add(y, m5) : y);
  }
  if (n > 3) {
    y = f32x4.add(d, scale(dn, 8));
    v128.store(q + 3 * qs, n == 4 ? f32x4.add(y, m5) : y);
  }
  if (n > 4) v128.store(q + 4 * qs, f32x4.add(f32x4.add(s, scale(sp, 16)), m5));
}

/**
 * q[i·qs] = (G g)[i], i < 6, for the n vectors g[k] = p[k·ps] (2 ≤ n ≤ 5): G = Eₙ with its rows
 * divided by Bᵀ's scales (4, 6, 6, 24, 24, 1). The filter transform (n = r) and the filter
 * gradient's transform of dy tiles (n = m).
 */
@inline function gv(p: usize, ps: usize, n: i32, q: usize, qs: usize): void {
  const g0 = v128.load(p), g1 = v128.load(p + ps);
  const zero = f32x4.splat(0);
  const g2 = n > 2 ? v128.load(p + 2 * ps) : zero, g3 = n > 3 ? v128.load(p + 3 * ps) : zero, g4 = n > 4 ? v128.load(p + 4 * ps) : zero;
  const e = f32x4.add(f32x4.add(g0, g2), g4), o = f32x4.add(g1, g3);
  const e2 = f32x4.add(f32x4.add(g0, scale(g2, 4)), scale(g4, 16)), o2 = f32x4.add(scale(g1, 2), scale(g3, 8));
  v128.store(q, scale(g0, 0.25));
  v128.store(q + qs, scale(f32x4.add(e, o), <f32>1 / 6));
  v128.store(q + 2 * qs, scale(f32x4.sub(e, o), <f32>1 / 6));
  v128.store(q + 3 * qs, scale(f32x4.add(e2, o2), <f32>1 / 24));
  v128.store(q + 4 * qs, scale(f32x4.sub(e2, o2), <f32>1 / 24));
  v128.store(q + 5 * qs, n == 2 ? g1 : n == 3 ? g2 : n == 4 ? g3 : g4);
}

/**
 * Transforms the tiles [t0, t0+nt) (m×m outputs each, raster order over images) of x into
 * V[ξ][t − t0][ci], zeros outside x. Tiles nt..nt rounded up to 4 are zeroed (the GEMM reads them).
 */
function inputTiles(x: usize, V: usize, tmp0: usize, tmp1: usize, t0: i32, nt: i32, tc: i32, H: i32, W: i32, Ci: i32, TH: i32, TW: i32, m: i32, pt: i32, pl: i32): void {
  const ciB = (<usize>Ci) << 2, vB = planeBytes(tc, Ci), rowB = (<usize>W) * ciB;
  for (let t = 0; t < nt; t++) {
    const g = t0 + t, per = TH * TW;
    const b = g / per, r = g % per;
    const y0 = (r / TW) * m - pt, x0 = (r % TW) * m - pl;
    const vt = V + (<usize>t) * ciB;
    if (y0 >= 0 && x0 >= 0 && y0 + 6 <= H && x0 + 6 <= W) {
      const base = x + (<usize>((b * H + y0) * W + x0)) * ciB;
      for (let ci: usize = 0; ci < <usize>Ci; ci += 4) inputTile(base + (ci << 2), rowB, ciB, tmp1, vt + (ci << 2), vB);
    } else {
      for (let ci: usize = 0; ci < <usize>Ci; ci += 4) {
        for (let i = 0; i < 6; i++) {
          const iy = y0 + i;
          for (let j = 0; j < 6; j++) {
            const ix = x0 + j;
            let v = f32x4.splat(0);
            if (iy >= 0 && iy < H && ix >= 0 && ix < W) v = v128.load(x + (<usize>((b * H + iy) * W + ix)) * ciB + (ci << 2));
            v128.store(tmp0 + (<usize>(i * 6 + j) << 4), v);
          }
        }
        inputTile(tmp0, 96, 16, tmp1, vt + (ci << 2), vB);
      }
    }
  }
  for (let t = nt; t < ((nt + 3) & ~3); t++) {
    for (let k: usize = 0; k < 36; k++) memory.fill(V + k * vB + (<usize>t) * ciB, 0, ciB);
  }
}

/**
 * Stride-1 r×r convolution (r = 5 or 3), out[b, oh, ow, co] = Σ x[b, oh+kh−pt, ow+kw−pl, ci]·f[kh, kw, ci, co]
 * (+ bias[co] when bias ≠ 0), zeros outside x, by Winograd F(m×m, r×r) on U = winoFilter(f), for
 * the tiles [tBeg, tEnd) of m×m outputs, numbered in raster order over the images (two threads
 * take disjoint ranges). Ci % 4 == 0, Co % 8 == 0. scratch: 1152 + 144·tc·(Ci + Co) + 4608 bytes;
 * tc (tiles per chunk, a multiple of 4) sizes V and M to stay in L2.
 */
export function winoConv(x: usize, U: usize, bias: usize, out: usize, scratch: usize, H: i32, W: i32, Ci: i32, OH: i32, OW: i32, Co: i32, r: i32, pt: i32, pl: i32, tc: i32, tBeg: i32, tEnd: i32): void {
  const m = 7 - r, TH = (OH + m - 1) / m, TW = (OW + m - 1) / m;
  const ciB = (<usize>Ci) << 2, coB = (<usize>Co) << 2;
  const tmp0 = scratch, tmp1 = scratch + 576, V = scratch + 1152, vB = planeBytes(tc, Ci), M = V + 36 * vB, mB = planeBytes(tc, Co);
  for (let t0 = tBeg; t0 < tEnd; t0 += tc) {
    const nt = min(tc, tEnd - t0), nt4 = (nt + 3) & ~3;
    inputTiles(x, V, tmp0, tmp1, t0, nt, tc, H, W, Ci, TH, TW, m, pt, pl);
    // 36 products M[ξ] (nt4 × Co) = V[ξ] (nt4 × Ci) · U[ξ] (Ci × Co), blocks of 4 tiles × 8 channels.
    for (let k: usize = 0; k < 36; k++) {
      const Vk = V + k * vB, Mk = M + k * mB;
      for (let co = 0; co < Co; co += 8) {
        const uP = U + (k * <usize>Co + <usize>co) * ciB;
        for (let tb = 0; tb < nt4; tb += 4) block4x8(Vk + (<usize>tb) * ciB, ciB, uP, Ci, Mk + (<usize>tb) * coB + ((<usize>co) << 2), coB, false);
      }
    }
    // Outputs: Aᵀ M A with Aᵀ = Eₘᵀ, m×m per tile, clipped at the bottom and right edges.
    for (let t = 0; t < nt; t++) {
      const g = t0 + t, per = TH * TW;
      const b = g / per, rr = g % per;
      const oy = (rr / TW) * m, ox = (rr % TW) * m;
      const rows = min(m, OH - oy), cols = min(m, OW - ox);
      const o00 = out + (<usize>((b * OH + oy) * OW + ox)) * coB;
      for (let co: usize = 0; co < <usize>Co; co += 4) {
        const mt = M + (<usize>t) * coB + (co << 2);
        for (let j: usize = 0; j < 6; j++) et(mt + j * mB, 6 * mB, tmp1 + j * 16, 96, m); // tmp1[a][j]
        let bv = f32x4.splat(0);
        if (bias != 0) bv = v128.load(bias + (co << 2));
        for (let a = 0; a < rows; a++) {
          et(tmp1 + (<usize>a) * 96, 16, tmp0, 16, m);
          const q = o00 + (<usize>(a * OW)) * coB + (co << 2);
          for (let c = 0; c < cols; c++) v128.store(q + (<usize>c) * coB, f32x4.add(v128.load(tmp0 + (<usize>c << 4)), bv));
        }
      }
    }
  }
}

/**
 * U[ξ][co/8][ci][8] = (G g Gᵀ)[ξ] for each channel pair's r×r filter g of f (r×r×Ci×Co), G = Eᵣ
 * scaled as in gv, or, with flip = 1, of the flipped transpose the input gradient convolves with
 * (Co input channels, Ci output channels, f[r−1−kh, r−1−kw, ci, co]). Four output channels at a
 * time (gathered from f's rows when flipped). tmp: 880 bytes.
 */
export function winoFilter(f: usize, U: usize, Ci: i32, Co: i32, r: i32, flip: i32, tmp: usize): void {
  const Cn = flip != 0 ? Co : Ci, Cm = flip != 0 ? Ci : Co; // the convolution's input and output channels
  const planeB = (<usize>(Cn * Cm)) << 2, tapB = (<usize>(Ci * Co)) << 2, rB = (<usize>r) << 4;
  const g = tmp + 480; // the r×r taps of 4 channel pairs, g[kh][kw] at g + (kh·r + kw)·16
  for (let cin = 0; cin < Cn; cin++) {
    for (let cout = 0; cout < Cm; cout += 4) {
      for (let k = 0; k < r * r; k++) {
        let v: v128;
        if (flip == 0) v = v128.load(f + (<usize>k) * tapB + ((<usize>(cin * Co + cout)) << 2));
        else {
          // tap k of the flipped filter is f's tap r²−1−k; its output channels are f's input channels
          const p = f + (<usize>(r * r - 1 - k)) * tapB + ((<usize>(cout * Co + cin)) << 2), rowB = (<usize>Co) << 2;
          v = f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(load<f32>(p)), 1, load<f32>(p + rowB)), 2, load<f32>(p + 2 * rowB)), 3, load<f32>(p + 3 * rowB));
        }
        v128.store(g + (<usize>k << 4), v);
      }
      for (let kw: usize = 0; kw < <usize>r; kw++) gv(g + (kw << 4), rB, r, tmp + (kw << 4), rB); // tmp[i][kw]
      const u = U + ((<usize>(((cout >> 3) * Cn + cin) << 3) + (cout & 7)) << 2);
      for (let i: usize = 0; i < 6; i++) gv(tmp + i * rB, 16, r, u + i * 6 * planeB, planeB);
    }
  }
}

/**
 * Filter gradient of a stride-1 r×r convolution (r = 5 or 3) in the transformed domain, over the
 * tiles [tBeg, tEnd) (numbered as in winoConv): acc[ξ][ci][co] = Σ_tiles V[ξ][tile][ci]·D[ξ][tile][co],
 * with V the 6×6 input tiles and D = G dy Gᵀ of each tile's m×m dy (G as in gv, n = m);
 * winoFilterOut turns acc into dw. Adds to acc (zeroed by the caller: a thread's several parts
 * share one). Ci % 4 == 0, Co % 8 == 0; scratch:
 * 1152 + 144·tc·(Ci + Co) + 4608 bytes.
 */
export function winoFilterGrad(x: usize, dy: usize, acc: usize, scratch: usize, H: i32, W: i32, Ci: i32, OH: i32, OW: i32, Co: i32, r: i32, pt: i32, pl: i32, tc: i32, tBeg: i32, tEnd: i32): void {
  const m = 7 - r, TH = (OH + m - 1) / m, TW = (OW + m - 1) / m;
  const ciB = (<usize>Ci) << 2, coB = (<usize>Co) << 2, mB = <usize>m << 4;
  const tmp0 = scratch, tmp1 = scratch + 576, V = scratch + 1152, vB = planeBytes(tc, Ci), D = V + 36 * vB, dB = planeBytes(tc, Co);
  const zero = f32x4.splat(0);
  for (let t0 = tBeg; t0 < tEnd; t0 += tc) {
    const nt = min(tc, tEnd - t0);
    inputTiles(x, V, tmp0, tmp1, t0, nt, tc, H, W, Ci, TH, TW, m, pt, pl);
    for (let t = 0; t < nt; t++) {
      const g = t0 + t, per = TH * TW;
      const b = g / per, rr = g % per;
      const oy = (rr / TW) * m, ox = (rr % TW) * m;
      const rows = min(m, OH - oy), cols = min(m, OW - ox);
      const p00 = dy + (<usize>((b * OH + oy) * OW + ox)) * coB;
      for (let co: usize = 0; co < <usize>Co; co += 4) {
        const c = co << 2;
        // tmp0[a][cc] = dy's m×m tile, zeros past the edges
        for (let a = 0; a < m; a++) {
          for (let cc = 0; cc < m; cc++) {
            const v = a < rows && cc < cols ? v128.load(p00 + (<usize>(a * OW + cc)) * coB + c) : zero;
            v128.store(tmp0 + (<usize>(a * m + cc) << 4), v);
          }
        }
        for (let cc: usize = 0; cc < <usize>m; cc++) gv(tmp0 + (cc << 4), mB, m, tmp1 + (cc << 4), mB); // tmp1[i][cc]
        for (let i: usize = 0; i < 6; i++) gv(tmp1 + i * mB, 16, m, D + i * 6 * dB + (<usize>t) * coB + c, dB);
      }
    }
    // acc[ξ] (Ci × Co) += V[ξ]ᵀ · D[ξ], blocks of 4 input × 8 output channels over the chunk's tiles.
    for (let k: usize = 0; k < 36; k++) {
      const Vk = V + k * vB, Dk = D + k * dB, Ak = acc + k * (<usize>Ci) * coB;
      for (let ci: usize = 0; ci < <usize>Ci; ci += 4) {
        for (let co: usize = 0; co < <usize>Co; co += 8) outer4x8(Ak + ci * coB + (co << 2), coB, Vk + (ci << 2), ciB, Dk + (co << 2), coB, nt);
      }
    }
  }
}

/**
 * dw[kh][kw][q] = (Eᵣᵀ (acc0 + acc1) Eᵣ)[kh][kw] for q < n = Ci·Co (a multiple of 4): the two
 * threads' sums of winoFilterGrad (acc1 = 0: one). tmp: 1056 bytes.
 */
export function winoFilterOut(acc0: usize, acc1: usize, dw: usize, n: i32, r: i32, tmp: usize): void {
  const nB = (<usize>n) << 2;
  const sum = tmp + 480; // 36 vectors
  for (let q: usize = 0; q < nB; q += 16) {
    for (let k: usize = 0; k < 36; k++) {
      let v = v128.load(acc0 + k * nB + q);
      if (acc1 != 0) v = f32x4.add(v, v128.load(acc1 + k * nB + q));
      v128.store(sum + k * 16, v);
    }
    for (let j: usize = 0; j < 6; j++) et(sum + j * 16, 96, tmp + j * 16, 96, r); // tmp[kh][j]
    for (let kh: usize = 0; kh < <usize>r; kh++) et(tmp + kh * 96, 16, dw + kh * (<usize>r) * nB + q, nB, r);
  }
}
