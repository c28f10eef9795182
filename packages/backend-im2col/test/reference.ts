import {
  type Conv2dOptions,
  type ConvDescription,
  describeConv,
  type Tensor,
  transposeLayout,
} from '@conv2d/core';

/** Plain float64 loops straight from the formula, NCHW; the yardstick for these tests. */
export interface Reference {
  y: Float32Array;
  dx: Float32Array;
  dw: Float32Array;
  db: Float32Array;
}

function nchw(d: ConvDescription, t: Tensor): Float32Array {
  return d.layout === 'NCHW' ? t.data : transposeLayout(t, 'NHWC', 'NCHW').data;
}

function back(d: ConvDescription, shape: readonly number[], data: Float32Array): Float32Array {
  if (d.layout === 'NCHW') return data;
  const [n, h, w, c] = shape as number[];
  return transposeLayout({ shape: [n, c, h, w], data }, 'NCHW', 'NHWC').data;
}

export function reference(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  dyT: Tensor,
  options: Conv2dOptions,
): Reference {
  const d = describeConv(x.shape, w.shape, b?.shape, options);
  const X = nchw(d, x);
  const dY = nchw(d, dyT);
  const W = w.data;
  const { batch: N, inHeight: H, inWidth: Wd, outHeight: Ho, outWidth: Wo } = d;
  const cig = d.inChannelsPerGroup;
  const cog = d.outChannelsPerGroup;
  const y = new Float64Array(d.ySize);
  const dx = new Float64Array(d.xSize);
  const dw = new Float64Array(d.wSize);
  const db = new Float64Array(d.outChannels);
  for (let n = 0; n < N; n++)
    for (let co = 0; co < d.outChannels; co++) {
      const g = Math.floor(co / cog);
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++) {
          const yi = ((n * d.outChannels + co) * Ho + i) * Wo + j;
          let s = b ? b.data[co] : 0;
          const gy = dY[yi];
          db[co] += gy;
          for (let ic = 0; ic < cig; ic++)
            for (let m = 0; m < d.kernelHeight; m++) {
              const h = i * d.strideHeight + m * d.dilationHeight - d.padTop;
              if (h < 0 || h >= H) continue;
              for (let q = 0; q < d.kernelWidth; q++) {
                const ww = j * d.strideWidth + q * d.dilationWidth - d.padLeft;
                if (ww < 0 || ww >= Wd) continue;
                const xi = ((n * d.inChannels + g * cig + ic) * H + h) * Wd + ww;
                const wi = ((co * cig + ic) * d.kernelHeight + m) * d.kernelWidth + q;
                s += X[xi] * W[wi];
                dx[xi] += gy * W[wi];
                dw[wi] += gy * X[xi];
              }
            }
          y[yi] = s;
        }
    }
  return {
    y: back(d, d.yShape, Float32Array.from(y)),
    dx: back(d, d.xShape, Float32Array.from(dx)),
    dw: Float32Array.from(dw),
    db: Float32Array.from(db),
  };
}

/** Deterministic pseudo-random numbers in [-1, 1). */
export function random(size: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** Largest violation of |got - want| <= atol + rtol*|want| (<= 0 means all within). */
export function worstError(got: Float32Array, want: Float32Array, atol: number, rtol = 1e-4) {
  if (got.length !== want.length) return Number.POSITIVE_INFINITY;
  let worst = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < got.length; i++) {
    const excess = Math.abs(got[i] - want[i]) - (atol + rtol * Math.abs(want[i]));
    if (!(excess <= worst)) worst = Number.isNaN(excess) ? Number.POSITIVE_INFINITY : excess;
  }
  return worst;
}
