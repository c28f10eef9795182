import type { ConvDescription } from '@conv2d/core';
import type { PlaneCorrelation } from '@conv2d/gemm';

/**
 * The plane correlations the direct path runs (depthwise-simd.ts on Wasm, direct3x3.ts in
 * JavaScript): forward's, and dX's at stride 1, which is forward's on dY with the kernel turned.
 */

/** X -> Y: the forward correlation, padding as given. */
export function forwardGeometry(d: ConvDescription): PlaneCorrelation {
  return {
    inHeight: d.inHeight,
    inWidth: d.inWidth,
    outHeight: d.outHeight,
    outWidth: d.outWidth,
    kernelHeight: d.kernelHeight,
    kernelWidth: d.kernelWidth,
    dilationHeight: d.dilationHeight,
    dilationWidth: d.dilationWidth,
    padTop: d.padTop,
    padLeft: d.padLeft,
  };
}

/**
 * dY -> dX: at stride 1, dx[r, c] = sum over taps of w[m, q]·dy[r + padTop - m·dh, c + padLeft
 * - q·dw], which is the correlation of dY with the flipped kernel, padded by (K-1)·d - pad.
 */
export function inputGradGeometry(d: ConvDescription): PlaneCorrelation {
  return {
    inHeight: d.outHeight,
    inWidth: d.outWidth,
    outHeight: d.inHeight,
    outWidth: d.inWidth,
    kernelHeight: d.kernelHeight,
    kernelWidth: d.kernelWidth,
    dilationHeight: d.dilationHeight,
    dilationWidth: d.dilationWidth,
    padTop: (d.kernelHeight - 1) * d.dilationHeight - d.padTop,
    padLeft: (d.kernelWidth - 1) * d.dilationWidth - d.padLeft,
  };
}
