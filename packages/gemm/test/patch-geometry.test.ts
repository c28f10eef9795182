import { describe, expect, it } from 'vitest';
import { MAX_PATCH_GEOMETRY, wasmIm2col, wasmResident } from '../src/index.js';

// The patches kernel indexes in i32: a stride of 2^31 wrapped to a wrong tile, 2^40 to a
// division by zero (issue 12). Direct callers get a RangeError instead.
describe('wasmIm2col geometry range', () => {
  const geometry = (stride: number) => ({
    inHeight: 3,
    inWidth: 3,
    outWidth: 1,
    kernelHeight: 1,
    kernelWidth: 1,
    strideHeight: stride,
    strideWidth: stride,
    dilationHeight: 1,
    dilationWidth: 1,
    padTop: 0,
    padLeft: 0,
  });

  it('computes with strides up to MAX_PATCH_GEOMETRY, other fields of the argument ignored', () => {
    const view = wasmResident(16);
    view.set([7, 1, 2, 3, 4, 5, 6, 8, 9], 0);
    view[12] = Number.NaN;
    // Convolution code passes its whole description, layout and all.
    const description = { ...geometry(MAX_PATCH_GEOMETRY), layout: 'NCHW', outHeight: 1 };
    wasmIm2col(description, 0, 1, 0, 1, 0, 1, 12, 1);
    expect(wasmResident(16)[12]).toBe(7);
  });

  it.each([2 ** 31, 2 ** 40, 1.5, -1])('rejects stride %d with a RangeError naming it', (s) => {
    wasmResident(16);
    expect(() => wasmIm2col(geometry(s), 0, 1, 0, 1, 0, 1, 12, 1)).toThrow(
      /strideHeight must be an integer in \[0, 1073741824\]/,
    );
  });
});
