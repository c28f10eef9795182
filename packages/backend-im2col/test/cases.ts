import type { ConvInputs as RunnerInputs } from '@conv2d/conformance/runner';
import {
  type Conv2dOptions,
  type ConvDescription,
  describeConv,
  type Layout,
  type Tensor,
  transposeLayout,
} from '@conv2d/core';
import { random } from './reference.js';

export interface Case {
  name: string;
  /** [N, Cin, H, W] (transposed to NHWC by the test when the layout says so). */
  x: [number, number, number, number];
  w: [number, number, number, number];
  bias: boolean;
  options: Conv2dOptions;
}

/** Small shapes covering every option, plus a few large enough to go to the worker pool. */
export const cases: Case[] = [
  { name: 'basic 3x3', x: [2, 3, 7, 6], w: [4, 3, 3, 3], bias: true, options: {} },
  { name: 'pad 1', x: [1, 4, 5, 5], w: [5, 4, 3, 3], bias: true, options: { padding: 1 } },
  {
    name: 'stride 2, asymmetric padding, floor drops',
    x: [2, 3, 10, 9],
    w: [4, 3, 3, 2],
    bias: false,
    options: { stride: [2, 3], padding: [1, 0, 2, 1] },
  },
  {
    name: 'dilation 2 with padding',
    x: [1, 2, 9, 11],
    w: [3, 2, 3, 3],
    bias: true,
    options: { dilation: [2, 3], padding: [2, 1, 3, 0], stride: [1, 2] },
  },
  {
    name: 'groups 2',
    x: [2, 6, 6, 5],
    w: [4, 3, 3, 3],
    bias: true,
    options: { groups: 2, padding: 1 },
  },
  {
    name: 'depthwise',
    x: [2, 4, 8, 7],
    w: [4, 1, 3, 3],
    bias: true,
    options: { groups: 4, padding: 1, stride: 2 },
  },
  {
    name: 'depthwise multiplier 2, dilation',
    x: [1, 3, 9, 9],
    w: [6, 1, 3, 3],
    bias: false,
    options: { groups: 3, dilation: 2, padding: [2, 2, 1, 1] },
  },
  // The 3x3 direct planes: sliding window (stride 1, dilation 1), strided and dilated taps,
  // images with no interior, thin groups with several channels per group.
  {
    name: 'depthwise 3x3 asymmetric padding',
    x: [1, 3, 9, 11],
    w: [3, 1, 3, 3],
    bias: true,
    options: { groups: 3, padding: [0, 2, 2, 1] },
  },
  {
    name: 'depthwise 3x3 stride and dilation per axis',
    x: [2, 2, 13, 12],
    w: [2, 1, 3, 3],
    bias: false,
    options: { groups: 2, stride: [1, 2], dilation: [2, 1], padding: [1, 3, 2, 0] },
  },
  {
    name: 'depthwise 3x3 on a 2x2 image',
    x: [1, 2, 2, 2],
    w: [4, 1, 3, 3],
    bias: true,
    options: { groups: 2, padding: 1 },
  },
  {
    name: 'thin groups 3x3',
    x: [1, 8, 7, 6],
    w: [8, 2, 3, 3],
    bias: true,
    options: { groups: 4, padding: [1, 1, 0, 2], dilation: [1, 2] },
  },
  { name: 'pointwise', x: [2, 8, 5, 4], w: [6, 8, 1, 1], bias: true, options: {} },
  {
    name: 'pointwise groups',
    x: [1, 8, 4, 4],
    w: [4, 2, 1, 1],
    bias: false,
    options: { groups: 4 },
  },
  { name: '1x1 stride 2', x: [1, 4, 7, 7], w: [3, 4, 1, 1], bias: true, options: { stride: 2 } },
  {
    name: 'padding larger than the kernel',
    x: [1, 2, 4, 5],
    w: [3, 2, 1, 2],
    bias: true,
    options: { padding: [2, 1, 0, 3] },
  },
  {
    name: 'kernel as large as the input',
    x: [2, 3, 5, 4],
    w: [2, 3, 5, 4],
    bias: true,
    options: {},
  },
  {
    name: '7x7 stride 2',
    x: [1, 3, 20, 18],
    w: [8, 3, 7, 7],
    bias: true,
    options: { stride: 2, padding: 3 },
  },
  // Large enough (>= 4 MFLOP) to run on the worker pool in the 2-thread configurations
  // (which lower minThreadedFlops to 4e6, below the default, to keep these cases small).
  {
    name: 'threaded 3x3',
    x: [2, 16, 24, 20],
    w: [24, 16, 3, 3],
    bias: true,
    options: { padding: 1 },
  },
  {
    name: 'threaded stride 2 groups',
    x: [6, 16, 30, 28],
    w: [32, 8, 3, 3],
    bias: false,
    options: { stride: 2, padding: [1, 0, 1, 0], groups: 2 },
  },
  {
    name: 'threaded single image',
    x: [1, 32, 40, 36],
    w: [32, 32, 3, 3],
    bias: true,
    options: { padding: 1 },
  },
  {
    name: 'threaded depthwise',
    x: [2, 64, 64, 64],
    w: [64, 1, 3, 3],
    bias: true,
    options: { groups: 64, padding: 1 },
  },
  { name: 'threaded pointwise', x: [2, 64, 24, 24], w: [48, 64, 1, 1], bias: true, options: {} },
  {
    // 49 output positions: with 2 threads the 256 output channels are split too (plan.ts)
    name: 'threaded few positions, many channels',
    x: [1, 256, 14, 14],
    w: [256, 256, 1, 1],
    bias: true,
    options: { stride: 2 },
  },
];

/** The conformance runner's inputs of one convolution, with its description. */
export interface ConvInputs extends RunnerInputs {
  d: ConvDescription;
}

/** Seeded random x (in `layout`), w, b (when `bias`, default true) and dy for a convolution. */
export function convInputs(
  c: { x: readonly number[]; w: readonly number[]; bias?: boolean; options: Conv2dOptions },
  layout: Layout,
  seed: number,
): ConvInputs {
  const size = (s: readonly number[]) => s.reduce((a, v) => a * v, 1);
  const options = { ...c.options, layout };
  const xN: Tensor = { shape: [...c.x], data: random(size(c.x), seed) };
  const x = layout === 'NCHW' ? xN : transposeLayout(xN, 'NCHW', 'NHWC');
  const w: Tensor = { shape: [...c.w], data: random(size(c.w), seed + 1) };
  const b = (c.bias ?? true) ? { shape: [c.w[0]], data: random(c.w[0], seed + 2) } : null;
  const d = describeConv(x.shape, w.shape, b?.shape, options);
  const dy: Tensor = { shape: [...d.yShape], data: random(d.ySize, seed + 3) };
  return { x, w, b, dy, options, d };
}
