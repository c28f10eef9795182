// WebAssembly SIMD planes for depthwise (and thin grouped) convolution at stride 1
// (AssemblyScript). The host copies planes into this module's memory and passes byte
// addresses. A plane is first copied into a zero-bordered window (`window`), so the
// correlation loops read every tap without bounds checks, 4 output columns per f32x4 (rows
// padded to a multiple of 4 columns). Forward and dX are both `correlate` (dX correlates the
// bordered dY with the flipped kernel); dW is `tapSums`. Kept under 4 KiB (synchronous compile).

/** First byte the host may use: everything above belongs to the host's buffers. */
export function heapBase(): usize {
  return __heap_base;
}

/** Stores n floats of zeros at dst. */
function zero(dst: usize, n: i32): void {
  for (; n >= 4; n -= 4, dst += 16) v128.store(dst, f32x4.splat(0));
  for (; n > 0; n--, dst += 4) store<f32>(dst, 0);
}

/**
 * dst[a, b] (rows x cols, row stride dstStride floats) = src[a - top, b - left] where that is
 * inside the srcRows x srcCols plane at src (row stride srcStride), else 0. top and left may be
 * negative (a crop).
 */
export function window(
  src: usize,
  srcRows: i32,
  srcCols: i32,
  srcStride: i32,
  dst: usize,
  rows: i32,
  cols: i32,
  dstStride: i32,
  top: i32,
  left: i32,
): void {
  // Destination columns [b0, b1) come from the source row; the others are zero.
  const b0 = min(cols, max(0, left));
  const b1 = max(b0, min(cols, left + srcCols));
  for (let a = 0; a < rows; a++) {
    const d = dst + ((<usize>a * dstStride) << 2);
    const r = a - top;
    if (r < 0 || r >= srcRows || b0 === b1) {
      zero(d, cols);
      continue;
    }
    zero(d, b0);
    let s = src + ((<usize>(r * srcStride + b0 - left)) << 2);
    let o = d + ((<usize>b0) << 2);
    let n = b1 - b0;
    for (; n >= 4; n -= 4, s += 16, o += 16) v128.store(o, v128.load(s));
    for (; n > 0; n--, s += 4, o += 4) store<f32>(o, load<f32>(s));
    zero(o, cols - b1);
  }
}

/**
 * out[i, j] (outRows x outCols4, row stride outStride) = (accumulate ? out[i, j] : init)
 * + sum over taps (m, q) of w[m*kw + q] * inp[i + m*dh, j + q*dw] (row stride inStride).
 * outCols4 is a multiple of 4 and the input covers every column it reads.
 */
