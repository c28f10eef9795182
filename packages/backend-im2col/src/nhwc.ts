import type { ConvDescription } from '@conv2d/core';
import { sgemm } from '@conv2d/gemm';
import { isPointwise } from './im2col.js';
import type { Job, Task } from './job.js';

/**
 * Forward in NHWC without transposing: there the natural im2col matrix has one row per
 * output position and one column per (m, q, ci), each tap a contiguous run of channels, and
 * Y[positions, Cout] = X_hat · W_rᵀ lands directly in NHWC (W_r: W reordered to
 * [Cout, Kh, Kw, Cin/g], see `reorderWeights`). Used when a tile of whole rows of X_hat fits
 * the workspace; otherwise the engine transposes and takes the NCHW path.
 */

/** [Cout, Cin/g, Kh, Kw] -> [Cout, Kh, Kw, Cin/g]. */
export function reorderWeights(
  d: ConvDescription,
  w: Float32Array,
  out: Float32Array,
): Float32Array {
  const cig = d.inChannelsPerGroup;
  const KK = d.kernelHeight * d.kernelWidth;
  for (let co = 0; co < d.outChannels; co++) {
    const base = co * cig * KK;
    for (let ic = 0; ic < cig; ic++)
      for (let t = 0; t < KK; t++) out[base + t * cig + ic] = w[base + ic * KK + t];
  }
  return out;
}

/** Rows [p0, p1) of image n's X_hat for group g, row-major with leading dimension K. */
function im2colRows(
  d: ConvDescription,
  x: Float32Array,
  n: number,
  g: number,
  p0: number,
  p1: number,
  out: Float32Array,
): void {
  const { inHeight: H, inWidth: W, outWidth: Wo, inChannels: C } = d;
  const Kh = d.kernelHeight;
  const Kw = d.kernelWidth;
  const cig = d.inChannelsPerGroup;
  const K = d.reductionLength;
  const xImage = n * H * W * C + g * cig;
  let o = 0;
  for (let p = p0; p < p1; p++) {
    const i = (p / Wo) | 0;
    const j = p - i * Wo;
    for (let m = 0; m < Kh; m++) {
      const h = i * d.strideHeight + m * d.dilationHeight - d.padTop;
      if (h < 0 || h >= H) {
        out.fill(0, o, o + Kw * cig);
        o += Kw * cig;
        continue;
      }
      for (let q = 0; q < Kw; q++) {
        const wc = j * d.strideWidth + q * d.dilationWidth - d.padLeft;
        if (wc < 0 || wc >= W) {
          out.fill(0, o, o + cig);
          o += cig;
          continue;
        }
        let from = xImage + (h * W + wc) * C;
        const end = from + cig;
        for (; from + 3 < end; from += 4, o += 4) {
          out[o] = x[from];
          out[o + 1] = x[from + 1];
          out[o + 2] = x[from + 2];
          out[o + 3] = x[from + 3];
        }
        for (; from < end; from++) out[o++] = x[from];
      }
    }
  }
  if (o !== (p1 - p0) * K) throw new Error('backend-im2col: NHWC im2col size mismatch');
}

/** Whether a tile of at least one whole X_hat row fits `floats`. */
export function nhwcFits(d: ConvDescription, floats: number): boolean {
  return d.reductionLength <= floats;
}

/** Task (n, g, p0, p1) of the NHWC forward: y[n, positions p0..p1, group g's channels]. */
export function forwardNhwc(job: Job, ws: Float32Array, n: number, g: number, task: Task) {
  const { p0, p1, co0, co1 } = task;
  const d = job.desc;
  const K = d.reductionLength;
  const P = d.outHeight * d.outWidth;
  const C = d.outChannels;
  const cols = co1 - co0;
  const first = g * d.outChannelsPerGroup + co0;
  const y = job.y as Float32Array;
  const w = job.w as Float32Array;
  const x = job.x as Float32Array;
  const yBase = n * P * C + first;
  const wBase = first * K;
  if (job.b) {
    for (let p = p0; p < p1; p++) y.set(job.b.subarray(first, first + cols), yBase + p * C);
  }
  const beta = job.b ? 1 : 0;
  if (isPointwise(d)) {
    // X itself is X_hat: rows are positions, the group's channels a column block.
    const xOff = (n * P + p0) * d.inChannels + g * d.inChannelsPerGroup;
    sgemm(
      false,
      true,
      p1 - p0,
      cols,
      K,
      1,
      x,
      xOff,
      d.inChannels,
      w,
      wBase,
      K,
      beta,
      y,
      yBase + p0 * C,
      C,
    );
    return;
  }
  const pc = Math.max(1, Math.min(p1 - p0, Math.floor(job.tileFloats / K)));
  for (let pt = p0; pt < p1; pt += pc) {
    const pe = Math.min(p1, pt + pc);
    im2colRows(d, x, n, g, pt, pe, ws);
    sgemm(false, true, pe - pt, cols, K, 1, ws, 0, K, w, wBase, K, beta, y, yBase + pt * C, C);
  }
}
