import type { ConvDescription } from '@conv2d/core';

/**
 * Direct float64 loops from the formula, kept deliberately plain: the oracle for this package's
 * own tests (the shared conformance suite adds PyTorch fixtures on top).
 */
function at(d: ConvDescription, which: 'x' | 'y', n: number, c: number, h: number, w: number) {
  const s = which === 'x' ? d.xStrides : d.yStrides;
  return n * s.n + c * s.c + h * s.h + w * s.w;
}

/** Calls f(n, co, oh, ow, ci, m, q, xIndex, wIndex) for every in-bounds multiply of the conv. */
function eachTap(
  d: ConvDescription,
  f: (yi: number, xi: number, wi: number, co: number) => void,
): void {
  for (let n = 0; n < d.batch; n++)
    for (let co = 0; co < d.outChannels; co++) {
      const g = Math.floor(co / d.outChannelsPerGroup);
      for (let oh = 0; oh < d.outHeight; oh++)
        for (let ow = 0; ow < d.outWidth; ow++)
          for (let ci = 0; ci < d.inChannelsPerGroup; ci++)
            for (let m = 0; m < d.kernelHeight; m++)
              for (let q = 0; q < d.kernelWidth; q++) {
                const ih = oh * d.strideHeight + m * d.dilationHeight - d.padTop;
                const iw = ow * d.strideWidth + q * d.dilationWidth - d.padLeft;
                if (ih < 0 || ih >= d.inHeight || iw < 0 || iw >= d.inWidth) continue;
                const c = g * d.inChannelsPerGroup + ci;
                const wi =
                  ((co * d.inChannelsPerGroup + ci) * d.kernelHeight + m) * d.kernelWidth + q;
                f(at(d, 'y', n, co, oh, ow), at(d, 'x', n, c, ih, iw), wi, co);
              }
    }
}

export function refForward(
  d: ConvDescription,
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
): Float64Array {
  const y = new Float64Array(d.ySize);
  eachTap(d, (yi, xi, wi) => {
    y[yi] += x[xi] * w[wi];
  });
  if (b) {
    for (let n = 0; n < d.batch; n++)
      for (let co = 0; co < d.outChannels; co++)
        for (let oh = 0; oh < d.outHeight; oh++)
          for (let ow = 0; ow < d.outWidth; ow++) y[at(d, 'y', n, co, oh, ow)] += b[co];
  }
  return y;
}

export function refBackward(
  d: ConvDescription,
  dy: Float32Array,
  x: Float32Array,
  w: Float32Array,
) {
  const dx = new Float64Array(d.xSize);
  const dw = new Float64Array(d.wSize);
  const db = new Float64Array(d.outChannels);
  eachTap(d, (yi, xi, wi) => {
    dx[xi] += dy[yi] * w[wi];
    dw[wi] += dy[yi] * x[xi];
  });
  for (let n = 0; n < d.batch; n++)
    for (let co = 0; co < d.outChannels; co++)
      for (let oh = 0; oh < d.outHeight; oh++)
        for (let ow = 0; ow < d.outWidth; ow++) db[co] += dy[at(d, 'y', n, co, oh, ow)];
  return { dx, dw, db };
}

/** Deterministic values in [-1, 1), exactly representable in float32. */
export function randomData(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s >>> 8) - 2 ** 23) / 2 ** 23;
  }
  return out;
}

/** Largest |got - want| / (atol + rtol*|want|); <= 1 means within tolerance. */
export function worstError(
  got: Float32Array,
  want: Float64Array,
  reduction: number,
): { ratio: number; index: number } {
  const rtol = 1e-5 * Math.sqrt(reduction) + 1e-6;
  const atol = 1e-5 * Math.sqrt(reduction);
  let ratio = 0;
  let index = -1;
  if (got.length !== want.length) return { ratio: Number.POSITIVE_INFINITY, index: -1 };
  for (let i = 0; i < want.length; i++) {
    const r = Math.abs(got[i] - want[i]) / (atol + rtol * Math.abs(want[i]));
    if (!(r <= ratio)) {
      ratio = r;
      index = i;
    }
  }
  return { ratio, index };
}
