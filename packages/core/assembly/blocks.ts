// Register blocks shared by the kernels (inlined where used, so the 8 accumulators stay in registers).

/**
 * a·b + c: a multiply and an add, or in the relaxed-SIMD build (assembly/build.mjs) one
 * f32x4.relaxed_madd, which x86 runtimes with FMA run as one fused multiply-add (one rounding
 * instead of two: results differ in the last bits, see test/simd-relaxed.test.ts).
 */
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** Adds the 4 float32 lanes of v to the 4 doubles at q (channel sums kept in float64). */
@inline export function addF64(q: usize, v: v128): void {
  v128.store(q, f64x2.add(v128.load(q), f64x2.promote_low_f32x4(v)));
  v128.store(q + 16, f64x2.add(v128.load(q + 16), f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1))));
}

/**
 * A 4 × 8 block of a matrix product: rows i < 4 of c (cRow bytes apart), columns 0..8,
 *   c[i][0..8] (+)= Σ_{k<n} a[i][k] · b[k][0..8]
 * with a's rows aRow bytes apart (consecutive k 4 bytes apart) and b packed as n rows of 8 floats.
 * The sums start from c when load, else from zero.
 */
@inline export function block4x8(pa: usize, aRow: usize, pb: usize, n: i32, c: usize, cRow: usize, load: bool): void {
  const c1 = c + cRow, c2 = c1 + cRow, c3 = c2 + cRow;
  let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  if (load) {
    a00 = v128.load(c); a01 = v128.load(c + 16); a10 = v128.load(c1); a11 = v128.load(c1 + 16);
    a20 = v128.load(c2); a21 = v128.load(c2 + 16); a30 = v128.load(c3); a31 = v128.load(c3 + 16);
  }
  const pEnd = pa + ((<usize>n) << 2);
  for (; pa < pEnd; pa += 4) {
    const b0 = v128.load(pb), b1 = v128.load(pb + 16);
    let s = v128.load32_splat(pa);
    a00 = madd(s, b0, a00);
    a01 = madd(s, b1, a01);
    s = v128.load32_splat(pa + aRow);
    a10 = madd(s, b0, a10);
    a11 = madd(s, b1, a11);
    s = v128.load32_splat(pa + 2 * aRow);
    a20 = madd(s, b0, a20);
    a21 = madd(s, b1, a21);
    s = v128.load32_splat(pa + 3 * aRow);
    a30 = madd(s, b0, a30);
    a31 = madd(s, b1, a31);
    pb += 32;
  }
  v128.store(c, a00); v128.store(c + 16, a01); v128.store(c1, a10); v128.store(c1 + 16, a11);
  v128.store(c2, a20); v128.store(c2 + 16, a21); v128.store(c3, a30); v128.store(c3 + 16, a31);
}

/**
 * A 4 × 8 block of a sum of outer products: rows i < 4 of w (wRow bytes apart), columns 0..8,
 *   w[i][0..8] += Σ_{t<n} x_t[i] · d_t[0..8]
 * with each x_t 4 contiguous floats and x_t, d_t stepping xStep and dStep bytes per t (filter
 * gradients: input channels × output channels, summed over pixels or tiles).
 */
@inline export function outer4x8(w: usize, wRow: usize, px: usize, xStep: usize, pd: usize, dStep: usize, n: i32): void {
  const w1 = w + wRow, w2 = w1 + wRow, w3 = w2 + wRow;
  let a00 = v128.load(w), a01 = v128.load(w + 16), a10 = v128.load(w1), a11 = v128.load(w1 + 16);
  let a20 = v128.load(w2), a21 = v128.load(w2 + 16), a30 = v128.load(w3), a31 = v128.load(w3 + 16);
  for (let t = 0; t < n; t++) {
    const d0 = v128.load(pd), d1 = v128.load(pd + 16);
    let s = v128.load32_splat(px);
    a00 = madd(s, d0, a00);
    a01 = madd(s, d1, a01);
    s = v128.load32_splat(px + 4);
    a10 = madd(s, d0, a10);
    a11 = madd(s, d1, a11);
    s = v128.load32_splat(px + 8);
    a20 = madd(s, d0, a20);
    a21 = madd(s, d1, a21);
    s = v128.load32_splat(px + 12);
    a30 = madd(s, d0, a30);
    a31 = madd(s, d1, a31);
    px += xStep;
    pd += dStep;
  }
  v128.store(w, a00); v128.store(w + 16, a01); v128.store(w1, a10); v128.store(w1 + 16, a11);
  v128.store(w2, a20); v128.store(w2 + 16, a21); v128.store(w3, a30); v128.store(w3 + 16, a31);
}
