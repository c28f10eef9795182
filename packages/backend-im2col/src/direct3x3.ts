import type { ConvDescription } from '@conv2d/core';
import type { PlaneCorrelation } from '@conv2d/gemm';
import { validRange } from './im2col.js';
import { inputGradGeometry } from './plane-geometry.js';

/**
 * 3x3 planes of the direct path (depthwise above all), one (output, input) channel pair at a
 * time. Where all nine taps fall inside the image, one pass over an output row does all nine
 * multiply-adds with the input rows as running offsets, so each output is loaded and stored
 * once (not once per tap) and the inner loop has no bounds checks; the few border rows and
 * columns take a checked loop. Any stride and dilation for forward and dW; dX (a gather over
 * dY) needs stride 1. At stride 1 these run only where the Wasm SIMD planes (depthwise-simd.ts)
 * do not, so they keep one general loop rather than stride-1 unrolled variants (two rows at
 * once, sliding windows) that the fallback alone would use.
 */

/** [lo, hi): outputs whose three taps at offset + t*step (t = 0, 1, 2) all lie in [0, size). */
function allInside(
  offset: number,
  step: number,
  stride: number,
  size: number,
  outSize: number,
): [number, number] {
  let lo = 0;
  let hi = outSize;
  for (let t = 0; t < 3; t++) {
    const [a, b] = validRange(offset + t * step, stride, size, outSize);
    lo = Math.max(lo, a);
    hi = Math.min(hi, b);
  }
  return hi > lo ? [lo, hi] : [0, 0];
}

/** Output rows [iA, iB) and columns [jA, jB) whose nine taps all lie inside the image. */
function interior(d: PlaneGeometry): [number, number, number, number] {
  const [iA, iB] = allInside(-d.padTop, d.dilationHeight, d.strideHeight, d.inHeight, d.outHeight);
  const [jA, jB] = allInside(-d.padLeft, d.dilationWidth, d.strideWidth, d.inWidth, d.outWidth);
  return [iA, iB, jA, jB];
}

/** What the forward planes read of a convolution: ConvDescription, or dX's transposed one. */
type PlaneGeometry = PlaneCorrelation & { strideHeight: number; strideWidth: number };

/** y plane (at yPlane) += the 3x3 correlation of the x plane (at xPlane) with w[wAt..+9). */
export function forwardPlane3x3(
  d: PlaneGeometry,
  x: Float32Array,
  w: Float32Array,
  y: Float32Array,
  xPlane: number,
  wAt: number,
  yPlane: number,
): void {
  const { inWidth: W, outHeight: Ho, outWidth: Wo } = d;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = d;
  const [iA, iB, jA, jB] = interior(d);
  const w0 = w[wAt];
  const w1 = w[wAt + 1];
  const w2 = w[wAt + 2];
  const w3 = w[wAt + 3];
  const w4 = w[wAt + 4];
  const w5 = w[wAt + 5];
  const w6 = w[wAt + 6];
  const w7 = w[wAt + 7];
  const w8 = w[wAt + 8];
  const dw2 = 2 * dw;
  for (let i = 0; i < Ho; i++) {
    const dst = yPlane + i * Wo;
    if (i < iA || i >= iB || jA === jB) {
      forwardEdge(d, x, w, y, xPlane, wAt, dst, i, 0, Wo);
      continue;
    }
    forwardEdge(d, x, w, y, xPlane, wAt, dst, i, 0, jA);
    forwardEdge(d, x, w, y, xPlane, wAt, dst, i, jB, Wo);
    // Offset of tap (0, 0) for output column 0; rows 1 and 2 are dh*W further each.
    const r0 = xPlane + (i * sh - d.padTop) * W - d.padLeft;
    const r1 = r0 + dh * W;
    const r2 = r1 + dh * W;
    for (let j = jA, c = jA * sw; j < jB; j++, c += sw) {
      y[dst + j] +=
        w0 * x[r0 + c] +
        w1 * x[r0 + c + dw] +
        w2 * x[r0 + c + dw2] +
        (w3 * x[r1 + c] + w4 * x[r1 + c + dw] + w5 * x[r1 + c + dw2]) +
        (w6 * x[r2 + c] + w7 * x[r2 + c + dw] + w8 * x[r2 + c + dw2]);
    }
  }
}

