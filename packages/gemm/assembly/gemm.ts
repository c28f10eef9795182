// WebAssembly SIMD sgemm kernel (AssemblyScript). The host copies A, B and C into this
// module's linear memory and passes byte addresses; this code packs panels and runs a
// 4x8 register-tiled f32x4 micro-kernel. Built twice (scripts/build-wasm.mjs): with plain SIMD,
// each multiply-add is f32x4.mul + f32x4.add, and 8 accumulators, 2 B vectors, 4 broadcasts of
// A and a product temporary fill V8's 15 allocatable xmm registers (x64); built with
// relaxed SIMD (entry gemm-relaxed.ts), it is one f32x4.relaxed_madd (an FMA on x64): 15-35%
// faster on conv shapes. V8 schedules all of a k step's loads first, so larger tiles (6x8,
// 5x8, or A loaded as one vector and broadcast by shuffles) or an unrolled k loop spill
// accumulators and run slower with either instruction (measured).

const MR: i32 = 4;
const NR: i32 = 8;

// Scratch for the edge tiles that do not fill MR x NR.
const edge: usize = memory.data(MR * NR * 4, 16);

/** First byte the host may use: everything above belongs to the host's buffers. */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * Transposes the 4x4 block whose rows are r0..r3 and stores its rows (the columns of the input)
 * at dst, dst + stride, dst + 2 * stride, dst + 3 * stride.
 */
function storeTransposed4(dst: usize, stride: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(dst + stride, i32x4.shuffle(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, i32x4.shuffle(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, i32x4.shuffle(t1, t3, 2, 3, 6, 7));
}

/** Packs op(B)[pc:pc+kc, jc:jc+nc] into NR-wide column panels, zero-padded. */
function packPanelsB(
  transB: bool,
  b: usize,
  ldb: i32,
  pc: i32,
  jc: i32,
  kc: i32,
  nc: i32,
  dst: usize,
): void {
  const ld = (<usize>ldb) << 2;
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const nr = min(NR, nc - j0);
    if (!transB) {
      let s = b + ((<usize>pc * ldb + jc + j0) << 2);
      if (nr === NR) {
        for (let p = 0; p < kc; p++) {
          v128.store(dst, v128.load(s));
          v128.store(dst, v128.load(s, 16), 16);
          s += ld;
          dst += NR * 4;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          v128.store(dst, f32x4.splat(0));
          v128.store(dst, f32x4.splat(0), 16);
          for (let j = 0; j < nr; j++) store<f32>(dst + (j << 2), load<f32>(s + (j << 2)));
          s += ld;
          dst += NR * 4;
        }
      }
    } else {
      // op(B)[p, j] = B[j, p]: a column of op(B) is a row of B.
      const s0 = b + ((<usize>(jc + j0) * ldb + pc) << 2);
      if (nr === NR) {
        let p = 0;
        // Four k steps at a time: two 4x4 transposes of rows of B.
        for (; p + 4 <= kc; p += 4) {
          const s = s0 + ((<usize>p) << 2);
          storeTransposed4(
            dst,
            NR * 4,
            v128.load(s),
            v128.load(s + ld),
            v128.load(s + 2 * ld),
            v128.load(s + 3 * ld),
          );
          storeTransposed4(
            dst + 16,
            NR * 4,
            v128.load(s + 4 * ld),
            v128.load(s + 5 * ld),
            v128.load(s + 6 * ld),
            v128.load(s + 7 * ld),
          );
          dst += 4 * NR * 4;
        }
        for (; p < kc; p++) {
          const s = s0 + ((<usize>p) << 2);
          for (let j = 0; j < NR; j++) store<f32>(dst + (j << 2), load<f32>(s + <usize>j * ld));
          dst += NR * 4;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const s = s0 + ((<usize>p) << 2);
          v128.store(dst, f32x4.splat(0));
          v128.store(dst, f32x4.splat(0), 16);
          for (let j = 0; j < nr; j++) store<f32>(dst + (j << 2), load<f32>(s + <usize>j * ld));
          dst += NR * 4;
        }
      }
    }
  }
}

/** Packs op(A)[ic:ic+mc, pc:pc+kc] into MR-tall row panels, zero-padded. */
function packPanelsA(
  transA: bool,
  a: usize,
  lda: i32,
  ic: i32,
  pc: i32,
  mc: i32,
  kc: i32,
  dst: usize,
): void {
  const ld = (<usize>lda) << 2;
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const mr = min(MR, mc - i0);
    if (!transA) {
      const s0 = a + ((<usize>(ic + i0) * lda + pc) << 2);
      if (mr === MR) {
        let p = 0;
        // Four k steps at a time: a 4x4 transpose of rows of A.
        for (; p + 4 <= kc; p += 4) {
          const s = s0 + ((<usize>p) << 2);
          storeTransposed4(
            dst,
            MR * 4,
            v128.load(s),
            v128.load(s + ld),
            v128.load(s + 2 * ld),
            v128.load(s + 3 * ld),
          );
          dst += 4 * MR * 4;
        }
        for (; p < kc; p++) {
          const s = s0 + ((<usize>p) << 2);
          for (let i = 0; i < MR; i++) store<f32>(dst + (i << 2), load<f32>(s + <usize>i * ld));
          dst += MR * 4;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const s = s0 + ((<usize>p) << 2);
          for (let i = 0; i < MR; i++) {
            store<f32>(dst + (i << 2), i < mr ? load<f32>(s + <usize>i * ld) : 0);
          }
          dst += MR * 4;
        }
      }
    } else {
      // op(A)[i, p] = A[p, i]: MR consecutive elements of a row of A.
      let s = a + ((<usize>pc * lda + ic + i0) << 2);
      for (let p = 0; p < kc; p++) {
        if (mr === MR) {
          v128.store(dst, v128.load(s));
        } else {
          for (let i = 0; i < MR; i++) {
            store<f32>(dst + (i << 2), i < mr ? load<f32>(s + (i << 2)) : 0);
          }
        }
        s += ld;
        dst += MR * 4;
      }
    }
  }
}

