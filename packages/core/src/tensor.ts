import { fail } from './errors.js';

export type Layout = 'NCHW' | 'NHWC';

/** A dense float32 tensor in row-major order. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * The largest number of elements any one tensor may have. Int32 indexing stays exact below
 * it, and V8 cannot allocate a Float32Array much larger anyway. Engines may set lower limits
 * through their capabilities.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;

/**
 * Checks that every size of `shape` is a non-negative integer and that the element count is
 * within `MAX_TENSOR_ELEMENTS`; returns that count. The one size rule: `tensor()` and every
 * call's validation use it, so a bad size is never a `RangeError` or a fractional length.
 */
export function checkSizes(argument: string, shape: readonly unknown[]): number {
  shape.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      fail('non-integer-param', `${argument}[${i}]`, d, 'a non-negative integer size');
    }
    if (d > MAX_TENSOR_ELEMENTS)
      fail('too-large', `${argument}[${i}]`, d, `a size <= ${MAX_TENSOR_ELEMENTS}`);
  });
  const size = sizeOf(shape as number[]);
  if (size > MAX_TENSOR_ELEMENTS) {
    fail('too-large', argument, shape, `at most ${MAX_TENSOR_ELEMENTS} elements in total`);
  }
  return size;
}

/** Number of elements of a shape (1 for a scalar shape `[]`). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Builds a tensor; with no data it is zero-filled. Checks the sizes and the data length. */
export function tensor(shape: readonly number[], data?: Float32Array | ArrayLike<number>): Tensor {
  if (!Array.isArray(shape)) fail('invalid-tensor', 'shape', shape, 'an array of sizes');
  const size = checkSizes('shape', shape);
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

/**
 * Transposes each of `count` row-major rows x cols matrices of src into dst (cols x rows),
 * reading src in order.
 */
function transposeEach(
  src: Float32Array,
  dst: Float32Array,
  count: number,
  rows: number,
  cols: number,
): void {
  const size = rows * cols;
  for (let n = 0; n < count; n++) {
    const base = n * size;
    for (let r = 0; r < rows; r++) {
      const from = base + r * cols;
      for (let c = 0; c < cols; c++) dst[base + c * rows + r] = src[from + c];
    }
  }
}

/**
 * Copies `count` NHWC images of `channels` x `height` x `width` from src into dst as NCHW
 * (dst may be any Float32Array of that size: a staging buffer, a shared one, a view).
 */
export function nhwcToNchw(
  src: Float32Array,
  dst: Float32Array,
  count: number,
  channels: number,
  height: number,
  width: number,
): void {
  transposeEach(src, dst, count, height * width, channels);
}

/** The inverse of `nhwcToNchw`: NCHW images from src into dst as NHWC. */
export function nchwToNhwc(
  src: Float32Array,
  dst: Float32Array,
  count: number,
  channels: number,
  height: number,
  width: number,
): void {
  transposeEach(src, dst, count, channels, height * width);
}

/** Converts a 4-D activation tensor between NCHW and NHWC (a copy). */
export function transposeLayout(t: Tensor, from: Layout, to: Layout): Tensor {
  if (from === to) return t;
  const out = new Float32Array(t.data.length);
  if (from === 'NCHW') {
    const [n, c, h, w] = t.shape as [number, number, number, number];
    nchwToNhwc(t.data, out, n, c, h, w);
    return { shape: [n, h, w, c], data: out };
  }
  const [n, h, w, c] = t.shape as [number, number, number, number];
  nhwcToNchw(t.data, out, n, c, h, w);
  return { shape: [n, c, h, w], data: out };
}
