import { describe, expect, it } from 'vitest';
import { nchwToNhwc, nhwcToNchw, transposeLayout } from '../src/index.js';

describe('layout transposes', () => {
  // 2 images, 3 channels, 2 x 4: element value = its NCHW index
  const [n, c, h, w] = [2, 3, 2, 4];
  const nchw = Float32Array.from({ length: n * c * h * w }, (_, i) => i);

  it('puts NCHW element (i, k, y, x) at NHWC (i, y, x, k) and back', () => {
    const t = transposeLayout({ shape: [n, c, h, w], data: nchw }, 'NCHW', 'NHWC');
    expect(t.shape).toEqual([n, h, w, c]);
    // (1, 2, 1, 3): NCHW index ((1*3 + 2)*2 + 1)*4 + 3 = 47, NHWC index ((1*2 + 1)*4 + 3)*3 + 2 = 47
    expect(t.data[((1 * h + 1) * w + 3) * c + 2]).toBe(((1 * c + 2) * h + 1) * w + 3);
    expect(t.data[((0 * h + 1) * w + 0) * c + 1]).toBe(((0 * c + 1) * h + 1) * w + 0);
    const back = transposeLayout(t, 'NHWC', 'NCHW');
    expect(back.shape).toEqual([n, c, h, w]);
    expect(Array.from(back.data)).toEqual(Array.from(nchw));
  });

  it('writes into a caller buffer (a shared one too) the same as the allocating form', () => {
    const dst = new Float32Array(new SharedArrayBuffer(nchw.length * 4));
    nchwToNhwc(nchw, dst, n, c, h, w);
    expect(Array.from(dst)).toEqual(
      Array.from(transposeLayout({ shape: [n, c, h, w], data: nchw }, 'NCHW', 'NHWC').data),
    );
    const round = new Float32Array(nchw.length);
    nhwcToNchw(dst, round, n, c, h, w);
    expect(Array.from(round)).toEqual(Array.from(nchw));
  });

  it('returns the tensor itself when the layouts agree', () => {
    const t = { shape: [n, c, h, w], data: nchw };
    expect(transposeLayout(t, 'NCHW', 'NCHW')).toBe(t);
  });
});
