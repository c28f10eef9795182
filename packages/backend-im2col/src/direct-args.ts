import type { ConvDescription } from '@conv2d/core';

/**
 * The arguments of the direct path's passes over image n, groups [g0, g1) (direct.ts), shared
 * by their Wasm SIMD versions (depthwise-simd.ts) so the two cannot drift apart.
 */
export type ForwardArgs = [
  d: ConvDescription,
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  y: Float32Array,
  n: number,
  g0: number,
  g1: number,
];

export type InputGradArgs = [
  d: ConvDescription,
  dy: Float32Array,
  w: Float32Array,
  dx: Float32Array,
  n: number,
  g0: number,
  g1: number,
];

/**
 * acc: dW accumulators laid out like w, from accBase. db (float64, one per output channel from
 * dbBase), when given: the bias gradient, summed from the same dY planes.
 */
export type WeightGradArgs = [
  d: ConvDescription,
  dy: Float32Array,
  x: Float32Array,
  acc: Float32Array,
  accBase: number,
  n: number,
  g0: number,
  g1: number,
  db: Float64Array | null,
  dbBase: number,
];