/** Stores alpha * acc + beta * C (beta = 0: C is not read) for one row of 8 floats. */
function storeRow(out: usize, lo: v128, hi: v128, va: v128, vb: v128, beta: f32): void {
  if (beta === 0) {
    v128.store(out, f32x4.mul(va, lo));
    v128.store(out, f32x4.mul(va, hi), 16);
  } else {
    v128.store(out, f32x4.add(f32x4.mul(va, lo), f32x4.mul(vb, v128.load(out))));
    v128.store(out, f32x4.add(f32x4.mul(va, hi), f32x4.mul(vb, v128.load(out, 16))), 16);
  }
}

/**
 * acc + a * b: fused (one rounding) where relaxed SIMD lowers to FMA, else mul + add. Small
 * enough that Binaryen (-O3) inlines it (checked in build/*.wat: no call in the micro-kernel).
 */
function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

/** One MR x NR tile of C from a packed A micro-panel and a packed B micro-panel. */
function microKernel(
  kc: i32,
  pa: usize,
  pb: usize,
  c: usize,
  ldc: i32,
  alpha: f32,
  beta: f32,
  mr: i32,
  nr: i32,
): void {
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  const pbEnd = pb + ((<usize>kc * NR) << 2);
  while (pb < pbEnd) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    const a0 = v128.load32_splat(pa);
    const a1 = v128.load32_splat(pa, 4);
    const a2 = v128.load32_splat(pa, 8);
    const a3 = v128.load32_splat(pa, 12);
    c00 = madd(a0, b0, c00);
    c01 = madd(a0, b1, c01);
    c10 = madd(a1, b0, c10);
    c11 = madd(a1, b1, c11);
    c20 = madd(a2, b0, c20);
    c21 = madd(a2, b1, c21);
    c30 = madd(a3, b0, c30);
    c31 = madd(a3, b1, c31);
    pa += MR * 4;
    pb += NR * 4;
  }
  const va = f32x4.splat(alpha);
  const vb = f32x4.splat(beta);
  const ld = (<usize>ldc) << 2;
  if (mr === MR && nr === NR) {
    storeRow(c, c00, c01, va, vb, beta);
    storeRow(c + ld, c10, c11, va, vb, beta);
    storeRow(c + 2 * ld, c20, c21, va, vb, beta);
    storeRow(c + 3 * ld, c30, c31, va, vb, beta);
    return;
  }
  v128.store(edge, f32x4.mul(va, c00));
  v128.store(edge, f32x4.mul(va, c01), 16);
  v128.store(edge, f32x4.mul(va, c10), 32);
  v128.store(edge, f32x4.mul(va, c11), 48);
  v128.store(edge, f32x4.mul(va, c20), 64);
  v128.store(edge, f32x4.mul(va, c21), 80);
  v128.store(edge, f32x4.mul(va, c30), 96);
  v128.store(edge, f32x4.mul(va, c31), 112);
  for (let i = 0; i < mr; i++) {
    const out = c + <usize>i * ld;
    const e = edge + <usize>(i * NR * 4);
    for (let j = 0; j < nr; j++) {
      const v = load<f32>(e + (j << 2));
      const o = out + (j << 2);
      store<f32>(o, beta === 0 ? v : v + beta * load<f32>(o));
    }
  }
}

/**
 * C = alpha * op(A) * op(B) + beta * C on matrices in this memory (byte addresses, row strides
 * in elements), with packing buffers at packA (mcBlock * kcBlock floats, mcBlock a multiple of 4)
 * and packB (kcBlock * ncBlock floats, ncBlock a multiple of 8). Requires m, n, k > 0.
 * packedRows > 0: op(A) is already packed at packA (a and lda unused), as packPanelsA lays it
 * out for every kcBlock-deep block of the depth in turn, each block packedRows (a multiple of
 * 4) rows of panels; this call's rows start at row packedRow0 of each block.
 */
