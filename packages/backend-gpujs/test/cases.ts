import type { Conv2dOptions } from '@conv2d/core';

export interface Case {
  name: string;
  x: [number, number, number, number]; // NCHW sizes; NHWC cases permute them
  w: [number, number, number, number];
  bias: boolean;
  options: Conv2dOptions;
}

/** Small cases covering every option core accepts; each runs in both layouts. */
export const CASES: Case[] = [
  {
    name: 'channels in fours: 4 per thread, grouped',
    x: [2, 8, 6, 5],
    w: [8, 4, 3, 3],
    bias: true,
    options: { groups: 2, padding: 1, stride: [2, 1] },
  },
  { name: 'plain 3x3', x: [2, 3, 7, 6], w: [4, 3, 3, 3], bias: true, options: {} },
  {
    name: 'stride 2, pad 1',
    x: [1, 2, 9, 8],
    w: [3, 2, 3, 3],
    bias: true,
    options: { stride: 2, padding: 1 },
  },
  {
    name: 'asymmetric padding, stride [2, 3]',
    x: [2, 2, 8, 9],
    w: [2, 2, 3, 2],
    bias: false,
    options: { stride: [2, 3], padding: [1, 0, 2, 1] },
  },
  {
    name: 'dilation [2, 3], pad same',
    x: [1, 3, 9, 10],
    w: [2, 3, 3, 3],
    bias: true,
    options: { dilation: [2, 3], padding: 'same' },
  },
  {
    name: 'groups 2',
    x: [2, 4, 6, 6],
    w: [6, 2, 3, 3],
    bias: true,
    options: { groups: 2, padding: 1 },
  },
  {
    name: 'depthwise stride 2',
    x: [1, 5, 7, 7],
    w: [5, 1, 3, 3],
    bias: false,
    options: { groups: 5, stride: 2, padding: 1 },
  },
  {
    name: 'depthwise multiplier 2, dilation 2',
    x: [1, 3, 8, 8],
    w: [6, 1, 3, 3],
    bias: true,
    options: { groups: 3, dilation: 2, padding: [2, 1, 0, 2] },
  },
  { name: '1x1 stride 2', x: [2, 6, 5, 5], w: [4, 6, 1, 1], bias: false, options: { stride: 2 } },
  {
    name: 'stride larger than kernel',
    x: [1, 2, 9, 9],
    w: [2, 2, 2, 2],
    bias: true,
    options: { stride: 3 },
  },
  { name: 'kernel as large as input', x: [2, 2, 4, 5], w: [3, 2, 4, 5], bias: true, options: {} },
  {
    name: 'valid 5x5 stride 2 (floor drops rows)',
    x: [1, 2, 10, 11],
    w: [2, 2, 5, 5],
    bias: true,
    options: { stride: 2 },
  },
];
