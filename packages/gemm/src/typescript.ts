import type { Sgemm } from './types.js';
import { checkSgemmArgs, scaleC } from './validate.js';

// Register tile (MR x NR) and cache blocks. The packed B block (KC x NC) stays in L2/L3, one
// packed A block (MC x KC) in L2, one B micro-panel (KC x NR) in L1. 2 x 8 measured faster than
// 4 x 8 and 4 x 4 under V8, whose 15 allocatable double registers cannot hold 32 accumulators.
// The micro-kernel uses the literal strides 2 and 8 (V8 reloads module-level constants from the
// module context inside a loop) and int32 index arithmetic (`| 0`), which spares V8 an overflow
// check per load.
const MR = 2;
const NR = 8;
const KC = 256;
const MC = 128;
const NC = 2048;

// Packing buffers, allocated once and grown on demand (never per call).
const packedA = new Float64Array(MC * KC);
let packedB = new Float64Array(KC * NR);
// Scratch tile for edge tiles that do not fill MR x NR.
const edge = new Float64Array(MR * NR);

/** Packs op(B)[pc:pc+kc, jc:jc+nc] into NR-wide column panels, zero-padded. */
function packB(
  transB: boolean,
  b: Float32Array,
  bOffset: number,
  ldb: number,
  pc: number,
  jc: number,
  kc: number,
  nc: number,
): void {
  const panels = Math.ceil(nc / NR);
  if (packedB.length < panels * kc * NR) packedB = new Float64Array(panels * kc * NR);
  const dst = packedB;
  for (let panel = 0; panel < panels; panel++) {
    const j0 = panel * NR;
    const nr = Math.min(NR, nc - j0);
    let d = panel * kc * NR;
    if (!transB) {
      let s = bOffset + pc * ldb + jc + j0;
      for (let p = 0; p < kc; p++, s += ldb, d += NR) {
        let j = 0;
        for (; j < nr; j++) dst[d + j] = b[s + j];
        for (; j < NR; j++) dst[d + j] = 0;
      }
    } else {
      const s0 = bOffset + (jc + j0) * ldb + pc;
      for (let p = 0; p < kc; p++, d += NR) {
        let j = 0;
        for (; j < nr; j++) dst[d + j] = b[s0 + j * ldb + p];
        for (; j < NR; j++) dst[d + j] = 0;
      }
    }
  }
}

/** Packs op(A)[ic:ic+mc, pc:pc+kc] into MR-tall row panels, zero-padded. */
function packA(
  transA: boolean,
  a: Float32Array,
  aOffset: number,
  lda: number,
  ic: number,
  pc: number,
  mc: number,
  kc: number,
): void {
  const dst = packedA;
  const panels = Math.ceil(mc / MR);
  for (let panel = 0; panel < panels; panel++) {
    const i0 = panel * MR;
    const mr = Math.min(MR, mc - i0);
    let d = panel * kc * MR;
    if (!transA) {
      const s0 = aOffset + (ic + i0) * lda + pc;
      for (let p = 0; p < kc; p++, d += MR) {
        let i = 0;
        for (; i < mr; i++) dst[d + i] = a[s0 + i * lda + p];
        for (; i < MR; i++) dst[d + i] = 0;
      }
    } else {
      let s = aOffset + pc * lda + ic + i0;
      for (let p = 0; p < kc; p++, s += lda, d += MR) {
        let i = 0;
        for (; i < mr; i++) dst[d + i] = a[s + i];
        for (; i < MR; i++) dst[d + i] = 0;
      }
    }
  }
}

/**
 * One MR x NR tile: the kc-long product of an A micro-panel and a B micro-panel, kept in 16 local
 * accumulators, then C = alpha * acc + beta * C (beta = 0 overwrites). Partial tiles go through
 * the `edge` scratch.
 */
