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

/** One spatial axis of an extreme convolution: sizes and the parameters of `extremeConv`. */
interface ExtremeAxis {
  size: number;
  kernel: number;
  stride: number;
  dilation: number;
  padBefore: number;
  padAfter: number;
}

/** Values past float32's 2^24 and int32's 2^31, up to 2^53-1: landmarks and random ones. */
const hugeValue = fc.oneof(
  fc.constantFrom(2 ** 24 + 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, 2 ** 40, 2 ** 52 + 1),
  fc.constant(Number.MAX_SAFE_INTEGER),
  fc.maxSafeNat().map((v) => 2 ** 31 + (v % (Number.MAX_SAFE_INTEGER - 2 ** 31))),
);

/** Most outputs a generated extreme axis may have: the output stays small. */
const MAX_EXTREME_OUT = 6;

/**
 * An axis with a huge stride and/or dilation (up to 2^53-1) and paddings chosen so that
 * output `anchorOut`, tap `anchorTap` reads input row `anchorRow` (inside the input or, for
 * bias-only outputs, just outside it) while the output keeps 1 to 6 positions; null when the
 * draw gives more outputs or a padded extent past 2^53-1.
 */
const extremeAxis = fc
  .record({
    size: fc.integer({ min: 1, max: 5 }),
    kernel: fc.integer({ min: 1, max: 3 }),
    stride: fc.oneof(fc.integer({ min: 1, max: 3 }), hugeValue),
    dilation: fc.oneof(fc.integer({ min: 1, max: 3 }), hugeValue),
    out: fc.integer({ min: 1, max: 3 }),
    anchorOut: fc.nat(2),
    anchorTap: fc.nat(2),
    anchorRow: fc.integer({ min: -3, max: 7 }),
    slack: fc.nat(3),
  })
  .map((r): ExtremeAxis | null => {
    const { size, kernel, stride, dilation } = r;
    const i = Math.min(r.anchorOut, r.out - 1);
    const m = Math.min(r.anchorTap, kernel - 1);
    const padBefore = Math.max(0, i * stride + m * dilation - r.anchorRow);
    const span = (kernel - 1) * dilation + 1;
    const needed = (r.out - 1) * stride + span - size - padBefore;
    const padAfter = Math.max(0, needed) + Math.min(r.slack, stride - 1);
    const padded = size + padBefore + padAfter;
    if (!(padded <= Number.MAX_SAFE_INTEGER) || span > padded) return null;
    const out = Math.floor((padded - span) / stride) + 1;
    return out <= MAX_EXTREME_OUT ? { size, kernel, stride, dilation, padBefore, padAfter } : null;
  })
  .filter((a): a is ExtremeAxis => a !== null);

/**
 * fast-check arbitrary of valid convolutions with extreme but valid parameters: strides,
 * dilations and paddings up to 2^53-1 (Number.MAX_SAFE_INTEGER) on tiny tensors whose output
 * stays small, many outputs reading only padding (bias only). Engines whose index arithmetic
 * is 32-bit or float32 must still compute every one of them exactly like the oracle.
 */
export function extremeConv(layout: Layout): fc.Arbitrary<RandomConv> {
  const int = (min: number, max: number) => fc.integer({ min, max });
  return fc
    .record({
      n: int(1, 2),
      groups: int(1, 2),
      cinPerGroup: int(1, 3),
      coutPerGroup: int(1, 3),
      height: extremeAxis,
      width: extremeAxis,
      bias: fc.boolean(),
      seed: fc.integer(),
    })
    .map((r) => {
      const { height: h, width: w } = r;
      return {
        xShape: activationShape(layout, r.n, r.cinPerGroup * r.groups, h.size, w.size),
        wShape: [r.coutPerGroup * r.groups, r.cinPerGroup, h.kernel, w.kernel],
        bias: r.bias,
        options: {
          stride: [h.stride, w.stride],
          dilation: [h.dilation, w.dilation],
          padding: [h.padBefore, h.padAfter, w.padBefore, w.padAfter],
          groups: r.groups,
          layout,
        },
        seed: r.seed,
      } satisfies RandomConv;
    });
}