export function sgemm(
  transA: bool,
  transB: bool,
  m: i32,
  n: i32,
  k: i32,
  alpha: f32,
  a: usize,
  lda: i32,
  b: usize,
  ldb: i32,
  beta: f32,
  c: usize,
  ldc: i32,
  packA: usize,
  packB: usize,
  mcBlock: i32,
  kcBlock: i32,
  ncBlock: i32,
  packedRows: i32,
  packedRow0: i32,
): void {
  for (let jc = 0; jc < n; jc += ncBlock) {
    const nc = min(ncBlock, n - jc);
    for (let pc = 0; pc < k; pc += kcBlock) {
      const kc = min(kcBlock, k - pc);
      // Later k blocks accumulate onto what the first one wrote.
      const blockBeta: f32 = pc === 0 ? beta : 1;
      packPanelsB(transB, b, ldb, pc, jc, kc, nc, packB);
      for (let ic = 0; ic < m; ic += mcBlock) {
        const mc = min(mcBlock, m - ic);
        let pa = packA;
        if (packedRows > 0) pa += (<usize>(pc * packedRows + (packedRow0 + ic) * kc)) << 2;
        else packPanelsA(transA, a, lda, ic, pc, mc, kc, packA);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          const pb = packB + ((<usize>(jr * kc)) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = min(MR, mc - ir);
            const out = c + ((<usize>(ic + ir) * ldc + jc + jr) << 2);
            microKernel(kc, pa + ((<usize>(ir * kc)) << 2), pb, out, ldc, alpha, blockBeta, mr, nr);
          }
        }
      }
    }
  }
}

/**
 * Convolution helper that shares this memory with the GEMM, so a patch matrix is built (or
 * consumed) where the kernel reads (or writes) it. The im2col matrix of one image group (NCHW
 * channels at x, each H x W) has row k = (ci*Kh + m)*Kw + q and column p = i*Wo + j, the entry
 * x[ci, i*sh + m*dh - padTop, j*sw + q*dw - padLeft] (zero outside the image). Covers its rows
 * [k0, k1) x columns [p0, p1), stored at col with row stride ld: scatter = false writes them
 * (im2col), scatter = true adds each one back into the x element it comes from (col2im; entries
 * on padding are dropped). One function for both keeps the module under 4 KiB.
 */
export function patches(
  x: usize,
  H: i32,
  W: i32,
  Wo: i32,
  Kw: i32,
  KK: i32,
  sh: i32,
  sw: i32,
  dh: i32,
  dw: i32,
  padTop: i32,
  padLeft: i32,
  k0: i32,
  k1: i32,
  p0: i32,
  p1: i32,
  col: usize,
  ld: i32,
  scatter: bool,
): void {
  const HW = H * W;
  const i0 = p0 / Wo;
  const j0 = p0 - i0 * Wo;
  const step = (<usize>sw) << 2;
  for (let k = k0; k < k1; k++) {
    const ci = k / KK;
    const r = k - ci * KK;
    const m = r / Kw;
    const q = r - m * Kw;
    const hOff = m * dh - padTop;
    const wOff = q * dw - padLeft;
    // Output columns [jLo, jHi) read inside the row; the rest are padding.
    const jLo = wOff >= 0 ? 0 : min(Wo, (sw - 1 - wOff) / sw);
    const jHi = max(jLo, W - wOff <= 0 ? 0 : min(Wo, (W - wOff + sw - 1) / sw));
    let o = col + ((<usize>(k - k0) * ld) << 2);
    let p = p0;
    let i = i0;
    let j = j0;
    while (p < p1) {
      const jEnd = min(Wo, j + p1 - p);
      const h = i * sh + hOff;
      const a = h < 0 || h >= H ? jEnd : min(max(jLo, j), jEnd);
      const b = h < 0 || h >= H ? jEnd : max(a, min(jHi, jEnd));
      if (!scatter) for (let t = j; t < a; t++) store<f32>(o + ((<usize>(t - j)) << 2), 0);
      o += (<usize>(a - j)) << 2;
      let s = x + ((<usize>(ci * HW + h * W + wOff + a * sw)) << 2);
      let n = b - a;
      if (sw === 1) {
        if (scatter) {
          for (; n >= 4; n -= 4, s += 16, o += 16) {
            v128.store(s, f32x4.add(v128.load(s), v128.load(o)));
          }
        } else {
          for (; n >= 4; n -= 4, s += 16, o += 16) v128.store(o, v128.load(s));
        }
      }
      for (; n > 0; n--, s += step, o += 4) {
        if (scatter) store<f32>(s, load<f32>(s) + load<f32>(o));
        else store<f32>(o, load<f32>(s));
      }
      if (!scatter) for (let t = b; t < jEnd; t++) store<f32>(o + ((<usize>(t - b)) << 2), 0);
      o += (<usize>(jEnd - b)) << 2;
      p += jEnd - j;
      j = 0;
      i++;
    }
  }
}
