import type { Tensor } from '@conv2d/core';
import { type Layer, layerShapes } from './layers.js';

/** Which tensor a value belongs to: each gets its own stream. */
export type TensorName = 'x' | 'w' | 'b' | 'dy';
const STREAM: Record<TensorName, number> = { x: 1, w: 2, b: 3, dy: 4 };

/**
 * Value `i` of a tensor, uniform in [-1, 1) and float32-exact, computed from the index alone
 * (a 32-bit integer hash). Every process (the children that time, the parent that checks a
 * slice) can build any part of a tensor without building, or sending, the whole of it.
 */
export function valueAt(name: TensorName, i: number): number {
  let h = Math.imul(i ^ (STREAM[name] * 0x27d4eb2d), 0x9e3779b1) ^ (i >>> 16);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  // 24 bits: exactly representable in float32
  return (h >>> 8) / 0x800000 - 1;
}

export function fill(name: TensorName, shape: readonly number[]): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = valueAt(name, i);
  return { shape: [...shape], data };
}

/** x, w, b and dy of a layer (NCHW, OIHW), as every engine receives them. */
export function layerTensors(l: Layer, yShape: readonly number[]): Record<TensorName, Tensor> {
  const s = layerShapes(l);
  return { x: fill('x', s.x), w: fill('w', s.w), b: fill('b', s.b), dy: fill('dy', yShape) };
}

/** A half-open range [start, end) of one axis. */
export type Range = readonly [number, number];

/**
 * The block `n` x `c` of the first two axes of a 4-D tensor (NCHW activations or OIHW
 * weights), the last two axes whole, read from a full array.
 */
export function block4(
  data: ArrayLike<number>,
  shape: readonly number[],
  n: Range,
  c: Range,
): Float32Array {
  return blockOf(shape, n, c, (i) => data[i]);
}

/** The same block, generated directly from the value stream (no full tensor). */
export function generateBlock4(
  name: TensorName,
  shape: readonly number[],
  n: Range,
  c: Range,
): Tensor {
  const [, , h, w] = shape as [number, number, number, number];
  return {
    shape: [n[1] - n[0], c[1] - c[0], h, w],
    data: blockOf(shape, n, c, (i) => valueAt(name, i)),
  };
}

function blockOf(
  shape: readonly number[],
  [n0, n1]: Range,
  [c0, c1]: Range,
  at: (i: number) => number,
): Float32Array {
  const [, cs, h, w] = shape as [number, number, number, number];
  const plane = h * w;
  const out = new Float32Array((n1 - n0) * (c1 - c0) * plane);
  let to = 0;
  for (let i = n0; i < n1; i++) {
    for (let k = c0; k < c1; k++) {
      const from = (i * cs + k) * plane;
      for (let p = 0; p < plane; p++) out[to++] = at(from + p);
    }
  }
  return out;
}
