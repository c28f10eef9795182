import { type Conv2dOptions, describeConv } from '@conv2d/core';
import { depthwisePlanes } from '@conv2d/gemm';
import { describe, expect, it } from 'vitest';
import { simdForward, simdInputGrad, simdWeightGrad } from '../src/depthwise-simd.js';
import {
  directForwardScalar,
  directInputGradScalar,
  directWeightGradScalar,
} from '../src/direct.js';
import { random, reference } from './reference.js';

interface Shape {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  options: Conv2dOptions;
}

const shapes: Shape[] = [];
for (const width of [1, 2, 3, 4, 5, 6, 7, 8, 9])
  for (const height of [1, 2, 5])
    for (const pad of [0, 1, 2])
      for (const multiplier of [1, 2]) {
        if (pad === 0 && (width < 3 || height < 3)) continue; // no output
        shapes.push({
          name: `3x3 ${height}x${width} pad ${pad} x${multiplier}`,
          x: [2, 3, height, width],
          w: [3 * multiplier, 1, 3, 3],
          options: { padding: pad, groups: 3 },
        });
      }
shapes.push(
  { name: '5x5 7x10 pad 2', x: [1, 2, 7, 10], w: [2, 1, 5, 5], options: { padding: 2, groups: 2 } },
  {
    name: '3x3 dilation 2, 9x11, pad [2, 0, 1, 3]',
    x: [1, 2, 9, 11],
    w: [4, 1, 3, 3],
    options: { padding: [2, 0, 1, 3], dilation: 2, groups: 2 },
  },
  {
    name: 'thin groups: 2 in x 2 out, 1x3, 6x7 pad 1',
    x: [1, 4, 6, 7],
    w: [4, 2, 1, 3],
    options: { padding: 1, groups: 2 },
  },
  {
    name: '3x3 pad 3 (wider than the kernel)',
    x: [1, 1, 4, 5],
    w: [1, 1, 3, 3],
    options: { padding: 3, groups: 1 },
  },
);

/** Float32 rounding of sums of `terms` products of magnitude < 1, with room for reordering. */
const bound = (terms: number): number => terms * 2 ** -21;

function worst(got: Float32Array, want: Float32Array): number {
  let e = 0;
  for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i] - want[i]));
  return got.length === want.length ? e : Number.POSITIVE_INFINITY;
}

describe('direct path on Wasm SIMD planes (stride 1) against the scalar loops and float64', () => {
  it('has Wasm SIMD here, so the cases below run the SIMD path', () => {
    expect(depthwisePlanes()).not.toBeNull();
  });

  it.each(shapes.map((s) => [s.name, s] as const))('%s', (_, s) => {
    const d = describeConv(s.x, s.w, [s.w[0]], s.options);
    const x = random(d.xSize, 11);
    const w = random(d.wSize, 12);
    const b = random(d.outChannels, 13);
    const dy = random(d.ySize, 14);
    const want = reference(
      { shape: s.x, data: x },
      { shape: s.w, data: w },
      { shape: [s.w[0]], data: b },
      { shape: d.yShape, data: dy },
      s.options,
    );
    const K = d.kernelHeight * d.kernelWidth * d.inChannelsPerGroup;
    const positions = d.outHeight * d.outWidth * d.batch;
    const y = new Float32Array(d.ySize).fill(Number.NaN);
    const yScalar = new Float32Array(d.ySize);
    const dx = new Float32Array(d.xSize).fill(Number.NaN); // written, not added to
    const dxScalar = new Float32Array(d.xSize);
    const dw = new Float32Array(d.wSize * 2).fill(0.25); // added onto, at an offset
    const dwScalar = new Float32Array(d.wSize * 2).fill(0.25);
    // db summed with dW, at an offset too
    const C = d.outChannels;
    const db = new Float64Array(C + 1);
    const dbScalar = new Float64Array(C + 1);
    for (let n = 0; n < d.batch; n++) {
      expect(simdForward(d, x, w, b, y, n, 0, d.groups)).toBe(true);
      expect(simdInputGrad(d, dy, w, dx, n, 0, d.groups)).toBe(true);
      expect(simdWeightGrad(d, dy, x, dw, d.wSize, n, 0, d.groups, db, 1)).toBe(true);
      directForwardScalar(d, x, w, b, yScalar, n, 0, d.groups);
      directInputGradScalar(d, dy, w, dxScalar, n, 0, d.groups);
      directWeightGradScalar(d, dy, x, dwScalar, d.wSize, n, 0, d.groups, dbScalar, 1);
    }
    expect(worst(y, want.y)).toBeLessThanOrEqual(bound(K + 1));
    expect(worst(y, yScalar)).toBeLessThanOrEqual(bound(K + 1));
    expect(worst(dx, want.dx)).toBeLessThanOrEqual(bound(K * d.outChannelsPerGroup));
    expect(worst(dx, dxScalar)).toBeLessThanOrEqual(bound(K * d.outChannelsPerGroup));
    expect(dw.subarray(0, d.wSize).every((v) => v === 0.25)).toBe(true);
    const dwWant = want.dw.map((v) => v + 0.25);
    expect(worst(dw.subarray(d.wSize), dwWant)).toBeLessThanOrEqual(bound(positions + 1));
    expect(worst(dw.subarray(d.wSize), dwScalar.subarray(d.wSize))).toBeLessThanOrEqual(
      bound(positions + 1),
    );
    expect(db[0]).toBe(0);
    // float64 sums of the same float32 values, in another order: equal to float64 rounding
    const HWo = d.outHeight * d.outWidth;
    for (let co = 0; co < C; co++) {
      let sum = 0;
      for (let n = 0; n < d.batch; n++)
        for (let p = 0; p < HWo; p++) sum += dy[(n * C + co) * HWo + p];
      expect(Math.abs(db[1 + co] - sum)).toBeLessThanOrEqual(1e-12 * positions);
      expect(Math.abs(dbScalar[1 + co] - sum)).toBeLessThanOrEqual(1e-12 * positions);
    }
  });

  it('leaves planes too large to stage (over 64 MiB a group) to the scalar loops', () => {
    const d = describeConv([1, 1, 3000, 3000], [1, 1, 3, 3], null, { padding: 1 });
    const none = new Float32Array(0);
    expect(simdForward(d, none, none, null, none, 0, 0, 1)).toBe(false);
    const fits = describeConv([1, 2, 1000, 1000], [2, 1, 3, 3], null, { padding: 1, groups: 2 });
    const x = new Float32Array(fits.xSize).fill(1);
    const y = new Float32Array(fits.ySize);
    expect(simdForward(fits, x, new Float32Array(18).fill(1), null, y, 0, 0, 2)).toBe(true);
    expect(y[1001]).toBe(9);
  });

  it('leaves strided convolutions to the scalar loops', () => {
    const d = describeConv([1, 2, 6, 6], [2, 1, 3, 3], null, { stride: [1, 2], groups: 2 });
    const y = new Float32Array(d.ySize);
    expect(
      simdForward(d, new Float32Array(d.xSize), new Float32Array(9 * 2), null, y, 0, 0, 2),
    ).toBe(false);
  });
});