export function correlate(
  inp: usize,
  inStride: i32,
  w: usize,
  kh: i32,
  kw: i32,
  dh: i32,
  dw: i32,
  out: usize,
  outStride: i32,
  outRows: i32,
  outCols4: i32,
  init: f32,
  accumulate: bool,
): void {
  const start = f32x4.splat(init);
  const rowStep = (<usize>dh * inStride) << 2;
  const colStep = (<usize>dw) << 2;
  if (kh === 3 && kw === 3) {
    // Nine weights in registers, nine taps per vector: each output is stored once.
    const w0 = v128.load32_splat(w);
    const w1 = v128.load32_splat(w, 4);
    const w2 = v128.load32_splat(w, 8);
    const w3 = v128.load32_splat(w, 12);
    const w4 = v128.load32_splat(w, 16);
    const w5 = v128.load32_splat(w, 20);
    const w6 = v128.load32_splat(w, 24);
    const w7 = v128.load32_splat(w, 28);
    const w8 = v128.load32_splat(w, 32);
    for (let i = 0; i < outRows; i++) {
      let o = out + ((<usize>i * outStride) << 2);
      let r0 = inp + ((<usize>i * inStride) << 2);
      const end = o + ((<usize>outCols4) << 2);
      for (; o < end; o += 16, r0 += 16) {
        const r1 = r0 + rowStep;
        const r2 = r1 + rowStep;
        let a = accumulate ? v128.load(o) : start;
        a = f32x4.add(a, f32x4.mul(w0, v128.load(r0)));
        a = f32x4.add(a, f32x4.mul(w1, v128.load(r0 + colStep)));
        a = f32x4.add(a, f32x4.mul(w2, v128.load(r0 + 2 * colStep)));
        let b = f32x4.mul(w3, v128.load(r1));
        b = f32x4.add(b, f32x4.mul(w4, v128.load(r1 + colStep)));
        b = f32x4.add(b, f32x4.mul(w5, v128.load(r1 + 2 * colStep)));
        b = f32x4.add(b, f32x4.mul(w6, v128.load(r2)));
        b = f32x4.add(b, f32x4.mul(w7, v128.load(r2 + colStep)));
        b = f32x4.add(b, f32x4.mul(w8, v128.load(r2 + 2 * colStep)));
        v128.store(o, f32x4.add(a, b));
      }
    }
    return;
  }
  // Any other kernel: one tap at a time over a row (the row stays in L1).
  for (let i = 0; i < outRows; i++) {
    const o0 = out + ((<usize>i * outStride) << 2);
    const end = o0 + ((<usize>outCols4) << 2);
    if (!accumulate) for (let o = o0; o < end; o += 16) v128.store(o, start);
    for (let m = 0; m < kh; m++) {
      for (let q = 0; q < kw; q++) {
        const wv = v128.load32_splat(w + ((<usize>(m * kw + q)) << 2));
        let s = inp + ((<usize>i * inStride) << 2) + <usize>m * rowStep + <usize>q * colStep;
        for (let o = o0; o < end; o += 16, s += 16) {
          v128.store(o, f32x4.add(v128.load(o), f32x4.mul(wv, v128.load(s))));
        }
      }
    }
  }
}

/** Sum of the four lanes. */
function lanes(v: v128): f32 {
  return (
    f32x4.extract_lane(v, 0) +
    f32x4.extract_lane(v, 1) +
    (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3))
  );
}

/** acc[t] (an f32x4 each) += one row's dy * x over columns [0, cols) for the nine 3x3 taps. */
function sums3x3(
  g: usize,
  r0: usize,
  r1: usize,
  r2: usize,
  step: usize,
  cols: i32,
  acc: usize,
): void {
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let s2 = f32x4.splat(0);
  let s3 = f32x4.splat(0);
  let s4 = f32x4.splat(0);
  let s5 = f32x4.splat(0);
  let s6 = f32x4.splat(0);
  let s7 = f32x4.splat(0);
  let s8 = f32x4.splat(0);
  const end = g + ((<usize>cols) << 2);
  const step2 = 2 * step;
  for (; g < end; g += 16, r0 += 16, r1 += 16, r2 += 16) {
    const d = v128.load(g);
    s0 = f32x4.add(s0, f32x4.mul(d, v128.load(r0)));
    s1 = f32x4.add(s1, f32x4.mul(d, v128.load(r0 + step)));
    s2 = f32x4.add(s2, f32x4.mul(d, v128.load(r0 + step2)));
    s3 = f32x4.add(s3, f32x4.mul(d, v128.load(r1)));
    s4 = f32x4.add(s4, f32x4.mul(d, v128.load(r1 + step)));
    s5 = f32x4.add(s5, f32x4.mul(d, v128.load(r1 + step2)));
    s6 = f32x4.add(s6, f32x4.mul(d, v128.load(r2)));
    s7 = f32x4.add(s7, f32x4.mul(d, v128.load(r2 + step)));
    s8 = f32x4.add(s8, f32x4.mul(d, v128.load(r2 + step2)));
  }
  v128.store(acc, f32x4.add(v128.load(acc), s0));
  v128.store(acc, f32x4.add(v128.load(acc, 16), s1), 16);
  v128.store(acc, f32x4.add(v128.load(acc, 32), s2), 32);
  v128.store(acc, f32x4.add(v128.load(acc, 48), s3), 48);
  v128.store(acc, f32x4.add(v128.load(acc, 64), s4), 64);
  v128.store(acc, f32x4.add(v128.load(acc, 80), s5), 80);
  v128.store(acc, f32x4.add(v128.load(acc, 96), s6), 96);
  v128.store(acc, f32x4.add(v128.load(acc, 112), s7), 112);
  v128.store(acc, f32x4.add(v128.load(acc, 128), s8), 128);
}

