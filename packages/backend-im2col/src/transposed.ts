import { type ConvDescription, describeConv } from '@conv2d/core';

/**
 * dX as a transposed convolution: dY upsampled by the stride (S-1 zeros between elements),
 * padded by K_eff-1-P on each side plus the rows/columns floor() dropped at the end, then a
 * stride-1 convolution with the kernel flipped 180° and its in/out channels swapped within
 * each group. The dilation stays on the flipped kernel. The padding can be negative (P larger
 * than K_eff-1), which simply crops.
 */

/** Top/left padding of the upsampled dY; the bottom/right follows from the output size. */
export function transposedPadding(d: ConvDescription): [number, number] {
  return [d.effectiveKernelHeight - 1 - d.padTop, d.effectiveKernelWidth - 1 - d.padLeft];
}

/** The stride-1 convolution that maps `batch` padded, upsampled dY images to dX. */
export function transposedDescription(d: ConvDescription, batch: number): ConvDescription {
  const height = d.inHeight + d.effectiveKernelHeight - 1;
  const width = d.inWidth + d.effectiveKernelWidth - 1;
  return describeConv(
    [batch, d.outChannels, height, width],
    [d.inChannels, d.outChannelsPerGroup, d.kernelHeight, d.kernelWidth],
    null,
    {
      stride: 1,
      padding: 0,
      dilation: [d.dilationHeight, d.dilationWidth],
      groups: d.groups,
      layout: 'NCHW',
    },
  );
}

/** W [Cout, Cin/g, Kh, Kw] -> W' [Cin, Cout/g, Kh, Kw], flipped 180°, per group. */
export function flipKernel(d: ConvDescription, w: Float32Array, out: Float32Array): Float32Array {
  const Kh = d.kernelHeight;
  const Kw = d.kernelWidth;
  const KK = Kh * Kw;
  const cig = d.inChannelsPerGroup;
  const cog = d.outChannelsPerGroup;
  for (let g = 0; g < d.groups; g++)
    for (let oc = 0; oc < cog; oc++)
      for (let ic = 0; ic < cig; ic++) {
        const src = ((g * cog + oc) * cig + ic) * KK;
        const dst = ((g * cig + ic) * cog + oc) * KK;
        for (let r = 0; r < KK; r++) out[dst + KK - 1 - r] = w[src + r];
      }
  return out;
}

/**
 * Writes images [n0, n1) of dY, upsampled and padded, into `out` (NCHW, shape of
 * `t`'s input, batch n1 - n0). `out` must be zero where nothing is written.
 */
export function upsamplePad(
  d: ConvDescription,
  t: ConvDescription,
  dy: Float32Array,
  n0: number,
  n1: number,
  out: Float32Array,
): void {
  const [top, left] = transposedPadding(d);
  const Ho = d.outHeight;
  const Wo = d.outWidth;
  const Hp = t.inHeight;
  const Wp = t.inWidth;
  const sh = d.strideHeight;
  const sw = d.strideWidth;
  // Output columns j landing inside [0, Wp): 0 <= left + j*sw < Wp.
  const jLo = left >= 0 ? 0 : Math.ceil(-left / sw);
  const jHi = Math.min(Wo, Math.ceil((Wp - left) / sw));
  for (let n = n0; n < n1; n++)
    for (let c = 0; c < d.outChannels; c++) {
      const src = (n * d.outChannels + c) * Ho * Wo;
      const dst = ((n - n0) * d.outChannels + c) * Hp * Wp;
      for (let i = 0; i < Ho; i++) {
        const u = top + i * sh;
        if (u < 0 || u >= Hp) continue;
        const row = dst + u * Wp + left;
        const from = src + i * Wo;
        for (let j = jLo; j < jHi; j++) out[row + j * sw] = dy[from + j];
      }
    }
}
