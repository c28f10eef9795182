import type { ConvDescription } from '@conv2d/core';

/*
 * The convolution formula written out as loops, one function per pass, float64 accumulators.
 * Every output element is one sum (a gather), so each result is rounded to float32 once; and
 * each is assigned, not accumulated, so a pass can write into a caller's buffer as it is.
 *
 *   Y[n,co,i,j] = b[co] + sum_{ci in group(co)} sum_{m,q} Xpad[n, ci, i*Sh + m*Dh, j*Sw + q*Dw] * W[co, ci-g0, m, q]
 */

/** Index of weight W[co, cig, m, q] (OIHW). */
function weightIndex(d: ConvDescription, co: number, cig: number, m: number, q: number): number {
  return ((co * d.inChannelsPerGroup + cig) * d.kernelHeight + m) * d.kernelWidth + q;
}

export function forward(
  d: ConvDescription,
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  y: Float32Array = new Float32Array(d.ySize),
): Float32Array {
  const xs = d.xStrides;
  const ys = d.yStrides;
  for (let n = 0; n < d.batch; n++) {
    for (let co = 0; co < d.outChannels; co++) {
      const g0 = Math.floor(co / d.outChannelsPerGroup) * d.inChannelsPerGroup;
      for (let i = 0; i < d.outHeight; i++) {
        for (let j = 0; j < d.outWidth; j++) {
          let acc = b ? b[co] : 0;
          for (let cig = 0; cig < d.inChannelsPerGroup; cig++) {
            for (let m = 0; m < d.kernelHeight; m++) {
              const ih = i * d.strideHeight + m * d.dilationHeight - d.padTop;
              if (ih < 0 || ih >= d.inHeight) continue; // zero padding
              for (let q = 0; q < d.kernelWidth; q++) {
                const iw = j * d.strideWidth + q * d.dilationWidth - d.padLeft;
                if (iw < 0 || iw >= d.inWidth) continue;
                acc +=
                  x[n * xs.n + (g0 + cig) * xs.c + ih * xs.h + iw * xs.w] *
                  w[weightIndex(d, co, cig, m, q)];
              }
            }
          }
          y[n * ys.n + co * ys.c + i * ys.h + j * ys.w] = acc;
        }
      }
    }
  }
  return y;
}

/**
 * dX[n,ci,h,x] = sum over the output positions whose window covers (h,x): for each kernel tap
 * (m,q), the output row i with i*Sh + m*Dh - padTop = h exists only when the stride divides.
 */
export function inputGradient(
  d: ConvDescription,
  dy: Float32Array,
  w: Float32Array,
  dx: Float32Array = new Float32Array(d.xSize),
): Float32Array {
  const xs = d.xStrides;
  const ys = d.yStrides;
  for (let n = 0; n < d.batch; n++) {
    for (let ci = 0; ci < d.inChannels; ci++) {
      const group = Math.floor(ci / d.inChannelsPerGroup);
      const cig = ci - group * d.inChannelsPerGroup;
      const coStart = group * d.outChannelsPerGroup;
      for (let h = 0; h < d.inHeight; h++) {
        for (let xw = 0; xw < d.inWidth; xw++) {
          let acc = 0;
          for (let m = 0; m < d.kernelHeight; m++) {
            const ti = h + d.padTop - m * d.dilationHeight;
            if (ti < 0 || ti % d.strideHeight !== 0) continue;
            const i = ti / d.strideHeight;
            if (i >= d.outHeight) continue;
            for (let q = 0; q < d.kernelWidth; q++) {
              const tj = xw + d.padLeft - q * d.dilationWidth;
              if (tj < 0 || tj % d.strideWidth !== 0) continue;
              const j = tj / d.strideWidth;
              if (j >= d.outWidth) continue;
              for (let co = coStart; co < coStart + d.outChannelsPerGroup; co++) {
                acc +=
                  dy[n * ys.n + co * ys.c + i * ys.h + j * ys.w] * w[weightIndex(d, co, cig, m, q)];
              }
            }
          }
          dx[n * xs.n + ci * xs.c + h * xs.h + xw * xs.w] = acc;
        }
      }
    }
  }
  return dx;
}

/** dW[co,cig,m,q] = sum over n,i,j of dY[n,co,i,j] * Xpad[n, g0+cig, i*Sh + m*Dh, j*Sw + q*Dw]. */
export function weightGradient(
  d: ConvDescription,
  dy: Float32Array,
  x: Float32Array,
  dw: Float32Array = new Float32Array(d.wSize),
): Float32Array {
  const xs = d.xStrides;
  const ys = d.yStrides;
  for (let co = 0; co < d.outChannels; co++) {
    const g0 = Math.floor(co / d.outChannelsPerGroup) * d.inChannelsPerGroup;
    for (let cig = 0; cig < d.inChannelsPerGroup; cig++) {
      for (let m = 0; m < d.kernelHeight; m++) {
        for (let q = 0; q < d.kernelWidth; q++) {
          let acc = 0;
          for (let n = 0; n < d.batch; n++) {
            for (let i = 0; i < d.outHeight; i++) {
              const ih = i * d.strideHeight + m * d.dilationHeight - d.padTop;
              if (ih < 0 || ih >= d.inHeight) continue;
              for (let j = 0; j < d.outWidth; j++) {
                const iw = j * d.strideWidth + q * d.dilationWidth - d.padLeft;
                if (iw < 0 || iw >= d.inWidth) continue;
                acc +=
                  dy[n * ys.n + co * ys.c + i * ys.h + j * ys.w] *
                  x[n * xs.n + (g0 + cig) * xs.c + ih * xs.h + iw * xs.w];
              }
            }
          }
          dw[weightIndex(d, co, cig, m, q)] = acc;
        }
      }
    }
  }
  return dw;
}

/** db[co] = sum over n,i,j of dY[n,co,i,j]. */
export function biasGradient(
  d: ConvDescription,
  dy: Float32Array,
  db: Float32Array = new Float32Array(d.outChannels),
): Float32Array {
  const ys = d.yStrides;
  for (let co = 0; co < d.outChannels; co++) {
    let acc = 0;
    for (let n = 0; n < d.batch; n++)
      for (let i = 0; i < d.outHeight; i++)
        for (let j = 0; j < d.outWidth; j++) acc += dy[n * ys.n + co * ys.c + i * ys.h + j * ys.w];
    db[co] = acc;
  }
  return db;
}
