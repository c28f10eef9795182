import { describe, expect, it } from 'vitest';
import { depthwisePlanes, type PlaneCorrelation } from '../src/index.js';
import { rng } from './helpers.js';

const planes = depthwisePlanes();

function random(n: number, next: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => next() * 2 - 1);
}

/** Input (zero outside the plane) at (r, s) of plane i. */
function at(c: PlaneCorrelation, x: Float32Array, i: number, r: number, s: number): number {
  if (r < 0 || r >= c.inHeight || s < 0 || s >= c.inWidth) return 0;
  return x[(i * c.inHeight + r) * c.inWidth + s];
}

/** Float64 reference of `correlate`. */
function correlateRef(
  c: PlaneCorrelation,
  ins: number,
  outs: number,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
): Float64Array {
  const { outHeight: Ho, outWidth: Wo, kernelHeight: Kh, kernelWidth: Kw } = c;
  const y = new Float64Array(outs * Ho * Wo);
  for (let o = 0; o < outs; o++)
    for (let r = 0; r < Ho; r++)
      for (let s = 0; s < Wo; s++) {
        let sum = bias ? bias[o] : 0;
        for (let i = 0; i < ins; i++)
          for (let m = 0; m < Kh; m++)
            for (let q = 0; q < Kw; q++) {
              const v = at(
                c,
                x,
                i,
                r + m * c.dilationHeight - c.padTop,
                s + q * c.dilationWidth - c.padLeft,
              );
              sum += w[((o * ins + i) * Kh + m) * Kw + q] * v;
            }
        y[(o * Ho + r) * Wo + s] = sum;
      }
  return y;
}

/** Float64 reference of `tapSums` (onto a zero accumulator). */
function tapSumsRef(
  c: PlaneCorrelation,
  ins: number,
  outs: number,
  x: Float32Array,
  dy: Float32Array,
): Float64Array {
  const { outHeight: Ho, outWidth: Wo, kernelHeight: Kh, kernelWidth: Kw } = c;
  const acc = new Float64Array(outs * ins * Kh * Kw);
  for (let o = 0; o < outs; o++)
    for (let i = 0; i < ins; i++)
      for (let m = 0; m < Kh; m++)
        for (let q = 0; q < Kw; q++) {
          let sum = 0;
          for (let r = 0; r < Ho; r++)
            for (let s = 0; s < Wo; s++) {
              const v = at(
                c,
                x,
                i,
                r + m * c.dilationHeight - c.padTop,
                s + q * c.dilationWidth - c.padLeft,
              );
              sum += dy[(o * Ho + r) * Wo + s] * v;
            }
          acc[((o * ins + i) * Kh + m) * Kw + q] = sum;
        }
  return acc;
}

/** |got - want| within float32 rounding of a sum of `terms` products of magnitude <= 1. */
function expectClose(got: ArrayLike<number>, want: Float64Array, terms: number): void {
  expect(got.length).toBe(want.length);
  const bound = 4 * terms * 2 ** -24 + 1e-7;
  for (let k = 0; k < want.length; k++) {
    if (Math.abs(got[k] - want[k]) > bound) {
      throw new Error(`element ${k}: got ${got[k]}, want ${want[k]} (bound ${bound})`);
    }
  }
}

function geometry(
  H: number,
  W: number,
  K: number,
  pad: number,
  dilation: number,
  Kw = K,
): PlaneCorrelation {
  return {
    inHeight: H,
    inWidth: W,
    outHeight: H + 2 * pad - (K - 1) * dilation,
    outWidth: W + 2 * pad - (Kw - 1) * dilation,
    kernelHeight: K,
    kernelWidth: Kw,
    dilationHeight: dilation,
    dilationWidth: dilation,
    padTop: pad,
    padLeft: pad,
  };
}

const shapes: [string, PlaneCorrelation][] = [];
for (const W of [1, 2, 3, 4, 5, 6, 7, 8, 9])
  for (const pad of [0, 1, 2])
    for (const H of [1, 3, 6]) {
      const c = geometry(H, W, 3, pad, 1);
      if (c.outHeight > 0 && c.outWidth > 0) shapes.push([`3x3 ${H}x${W} pad ${pad}`, c]);
    }
shapes.push(['5x5 7x11 pad 2', geometry(7, 11, 5, 2, 1)]);
shapes.push(['1x3 5x6 pad 1', geometry(5, 6, 1, 1, 1, 3)]);
shapes.push(['3x3 dilation 2, 9x10 pad 1', geometry(9, 10, 3, 1, 2)]);
shapes.push([
  '3x3 crop (negative pad), 8x9',
  { ...geometry(8, 9, 3, 0, 1), padTop: -1, padLeft: -2, outHeight: 4, outWidth: 3 },
]);
shapes.push([
  '2x4 asymmetric 6x7',
  { ...geometry(6, 7, 2, 0, 1, 4), padTop: 1, padLeft: 3, outHeight: 6, outWidth: 9 },
]);