/** Output columns [j0, j1) of output row i, every tap checked against the image bounds. */
function forwardEdge(
  d: PlaneGeometry,
  x: Float32Array,
  w: Float32Array,
  y: Float32Array,
  xPlane: number,
  wAt: number,
  dst: number,
  i: number,
  j0: number,
  j1: number,
): void {
  const { inHeight: H, inWidth: W, dilationHeight: dh, dilationWidth: dw } = d;
  const row = i * d.strideHeight - d.padTop;
  const sw = d.strideWidth;
  const padLeft = d.padLeft;
  for (let j = j0; j < j1; j++) {
    let s = 0;
    for (let m = 0; m < 3; m++) {
      const r = row + m * dh;
      if (r < 0 || r >= H) continue;
      for (let q = 0; q < 3; q++) {
        const c = j * sw + q * dw - padLeft;
        if (c >= 0 && c < W) s += w[wAt + m * 3 + q] * x[xPlane + r * W + c];
      }
    }
    y[dst + j] += s;
  }
}

/** The kernel of one plane pair turned 180° (module scratch: one call at a time per thread). */
const flipped = new Float32Array(9);

/**
 * dx plane += the adjoint of `forwardPlane3x3` at stride 1: the correlation of the dY plane
 * with the kernel turned 180°, padded by 2·dilation - pad (`inputGradGeometry`).
 */
export function inputGradPlane3x3(
  d: ConvDescription,
  dy: Float32Array,
  w: Float32Array,
  dx: Float32Array,
  xPlane: number,
  wAt: number,
  yPlane: number,
): void {
  for (let t = 0; t < 9; t++) flipped[t] = w[wAt + 8 - t];
  const g = { ...inputGradGeometry(d), strideHeight: 1, strideWidth: 1 };
  forwardPlane3x3(g, dy, flipped, dx, yPlane, 0, xPlane);
}

/** acc[accAt..+9) += the nine dW taps of one plane pair: sums of dy·(shifted x). */
export function weightGradPlane3x3(
  d: ConvDescription,
  dy: Float32Array,
  x: Float32Array,
  acc: Float32Array,
  xPlane: number,
  accAt: number,
  yPlane: number,
): void {
  const { inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = d;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = d;
  const [iA, iB, jA, jB] = interior(d);
  const dw2 = 2 * dw;
  // Nine running sums (float64, in registers) over the interior...
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  let s5 = 0;
  let s6 = 0;
  let s7 = 0;
  let s8 = 0;
  for (let i = iA; i < iB; i++) {
    if (jA === jB) break;
    const g0 = yPlane + i * Wo;
    const r0 = xPlane + (i * sh - d.padTop) * W - d.padLeft;
    const r1 = r0 + dh * W;
    const r2 = r1 + dh * W;
    for (let j = jA, c = jA * sw; j < jB; j++, c += sw) {
      const g = dy[g0 + j];
      s0 += g * x[r0 + c];
      s1 += g * x[r0 + c + dw];
      s2 += g * x[r0 + c + dw2];
      s3 += g * x[r1 + c];
      s4 += g * x[r1 + c + dw];
      s5 += g * x[r1 + c + dw2];
      s6 += g * x[r2 + c];
      s7 += g * x[r2 + c + dw];
      s8 += g * x[r2 + c + dw2];
    }
  }
  acc[accAt] += s0;
  acc[accAt + 1] += s1;
  acc[accAt + 2] += s2;
  acc[accAt + 3] += s3;
  acc[accAt + 4] += s4;
  acc[accAt + 5] += s5;
  acc[accAt + 6] += s6;
  acc[accAt + 7] += s7;
  acc[accAt + 8] += s8;
  // ...then the border outputs, every tap checked.
  for (let i = 0; i < Ho; i++) {
    const inner = i >= iA && i < iB && jA < jB;
    for (let j = 0; j < Wo; j++) {
      if (inner && j === jA) j = jB;
      if (j >= Wo) break;
      const g = dy[yPlane + i * Wo + j];
      for (let m = 0; m < 3; m++) {
        const r = i * sh + m * dh - d.padTop;
        if (r < 0 || r >= H) continue;
        for (let q = 0; q < 3; q++) {
          const c = j * sw + q * dw - d.padLeft;
          if (c >= 0 && c < W) acc[accAt + m * 3 + q] += g * x[xPlane + r * W + c];
        }
      }
    }
  }
}
