import { Conv2dError, tensor, transposeLayout } from '@conv2d/core';
import { describe, expect, it } from 'vitest';
import { createNaiveBackend } from '../src/index.js';

const naive = createNaiveBackend();
const x3 = tensor([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
const ones2 = tensor([1, 1, 2, 2], [1, 1, 1, 1]);

describe('naive backend, checked by hand', () => {
  it('sums each 2x2 window', async () => {
    const y = await naive.forward(x3, ones2, tensor([1], [0.5]));
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect([...y.data]).toEqual([12.5, 16.5, 24.5, 28.5]);
  });

  it('pads with zeros and strides', async () => {
    const y = await naive.forward(x3, ones2, null, { padding: 1, stride: 2 });
    // windows at rows/cols -1 and 1 of the input: [1], [2+3], [4+7], [5+6+8+9]
    expect([...y.data]).toEqual([1, 5, 11, 28]);
  });

  it('dilates the kernel', async () => {
    const y = await naive.forward(x3, ones2, null, { dilation: 2 });
    expect([...y.data]).toEqual([1 + 3 + 7 + 9]);
  });

  it('counts window coverage in dX and sums in dW and db', async () => {
    const dy = tensor([1, 1, 2, 2], [1, 1, 1, 1]);
    const { dx, dw, db } = await naive.backward(dy, x3, ones2);
    expect([...(dx?.data ?? [])]).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1]);
    expect([...(dw?.data ?? [])]).toEqual([12, 16, 24, 28]);
    expect([...(db?.data ?? [])]).toEqual([4]);
  });

  it('keeps groups apart', async () => {
    const x = tensor([1, 2, 1, 1], [2, 3]);
    const w = tensor([2, 1, 1, 1], [10, 100]);
    const y = await naive.forward(x, w, null, { groups: 2 });
    expect([...y.data]).toEqual([20, 300]);
  });

  it('gives the same numbers in NHWC as in NCHW', async () => {
    const x = tensor(
      [2, 3, 4, 5],
      Array.from({ length: 120 }, (_, i) => Math.sin(i)),
    );
    const w = tensor(
      [4, 3, 3, 2],
      Array.from({ length: 72 }, (_, i) => Math.cos(i)),
    );
    const opts = {
      stride: [2, 1] as [number, number],
      padding: [1, 0, 2, 1] as [number, number, number, number],
    };
    const nchw = await naive.forward(x, w, null, opts);
    const nhwc = await naive.forward(transposeLayout(x, 'NCHW', 'NHWC'), w, null, {
      ...opts,
      layout: 'NHWC',
    });
    expect(transposeLayout(nhwc, 'NHWC', 'NCHW')).toEqual(nchw);
  });

  it('rejects invalid input with a typed error', async () => {
    await expect(naive.forward(x3, tensor([1, 2, 2, 2]), null)).rejects.toBeInstanceOf(Conv2dError);
    await expect(naive.forward(x3, ones2, null, { stride: 0 })).rejects.toMatchObject({
      code: 'non-positive-stride',
    });
  });
});
