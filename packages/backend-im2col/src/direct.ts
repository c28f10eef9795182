import type { ConvDescription } from '@conv2d/core';
import { simdForward, simdInputGrad, simdWeightGrad } from './depthwise-simd.js';
import type { ForwardArgs, InputGradArgs, WeightGradArgs } from './direct-args.js';
import { forwardPlane3x3, inputGradPlane3x3, weightGradPlane3x3 } from './direct3x3.js';
import { validRange } from './im2col.js';

/**
 * Direct loops for grouped convolutions with few channels per group (depthwise above all),
 * where the per-group GEMM would be a degenerate (Cout/g) x (Cin/g*Kh*Kw) product. Each pass
 * walks the kernel taps and, per tap, the contiguous run of output columns whose input
 * column is inside the image, so the inner loops carry no bounds checks.
 */

/** Groups whose GEMM would be too thin to pay off. */
export function usesDirectPath(d: ConvDescription): boolean {
  return d.groups > 1 && d.inChannelsPerGroup * d.outChannelsPerGroup <= 16;
}

/**
 * Visits every (output channel, input channel) pair of image n, groups [g0, g1), with the
 * offsets of the input plane, the output plane and the kernel (Kh x Kw) that connect them.
 */
function forEachPlanePair(
  d: ConvDescription,
  n: number,
  g0: number,
  g1: number,
  visit: (xPlane: number, yPlane: number, wBase: number) => void,
): void {
  const cig = d.inChannelsPerGroup;
  const cog = d.outChannelsPerGroup;
  const HW = d.inHeight * d.inWidth;
  const HWo = d.outHeight * d.outWidth;
  const KK = d.kernelHeight * d.kernelWidth;
  for (let g = g0; g < g1; g++) {
    for (let oc = 0; oc < cog; oc++) {
      const co = g * cog + oc;
      const yPlane = (n * d.outChannels + co) * HWo;
      for (let ic = 0; ic < cig; ic++) {
        visit((n * d.inChannels + g * cig + ic) * HW, yPlane, (co * cig + ic) * KK);
      }
    }
  }
}

/** Forward for image n, groups [g0, g1); writes (bias +) the convolution into y. */
export function directForward(...args: ForwardArgs): void {
  if (!simdForward(...args)) directForwardScalar(...args);
}

