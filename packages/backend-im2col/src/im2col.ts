import type { ConvDescription } from '@conv2d/core';

/**
 * The im2col matrix of one image and one group (NCHW source) has one row per reduction
 * index k = (ci*Kh + m)*Kw + q and one column per output position p = i*Wout + j. The tile
 * functions below read or write the block rows [k0, k1) x columns [p0, p1) of it, stored
 * row-major with leading dimension p1 - p0.
 */

/** First and one-past-last output column j whose input column j*S + offset lies in [0, size). */
export function validRange(
  offset: number,
  stride: number,
  size: number,
  outSize: number,
): [number, number] {
  const lo = offset >= 0 ? 0 : Math.min(outSize, Math.ceil(-offset / stride));
  const hi = size - offset <= 0 ? 0 : Math.min(outSize, Math.ceil((size - offset) / stride));
  return [lo, Math.max(lo, hi)];
}

/** Writes a tile of the im2col matrix of image `xBase` (the image's offset in x), group g. */
export function im2colTile(
  d: ConvDescription,
  x: Float32Array,
  xBase: number,
  g: number,
  k0: number,
  k1: number,
  p0: number,
  p1: number,
  out: Float32Array,
  outOffset: number,
  ld: number,
): void {
  const H = d.inHeight;
  const W = d.inWidth;
  const Wo = d.outWidth;
  const Kw = d.kernelWidth;
  const KK = d.kernelHeight * Kw;
  const sh = d.strideHeight;
  const sw = d.strideWidth;
  const HW = H * W;
  const cBase = xBase + g * d.inChannelsPerGroup * HW;
  const i0 = (p0 / Wo) | 0;
  const j0 = p0 - i0 * Wo;
  for (let k = k0; k < k1; k++) {
    const ci = (k / KK) | 0;
    const r = k - ci * KK;
    const m = (r / Kw) | 0;
    const q = r - m * Kw;
    const plane = cBase + ci * HW;
    const hOff = m * d.dilationHeight - d.padTop;
    const wOff = q * d.dilationWidth - d.padLeft;
    const [jLo, jHi] = validRange(wOff, sw, W, Wo);
    let o = outOffset + (k - k0) * ld;
    let p = p0;
    let i = i0;
    let j = j0;
    while (p < p1) {
      const jEnd = Math.min(Wo, j + p1 - p);
      const h = i * sh + hOff;
      if (h < 0 || h >= H) {
        out.fill(0, o, o + jEnd - j);
        o += jEnd - j;
      } else {
        const row = plane + h * W + wOff;
        const a = Math.min(Math.max(jLo, j), jEnd);
        const b = Math.max(a, Math.min(jHi, jEnd));
        for (let jj = j; jj < a; jj++) out[o++] = 0;
        // Unrolled by four: the copy, not the GEMM, is the cost of im2col in JavaScript.
        let s = row + a * sw;
        const e = row + b * sw;
        if (sw === 1) {
          for (; s + 3 < e; s += 4, o += 4) {
            out[o] = x[s];
            out[o + 1] = x[s + 1];
            out[o + 2] = x[s + 2];
            out[o + 3] = x[s + 3];
          }
          for (; s < e; s++) out[o++] = x[s];
        } else {
          const s4 = 4 * sw;
          for (; s + 3 * sw < e; s += s4, o += 4) {
            out[o] = x[s];
            out[o + 1] = x[s + sw];
            out[o + 2] = x[s + 2 * sw];
            out[o + 3] = x[s + 3 * sw];
          }
          for (; s < e; s += sw) out[o++] = x[s];
        }
        for (let jj = b; jj < jEnd; jj++) out[o++] = 0;
      }
      p += jEnd - j;
      j = 0;
      i++;
    }
  }
}

/**
 * The adjoint of `im2colTile`: adds each entry of the tile to the input element it was read
 * from (overlapping windows accumulate); entries that came from padding are dropped.
 */
export function col2imTile(
  d: ConvDescription,
  dx: Float32Array,
  dxBase: number,
  g: number,
  k0: number,
  k1: number,
  p0: number,
  p1: number,
  col: Float32Array,
  colOffset: number,
  ld: number,
): void {
  const H = d.inHeight;
  const W = d.inWidth;
  const Wo = d.outWidth;
  const Kw = d.kernelWidth;
  const KK = d.kernelHeight * Kw;
  const sh = d.strideHeight;
  const sw = d.strideWidth;
  const HW = H * W;
  const cBase = dxBase + g * d.inChannelsPerGroup * HW;
  const i0 = (p0 / Wo) | 0;
  const j0 = p0 - i0 * Wo;
  for (let k = k0; k < k1; k++) {
    const ci = (k / KK) | 0;
    const r = k - ci * KK;
    const m = (r / Kw) | 0;
    const q = r - m * Kw;
    const plane = cBase + ci * HW;
    const hOff = m * d.dilationHeight - d.padTop;
    const wOff = q * d.dilationWidth - d.padLeft;
    const [jLo, jHi] = validRange(wOff, sw, W, Wo);
    let o = colOffset + (k - k0) * ld;
    let p = p0;
    let i = i0;
    let j = j0;
    while (p < p1) {
      const jEnd = Math.min(Wo, j + p1 - p);
      const h = i * sh + hOff;
      if (h >= 0 && h < H) {
        const row = plane + h * W + wOff;
        const a = Math.min(Math.max(jLo, j), jEnd);
        const b = Math.max(a, Math.min(jHi, jEnd));
        let c = o + (a - j);
        let s = row + a * sw;
        const e = row + b * sw;
        if (sw === 1) {
          for (; s + 3 < e; s += 4, c += 4) {
            dx[s] += col[c];
            dx[s + 1] += col[c + 1];
            dx[s + 2] += col[c + 2];
            dx[s + 3] += col[c + 3];
          }
          for (; s < e; s++) dx[s] += col[c++];
        } else {
          for (; s < e; s += sw) dx[s] += col[c++];
        }
      }
      o += jEnd - j;
      p += jEnd - j;
      j = 0;
      i++;
    }
  }
}

/** 1x1, stride 1, no padding: the image (one group's channels) already is the im2col matrix. */
export function isPointwise(d: ConvDescription): boolean {
  return (
    d.kernelHeight === 1 &&
    d.kernelWidth === 1 &&
    d.strideHeight === 1 &&
    d.strideWidth === 1 &&
    d.padTop === 0 &&
    d.padBottom === 0 &&
    d.padLeft === 0 &&
    d.padRight === 0
  );
}
