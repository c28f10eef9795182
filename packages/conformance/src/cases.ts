import { activationShape, type Conv2dOptions, type Layout } from '@conv2d/core';
import fc from 'fast-check';

/** A random but valid convolution: shapes, options and the seed of its data. */
export interface RandomConv {
  xShape: number[];
  wShape: number[];
  bias: boolean;
  options: Conv2dOptions & { layout: Layout };
  seed: number;
}

export interface RandomConvLimits {
  maxBatch: number;
  maxChannelsPerGroup: number;
  maxGroups: number;
  maxKernel: number;
  maxStride: number;
  maxDilation: number;
  maxPad: number;
  /** Extra input rows/columns beyond the smallest valid size. */
  maxExtent: number;
}

export const defaultLimits: RandomConvLimits = {
  maxBatch: 3,
  maxChannelsPerGroup: 4,
  maxGroups: 3,
  maxKernel: 4,
  maxStride: 3,
  maxDilation: 3,
  maxPad: 3,
  maxExtent: 7,
};

/** fast-check arbitrary of valid convolutions in the given layout. */
export function randomConv(
  layout: Layout,
  limits: RandomConvLimits = defaultLimits,
): fc.Arbitrary<RandomConv> {
  const int = (min: number, max: number) => fc.integer({ min, max });
  return fc
    .record({
      n: int(1, limits.maxBatch),
      groups: int(1, limits.maxGroups),
      cinPerGroup: int(1, limits.maxChannelsPerGroup),
      coutPerGroup: int(1, limits.maxChannelsPerGroup),
      kh: int(1, limits.maxKernel),
      kw: int(1, limits.maxKernel),
      sh: int(1, limits.maxStride),
      sw: int(1, limits.maxStride),
      dh: int(1, limits.maxDilation),
      dw: int(1, limits.maxDilation),
      pad: fc.tuple(
        int(0, limits.maxPad),
        int(0, limits.maxPad),
        int(0, limits.maxPad),
        int(0, limits.maxPad),
      ),
      extraH: int(0, limits.maxExtent),
      extraW: int(0, limits.maxExtent),
      bias: fc.boolean(),
      seed: fc.integer(),
    })
    .map((r) => {
      const ekh = r.dh * (r.kh - 1) + 1;
      const ekw = r.dw * (r.kw - 1) + 1;
      // the smallest input the padded kernel fits in, plus a random extent
      const h = Math.max(1, ekh - r.pad[0] - r.pad[1]) + r.extraH;
      const w = Math.max(1, ekw - r.pad[2] - r.pad[3]) + r.extraW;
      const cin = r.cinPerGroup * r.groups;
      return {
        xShape: activationShape(layout, r.n, cin, h, w),
        wShape: [r.coutPerGroup * r.groups, r.cinPerGroup, r.kh, r.kw],
        bias: r.bias,
        options: {
          stride: [r.sh, r.sw],
          dilation: [r.dh, r.dw],
          padding: r.pad,
          groups: r.groups,
          layout,
        },
        seed: r.seed,
      } satisfies RandomConv;
    });
}