/**
 * sums[m*kw + q] = sum over i < rows, j < cols of dy[i, j] * inp[i + m*dh, j + q*dw] (dy's row
 * stride dyStride, inp's inStride; reads up to 3 floats past each dy row, masked off). Each row
 * is summed on its own before joining the total (shorter float32 chains). acc: kh*kw*4 floats of
 * scratch.
 */
export function tapSums(
  dy: usize,
  dyStride: i32,
  inp: usize,
  inStride: i32,
  kh: i32,
  kw: i32,
  dh: i32,
  dw: i32,
  rows: i32,
  cols: i32,
  acc: usize,
  sums: usize,
): void {
  const taps = kh * kw;
  zero(acc, taps * 4);
  const full = cols & ~3;
  // Lanes of the last vector that are inside the row (a 0 * inf there would give NaN).
  const tail = cols - full;
  const mask = i32x4(tail > 0 ? -1 : 0, tail > 1 ? -1 : 0, tail > 2 ? -1 : 0, 0);
  const rowStep = (<usize>dh * inStride) << 2;
  const colStep = (<usize>dw) << 2;
  for (let i = 0; i < rows; i++) {
    const g0 = dy + ((<usize>i * dyStride) << 2);
    const x0 = inp + ((<usize>i * inStride) << 2);
    // Columns [0, from) are done: 3x3 takes all nine taps per dY vector (one load of it, nine
    // independent sums); other kernels, and the masked last vector, go one tap at a time.
    let from = 0;
    if (kh === 3 && kw === 3) {
      from = full;
      sums3x3(g0, x0, x0 + rowStep, x0 + 2 * rowStep, colStep, full, acc);
      if (tail === 0) continue;
    }
    for (let t = 0; t < taps; t++) {
      const m = t / kw;
      const s = x0 + <usize>m * rowStep + <usize>(t - m * kw) * colStep;
      let a0 = f32x4.splat(0);
      let a1 = f32x4.splat(0);
      let j = from;
      for (; j + 8 <= full; j += 8) {
        const off = (<usize>j) << 2;
        a0 = f32x4.add(a0, f32x4.mul(v128.load(g0 + off), v128.load(s + off)));
        a1 = f32x4.add(a1, f32x4.mul(v128.load(g0 + off, 16), v128.load(s + off, 16)));
      }
      if (j < full) {
        const off = (<usize>j) << 2;
        a0 = f32x4.add(a0, f32x4.mul(v128.load(g0 + off), v128.load(s + off)));
      }
      if (tail > 0) {
        const off = (<usize>full) << 2;
        a1 = f32x4.add(a1, v128.and(f32x4.mul(v128.load(g0 + off), v128.load(s + off)), mask));
      }
      const at = acc + ((<usize>t) << 4);
      v128.store(at, f32x4.add(v128.load(at), f32x4.add(a0, a1)));
    }
  }
  for (let t = 0; t < taps; t++)
    store<f32>(sums + ((<usize>t) << 2), lanes(v128.load(acc + ((<usize>t) << 4))));
}

/**
 * The sum of count floats at src in float64 (two f64x2 chains of the promoted lanes): a bias
 * gradient's channel sum, taken while dY is here for `tapSums`.
 */
export function planeSum(src: usize, count: i32): f64 {
  let lo = f64x2.splat(0);
  let hi = f64x2.splat(0);
  const end = src + ((<usize>(count & ~3)) << 2);
  for (; src < end; src += 16) {
    const v = v128.load(src);
    lo = f64x2.add(lo, f64x2.promote_low_f32x4(v));
    hi = f64x2.add(hi, f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)));
  }
  let s = f64x2.extract_lane(lo, 0) + f64x2.extract_lane(lo, 1);
  s += f64x2.extract_lane(hi, 0) + f64x2.extract_lane(hi, 1);
  for (let n = count & 3; n > 0; n--, src += 4) s += <f64>load<f32>(src);
  return s;
}