function microKernel(
  kc: number,
  pa: Float64Array,
  ia: number,
  pb: Float64Array,
  ib: number,
  alpha: number,
  beta: number,
  c: Float32Array,
  ci: number,
  ldc: number,
  mr: number,
  nr: number,
): void {
  let c00 = 0,
    c01 = 0,
    c02 = 0,
    c03 = 0,
    c04 = 0,
    c05 = 0,
    c06 = 0,
    c07 = 0;
  let c10 = 0,
    c11 = 0,
    c12 = 0,
    c13 = 0,
    c14 = 0,
    c15 = 0,
    c16 = 0,
    c17 = 0;
  for (let p = 0; p < kc; p++, ia = (ia + 2) | 0, ib = (ib + 8) | 0) {
    const a0 = pa[ia];
    const a1 = pa[(ia + 1) | 0];
    let b = pb[ib];
    c00 += a0 * b;
    c10 += a1 * b;
    b = pb[(ib + 1) | 0];
    c01 += a0 * b;
    c11 += a1 * b;
    b = pb[(ib + 2) | 0];
    c02 += a0 * b;
    c12 += a1 * b;
    b = pb[(ib + 3) | 0];
    c03 += a0 * b;
    c13 += a1 * b;
    b = pb[(ib + 4) | 0];
    c04 += a0 * b;
    c14 += a1 * b;
    b = pb[(ib + 5) | 0];
    c05 += a0 * b;
    c15 += a1 * b;
    b = pb[(ib + 6) | 0];
    c06 += a0 * b;
    c16 += a1 * b;
    b = pb[(ib + 7) | 0];
    c07 += a0 * b;
    c17 += a1 * b;
  }
  if (mr === 2 && nr === 8 && (beta === 0 || beta === 1)) {
    const r0 = ci;
    const r1 = ci + ldc;
    if (beta === 0) {
      c[r0] = alpha * c00;
      c[r0 + 1] = alpha * c01;
      c[r0 + 2] = alpha * c02;
      c[r0 + 3] = alpha * c03;
      c[r0 + 4] = alpha * c04;
      c[r0 + 5] = alpha * c05;
      c[r0 + 6] = alpha * c06;
      c[r0 + 7] = alpha * c07;
      c[r1] = alpha * c10;
      c[r1 + 1] = alpha * c11;
      c[r1 + 2] = alpha * c12;
      c[r1 + 3] = alpha * c13;
      c[r1 + 4] = alpha * c14;
      c[r1 + 5] = alpha * c15;
      c[r1 + 6] = alpha * c16;
      c[r1 + 7] = alpha * c17;
    } else {
      c[r0] += alpha * c00;
      c[r0 + 1] += alpha * c01;
      c[r0 + 2] += alpha * c02;
      c[r0 + 3] += alpha * c03;
      c[r0 + 4] += alpha * c04;
      c[r0 + 5] += alpha * c05;
      c[r0 + 6] += alpha * c06;
      c[r0 + 7] += alpha * c07;
      c[r1] += alpha * c10;
      c[r1 + 1] += alpha * c11;
      c[r1 + 2] += alpha * c12;
      c[r1 + 3] += alpha * c13;
      c[r1 + 4] += alpha * c14;
      c[r1 + 5] += alpha * c15;
      c[r1 + 6] += alpha * c16;
      c[r1 + 7] += alpha * c17;
    }
    return;
  }
  // General beta or a partial tile: go through the scratch tile.
  const e = edge;
  e[0] = c00;
  e[1] = c01;
  e[2] = c02;
  e[3] = c03;
  e[4] = c04;
  e[5] = c05;
  e[6] = c06;
  e[7] = c07;
  e[8] = c10;
  e[9] = c11;
  e[10] = c12;
  e[11] = c13;
  e[12] = c14;
  e[13] = c15;
  e[14] = c16;
  e[15] = c17;
  for (let i = 0; i < mr; i++) {
    const r = ci + i * ldc;
    for (let j = 0; j < nr; j++) {
      const v = alpha * e[i * 8 + j];
      c[r + j] = beta === 0 ? v : v + beta * c[r + j];
    }
  }
}

/** Pure-TypeScript sgemm (see `Sgemm` for the contract): packed panels, cache blocking, 2x8 tile. */
export const sgemmTypescript: Sgemm = (...args) => {
  checkSgemmArgs(...args);
  const [transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc] =
    args;
  if (m === 0 || n === 0) return;
  if (k === 0 || alpha === 0) {
    scaleC(m, n, beta, c, cOffset, ldc);
    return;
  }
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      // Later k blocks accumulate onto what the first one wrote.
      const blockBeta = pc === 0 ? beta : 1;
      packB(transB, b, bOffset, ldb, pc, jc, kc, nc);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        packA(transA, a, aOffset, lda, ic, pc, mc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          const ib = jr * kc;
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = Math.min(MR, mc - ir);
            const ci = cOffset + (ic + ir) * ldc + jc + jr;
            microKernel(kc, packedA, ir * kc, packedB, ib, alpha, blockBeta, c, ci, ldc, mr, nr);
          }
        }
      }
    }
  }
};