describe.runIf(planes !== null)('depthwisePlanes (Wasm SIMD)', () => {
  const kernel = planes as NonNullable<typeof planes>;
  it.each(shapes)('correlate %s against a float64 reference, 1-2 ins x 1-2 outs', (_, c) => {
    const next = rng(c.inHeight * 131 + c.inWidth * 7 + c.padTop);
    const HW = c.inHeight * c.inWidth;
    const KK = c.kernelHeight * c.kernelWidth;
    for (const [ins, outs] of [
      [1, 1],
      [1, 2],
      [2, 2],
    ]) {
      const x = random(ins * HW + 3, next);
      const w = random(outs * ins * KK + 1, next);
      const bias = random(outs + 2, next);
      const y = new Float32Array(outs * c.outHeight * c.outWidth + 5).fill(Number.NaN);
      kernel.correlate(c, ins, outs, x, 3, w, 1, bias, 2, y, 5);
      const want = correlateRef(c, ins, outs, x.subarray(3), w.subarray(1), bias.subarray(2));
      expect(Number.isNaN(y[4])).toBe(true); // nothing written before yAt
      expectClose(y.subarray(5), want, ins * KK + 1);
    }
  });

  it.each(shapes)('tapSums %s against a float64 reference, added onto acc', (_, c) => {
    const next = rng(c.inHeight * 17 + c.inWidth * 5 + c.padLeft);
    const HW = c.inHeight * c.inWidth;
    const KK = c.kernelHeight * c.kernelWidth;
    const P = c.outHeight * c.outWidth;
    for (const [ins, outs] of [
      [1, 1],
      [1, 2],
      [2, 2],
    ]) {
      const x = random(ins * HW, next);
      const dy = random(outs * P + 2, next);
      const acc = new Float32Array(outs * ins * KK + 1).fill(0.5);
      kernel.tapSums(c, ins, outs, x, 0, dy, 2, acc, 1);
      const want = tapSumsRef(c, ins, outs, x, dy.subarray(2)).map((v) => v + 0.5);
      expect(acc[0]).toBe(0.5);
      expectClose(acc.subarray(1), want, P + 1);
    }
  });

  it.each(shapes)('tapSums %s adds the bias gradient, dY planes summed in float64', (_, c) => {
    const next = rng(c.inHeight * 3 + c.inWidth * 7 + c.padTop);
    const P = c.outHeight * c.outWidth;
    const KK = c.kernelHeight * c.kernelWidth;
    const [ins, outs] = [1, 3];
    const x = random(ins * c.inHeight * c.inWidth, next);
    const dy = random(outs * P + 1, next);
    const acc = new Float32Array(outs * ins * KK);
    const db = new Float64Array(outs + 2).fill(0.25);
    kernel.tapSums(c, ins, outs, x, 0, dy, 1, acc, 0, db, 1);
    expect(db[0]).toBe(0.25);
    expect(db[outs + 1]).toBe(0.25);
    for (let o = 0; o < outs; o++) {
      let want = 0.25;
      for (let p = 0; p < P; p++) want += dy[1 + o * P + p];
      // float64 sums of float32 values: only the order differs
      expect(Math.abs(db[1 + o] - want)).toBeLessThanOrEqual(1e-12 * P);
    }
    // the kernel gradient is the same with or without db
    const plain = new Float32Array(outs * ins * KK);
    kernel.tapSums(c, ins, outs, x, 0, dy, 1, plain, 0);
    expect(Array.from(acc)).toEqual(Array.from(plain));
  });

  it('tapSums ignores an infinite input that only padding columns would meet', () => {
    // 5 wide, 3x3, no padding: 3 output columns, computed as one f32x4 whose 4th lane reads
    // columns 3-5; x[0, 4] = inf is met by tap q = 2 of column 2, and by tap q = 1 only in
    // that masked-off lane, where 0 * inf would be NaN.
    const c = geometry(3, 5, 3, 0, 1);
    const x = new Float32Array(15).fill(1);
    x[4] = Number.POSITIVE_INFINITY;
    const dy = Float32Array.from([1, 2, 3]);
    const acc = new Float32Array(9);
    kernel.tapSums(c, 1, 1, x, 0, dy, 0, acc, 0);
    expect(acc[2]).toBe(Number.POSITIVE_INFINITY);
    expect(acc[1]).toBe(6);
    expect(acc[0]).toBe(6);
    const narrow = geometry(3, 3, 3, 0, 1);
    const x3 = Float32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const acc3 = new Float32Array(9);
    // Lanes 1-3 of the row's vector read past the image; the bordered copy has zeros there, and
    // dY's lanes past the row are masked, so every tap is exactly dy[0].
    kernel.tapSums(narrow, 1, 1, x3, 0, Float32Array.from([2]), 0, acc3, 0);
    expect(Array.from(acc3)).toEqual(new Array(9).fill(2));
  });

  it('grows its memory for a large plane and keeps working on small ones after', () => {
    const big = geometry(700, 700, 3, 1, 1);
    const x = new Float32Array(700 * 700).fill(1);
    const w = new Float32Array(9).fill(1);
    const y = new Float32Array(700 * 700);
    kernel.correlate(big, 1, 1, x, 0, w, 0, null, 0, y, 0);
    expect(y[0]).toBe(4);
    expect(y[701]).toBe(9);
    const small = geometry(2, 2, 3, 1, 1);
    const y2 = new Float32Array(4);
    kernel.correlate(small, 1, 1, Float32Array.from([1, 2, 3, 4]), 0, w, 0, null, 0, y2, 0);
    expect(Array.from(y2)).toEqual([10, 10, 10, 10]);
  });
});

describe('depthwisePlanes availability', () => {
  it('is the Wasm kernel wherever WebAssembly SIMD validates (Node 20 has it)', () => {
    expect(planes).not.toBeNull();
  });
});