/** `directForward` in JavaScript (strides, runtimes without Wasm SIMD, tests). */
export function directForwardScalar(...[d, x, w, b, y, n, g0, g1]: ForwardArgs): void {
  const { inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = d;
  const Kh = d.kernelHeight;
  const Kw = d.kernelWidth;
  const sh = d.strideHeight;
  const sw = d.strideWidth;
  const HWo = Ho * Wo;
  for (let g = g0; g < g1; g++) {
    for (let co = g * d.outChannelsPerGroup; co < (g + 1) * d.outChannelsPerGroup; co++) {
      const yPlane = (n * d.outChannels + co) * HWo;
      y.fill(b ? b[co] : 0, yPlane, yPlane + HWo);
    }
  }
  forEachPlanePair(d, n, g0, g1, (xPlane, yPlane, wBase) => {
    if (Kh === 3 && Kw === 3) {
      forwardPlane3x3(d, x, w, y, xPlane, wBase, yPlane);
      return;
    }
    for (let m = 0; m < Kh; m++) {
      const hOff = m * d.dilationHeight - d.padTop;
      const [iLo, iHi] = validRange(hOff, sh, H, Ho);
      if (Kw === 3) {
        forwardRow3(d, x, w, y, xPlane + hOff * W, wBase + m * 3, yPlane, iLo, iHi);
        continue;
      }
      for (let q = 0; q < Kw; q++) {
        const wv = w[wBase + m * Kw + q];
        const wOff = q * d.dilationWidth - d.padLeft;
        const [jLo, jHi] = validRange(wOff, sw, W, Wo);
        for (let i = iLo; i < iHi; i++) {
          const src = xPlane + (i * sh + hOff) * W + wOff;
          const dst = yPlane + i * Wo;
          for (let j = jLo; j < jHi; j++) y[dst + j] += wv * x[src + j * sw];
        }
      }
    }
  });
}

/**
 * One kernel row of width 3 over output rows [iLo, iHi): where all three taps are inside the
 * image, one pass adds all three (a third of the loads and stores of y); the columns near
 * the borders take the taps one at a time. `xRow` is the input offset of output row 0.
 */
function forwardRow3(
  d: ConvDescription,
  x: Float32Array,
  w: Float32Array,
  y: Float32Array,
  xRow: number,
  wAt: number,
  yPlane: number,
  iLo: number,
  iHi: number,
): void {
  const W = d.inWidth;
  const Wo = d.outWidth;
  const sh = d.strideHeight;
  const sw = d.strideWidth;
  const dw = d.dilationWidth;
  const o0 = -d.padLeft;
  const taps: [number, number, number, number][] = [0, 1, 2].map((q) => {
    const [lo, hi] = validRange(o0 + q * dw, sw, W, Wo);
    return [w[wAt + q], o0 + q * dw, lo, hi];
  });
  let jA = Math.max(taps[0][2], taps[1][2], taps[2][2]);
  let jB = Math.min(taps[0][3], taps[1][3], taps[2][3]);
  if (jB <= jA) {
    jA = Wo;
    jB = Wo;
  }
  const w0 = taps[0][0];
  const w1 = taps[1][0];
  const w2 = taps[2][0];
  for (let i = iLo; i < iHi; i++) {
    const src = xRow + i * sh * W + o0;
    const dst = yPlane + i * Wo;
    for (let j = jA; j < jB; j++) {
      const s = src + j * sw;
      y[dst + j] += w0 * x[s] + w1 * x[s + dw] + w2 * x[s + 2 * dw];
    }
    for (const [wv, off, lo, hi] of taps) {
      const from = xRow + i * sh * W + off;
      for (let j = lo, e = Math.min(hi, jA); j < e; j++) y[dst + j] += wv * x[from + j * sw];
      for (let j = Math.max(lo, jB); j < hi; j++) y[dst + j] += wv * x[from + j * sw];
    }
  }
}

/** dX for image n, groups [g0, g1): the adjoint of `directForward` (dx must start at zero). */
export function directInputGrad(...args: InputGradArgs): void {
  if (!simdInputGrad(...args)) directInputGradScalar(...args);
}

/** `directInputGrad` in JavaScript (strides, runtimes without Wasm SIMD, tests). */
export function directInputGradScalar(...[d, dy, w, dx, n, g0, g1]: InputGradArgs): void {
  const { inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = d;
  const Kh = d.kernelHeight;
  const Kw = d.kernelWidth;
  const sh = d.strideHeight;
  const sw = d.strideWidth;
  forEachPlanePair(d, n, g0, g1, (xPlane, yPlane, wBase) => {
    if (Kh === 3 && Kw === 3 && sh === 1 && sw === 1) {
      inputGradPlane3x3(d, dy, w, dx, xPlane, wBase, yPlane);
      return;
    }
    for (let m = 0; m < Kh; m++) {
      const hOff = m * d.dilationHeight - d.padTop;
      const [iLo, iHi] = validRange(hOff, sh, H, Ho);
      if (Kw === 3 && sw === 1) {
        inputGradRow3(d, dy, w, dx, xPlane + hOff * W, wBase + m * 3, yPlane, iLo, iHi);
        continue;
      }
      for (let q = 0; q < Kw; q++) {
        const wv = w[wBase + m * Kw + q];
        const wOff = q * d.dilationWidth - d.padLeft;
        const [jLo, jHi] = validRange(wOff, sw, W, Wo);
        for (let i = iLo; i < iHi; i++) {
          const dst = xPlane + (i * sh + hOff) * W + wOff;
          const src = yPlane + i * Wo;
          for (let j = jLo; j < jHi; j++) dx[dst + j * sw] += wv * dy[src + j];
        }
      }
    }
  });
}

/**
 * dX of one kernel row of width 3, stride 1, as a gather: input column c receives
 * w0·dy[c - o0] + w1·dy[c - o1] + w2·dy[c - o2] (o_q the tap offsets) in one pass where all
 * three output columns exist; near the borders the taps are added one at a time.
 */
function inputGradRow3(
  d: ConvDescription,
  dy: Float32Array,
  w: Float32Array,
  dx: Float32Array,
  dxRow: number,
  wAt: number,
  yPlane: number,
  iLo: number,
  iHi: number,
): void {
  const W = d.inWidth;
  const Wo = d.outWidth;
  const sh = d.strideHeight;
  const dw = d.dilationWidth;
  const o0 = -d.padLeft;
  const o2 = o0 + 2 * dw;
  // Input columns each tap reaches: c = j + o for j in [0, Wo), inside [0, W).
  const taps: [number, number, number, number][] = [0, 1, 2].map((q) => {
    const o = o0 + q * dw;
    return [w[wAt + q], o, Math.max(0, o), Math.min(W, Wo + o)];
  });
  let cA = Math.max(0, o2);
  let cB = Math.min(W, Wo + o0);
  if (cB <= cA) {
    cA = W;
    cB = W;
  }
  const w0 = taps[0][0];
  const w1 = taps[1][0];
  const w2 = taps[2][0];
  for (let i = iLo; i < iHi; i++) {
    const dst = dxRow + i * sh * W;
    const src = yPlane + i * Wo;
    // dy index of column c for tap 0 is src + c - o0; taps 1 and 2 sit dw and 2dw before it.
    for (let c = cA, t = src + cA - o0; c < cB; c++, t++) {
      dx[dst + c] += w0 * dy[t] + w1 * dy[t - dw] + w2 * dy[t - 2 * dw];
    }
    for (const [wv, o, lo, hi] of taps) {
      for (let c = lo, e = Math.min(hi, cA); c < e; c++) dx[dst + c] += wv * dy[src + c - o];
      for (let c = Math.max(lo, cB); c < hi; c++) dx[dst + c] += wv * dy[src + c - o];
    }
  }
}

/** db[dbBase + co] += the sum of dY plane (n, co) (float64), for the channels of groups [g0, g1). */
function biasPlanes(
  d: ConvDescription,
  dy: Float32Array,
  n: number,
  g0: number,
  g1: number,
  db: Float64Array,
  dbBase: number,
): void {
  const HWo = d.outHeight * d.outWidth;
  for (let co = g0 * d.outChannelsPerGroup; co < g1 * d.outChannelsPerGroup; co++) {
    const start = (n * d.outChannels + co) * HWo;
    let s = 0;
    for (let p = start; p < start + HWo; p++) s += dy[p];
    db[dbBase + co] += s;
  }
}

/** dW for image n, groups [g0, g1), added into acc (laid out like w). */
export function directWeightGrad(...args: WeightGradArgs): void {
  if (!simdWeightGrad(...args)) directWeightGradScalar(...args);
}

/** `directWeightGrad` in JavaScript (strides, runtimes without Wasm SIMD, tests). */
export function directWeightGradScalar(
  ...[d, dy, x, acc, accBase, n, g0, g1, db, dbBase]: WeightGradArgs
): void {
  if (db) biasPlanes(d, dy, n, g0, g1, db, dbBase);
  const { inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = d;
  const Kh = d.kernelHeight;
  const Kw = d.kernelWidth;
  const sh = d.strideHeight;
  const sw = d.strideWidth;
  forEachPlanePair(d, n, g0, g1, (xPlane, yPlane, wBase) => {
    if (Kh === 3 && Kw === 3) {
      weightGradPlane3x3(d, dy, x, acc, xPlane, accBase + wBase, yPlane);
      return;
    }
    for (let m = 0; m < Kh; m++) {
      const hOff = m * d.dilationHeight - d.padTop;
      const [iLo, iHi] = validRange(hOff, sh, H, Ho);
      for (let q = 0; q < Kw; q++) {
        const wOff = q * d.dilationWidth - d.padLeft;
        const [jLo, jHi] = validRange(wOff, sw, W, Wo);
        // Four partial sums: one running sum would wait on each add's latency.
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let i = iLo; i < iHi; i++) {
          const src = xPlane + (i * sh + hOff) * W + wOff;
          const r = yPlane + i * Wo;
          let j = jLo;
          for (; j + 3 < jHi; j += 4) {
            const a = src + j * sw;
            s0 += dy[r + j] * x[a];
            s1 += dy[r + j + 1] * x[a + sw];
            s2 += dy[r + j + 2] * x[a + 2 * sw];
            s3 += dy[r + j + 3] * x[a + 3 * sw];
          }
          for (; j < jHi; j++) s0 += dy[r + j] * x[src + j * sw];
        }
        acc[accBase + wBase + m * Kw + q] += s0 + s1 + (s2 + s3);
      }
    }
  });
}
