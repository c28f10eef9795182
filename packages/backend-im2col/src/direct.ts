import type { ConvDescription } from '@conv2d/core';
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

/** Forward for image n, groups [g0, g1); writes (bias +) the convolution into y. */
export function directForward(
  d: ConvDescription,
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  y: Float32Array,
  n: number,
  g0: number,
  g1: number,
): void {
  const { inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = d;
  const Kh = d.kernelHeight;
  const Kw = d.kernelWidth;
  const sh = d.strideHeight;
  const sw = d.strideWidth;
  const cig = d.inChannelsPerGroup;
  const cog = d.outChannelsPerGroup;
  const HW = H * W;
  const HWo = Ho * Wo;
  for (let g = g0; g < g1; g++) {
    for (let oc = 0; oc < cog; oc++) {
      const co = g * cog + oc;
      const yPlane = (n * d.outChannels + co) * HWo;
      y.fill(b ? b[co] : 0, yPlane, yPlane + HWo);
      for (let ic = 0; ic < cig; ic++) {
        const xPlane = (n * d.inChannels + g * cig + ic) * HW;
        const wBase = (co * cig + ic) * Kh * Kw;
        for (let m = 0; m < Kh; m++) {
          const hOff = m * d.dilationHeight - d.padTop;
          const [iLo, iHi] = validRange(hOff, sh, H, Ho);
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
      }
    }
  }
}

/** dX for image n, groups [g0, g1): the adjoint of `directForward` (dx must start at zero). */
export function directInputGrad(
  d: ConvDescription,
  dy: Float32Array,
  w: Float32Array,
  dx: Float32Array,
  n: number,
  g0: number,
  g1: number,
): void {
  const { inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = d;
  const Kh = d.kernelHeight;
  const Kw = d.kernelWidth;
  const sh = d.strideHeight;
  const sw = d.strideWidth;
  const cig = d.inChannelsPerGroup;
  const cog = d.outChannelsPerGroup;
  const HW = H * W;
  const HWo = Ho * Wo;
  for (let g = g0; g < g1; g++) {
    for (let oc = 0; oc < cog; oc++) {
      const co = g * cog + oc;
      const yPlane = (n * d.outChannels + co) * HWo;
      for (let ic = 0; ic < cig; ic++) {
        const xPlane = (n * d.inChannels + g * cig + ic) * HW;
        const wBase = (co * cig + ic) * Kh * Kw;
        for (let m = 0; m < Kh; m++) {
          const hOff = m * d.dilationHeight - d.padTop;
          const [iLo, iHi] = validRange(hOff, sh, H, Ho);
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
      }
    }
  }
}

/** dW for image n, groups [g0, g1), added into acc (laid out like w). */
export function directWeightGrad(
  d: ConvDescription,
  dy: Float32Array,
  x: Float32Array,
  acc: Float32Array,
  accBase: number,
  n: number,
  g0: number,
  g1: number,
): void {
  const { inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = d;
  const Kh = d.kernelHeight;
  const Kw = d.kernelWidth;
  const sh = d.strideHeight;
  const sw = d.strideWidth;
  const cig = d.inChannelsPerGroup;
  const cog = d.outChannelsPerGroup;
  const HW = H * W;
  const HWo = Ho * Wo;
  for (let g = g0; g < g1; g++) {
    for (let oc = 0; oc < cog; oc++) {
      const co = g * cog + oc;
      const yPlane = (n * d.outChannels + co) * HWo;
      for (let ic = 0; ic < cig; ic++) {
        const xPlane = (n * d.inChannels + g * cig + ic) * HW;
        const wBase = (co * cig + ic) * Kh * Kw;
        for (let m = 0; m < Kh; m++) {
          const hOff = m * d.dilationHeight - d.padTop;
          const [iLo, iHi] = validRange(hOff, sh, H, Ho);
          for (let q = 0; q < Kw; q++) {
            const wOff = q * d.dilationWidth - d.padLeft;
            const [jLo, jHi] = validRange(wOff, sw, W, Wo);
            let sum = 0;
            for (let i = iLo; i < iHi; i++) {
              const src = xPlane + (i * sh + hOff) * W + wOff;
              const dyRow = yPlane + i * Wo;
              for (let j = jLo; j < jHi; j++) sum += dy[dyRow + j] * x[src + j * sw];
            }
            acc[accBase + wBase + m * Kw + q] += sum;
          }
        }
      }
    }
  }
}
