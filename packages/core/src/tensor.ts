import { fail } from './errors.js';

export type Layout = 'NCHW' | 'NHWC';

/** A dense float32 tensor in row-major order. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Number of elements of a shape (1 for a scalar shape `[]`). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Builds a tensor; with no data it is zero-filled. Checks the data length. */
export function tensor(shape: readonly number[], data?: Float32Array | ArrayLike<number>): Tensor {
  const size = sizeOf(shape);
  const buffer =
    data === undefined
      ? new Float32Array(size)
      : data instanceof Float32Array
        ? data
        : Float32Array.from(data);
  if (buffer.length !== size) {
    fail(
      'data-length',
      'data.length',
      buffer.length,
      `${size} (the product of shape ${JSON.stringify(shape)})`,
    );
  }
  return { shape: [...shape], data: buffer };
}

/** Converts a 4-D activation tensor between NCHW and NHWC (a copy). */
export function transposeLayout(t: Tensor, from: Layout, to: Layout): Tensor {
  if (from === to) return t;
  const [a, b, c, d] = t.shape as [number, number, number, number];
  const out = new Float32Array(t.data.length);
  if (from === 'NCHW') {
    // [N, C, H, W] -> [N, H, W, C]
    const [n, ch, h, w] = [a, b, c, d];
    for (let i = 0; i < n; i++)
      for (let k = 0; k < ch; k++)
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++)
            out[((i * h + y) * w + x) * ch + k] = t.data[((i * ch + k) * h + y) * w + x];
    return { shape: [n, h, w, ch], data: out };
  }
  // [N, H, W, C] -> [N, C, H, W]
  const [n, h, w, ch] = [a, b, c, d];
  for (let i = 0; i < n; i++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < ch; k++)
          out[((i * ch + k) * h + y) * w + x] = t.data[((i * h + y) * w + x) * ch + k];
  return { shape: [n, ch, h, w], data: out };
}
