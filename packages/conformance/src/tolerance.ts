import { createNaiveBackend } from '@conv2d/backend-naive';
import {
  type Conv2dOptions,
  type ConvDescription,
  type Tensor,
  validateBackward,
} from '@conv2d/core';

/*
 * Tolerances are derived, not tuned. A float32 dot product of n terms computed in any order
 * has |error| <= gamma(n) * sum|a_i b_i| with gamma(n) ~ n*u (u = 2^-24, Higham, Accuracy and
 * Stability of Numerical Algorithms, 3.1). That worst case is far too loose for long sums: a
 * single dropped term would hide under it. Rounding errors of sums of random data behave like
 * a random walk instead, and |error| <= lambda*sqrt(n)*u * sum|a_i b_i| holds with probability
 * at least 1 - 2*exp(-lambda^2/2) per element (Higham & Mary 2019, "A new approach to
 * probabilistic rounding error analysis"). We use the smaller of the two with lambda = 8
 * (a false alarm per element below 1e-13), plus 2u for the final rounding of the result and
 * of the reference, so every bound grows with its pass's reduction length.
 */

export const UNIT_ROUNDOFF = 2 ** -24;
export const LAMBDA = 8;

/** Relative error factor for a float32 sum of `n` products. */
export function sumErrorFactor(n: number): number {
  return (Math.min(n, LAMBDA * Math.sqrt(n)) + 2) * UNIT_ROUNDOFF;
}

/** Reduction length of each pass: how many products each result element sums. */
export function reductionLengths(d: ConvDescription): {
  y: number;
  dx: number;
  dw: number;
  db: number;
} {
  const perPosition = d.batch * d.outHeight * d.outWidth;
  return {
    y: d.reductionLength + (d.hasBias ? 1 : 0),
    // at most ceil(Kh/Sh)*ceil(Kw/Sw) windows cover an input element; bound by the taps
    dx: d.outChannelsPerGroup * d.kernelHeight * d.kernelWidth,
    dw: perPosition,
    db: perPosition,
  };
}

export interface Bounds {
  y: Float64Array;
  dx: Float64Array;
  dw: Float64Array;
  db: Float64Array;
}

function abs(t: Tensor): Tensor {
  return { shape: t.shape, data: t.data.map(Math.abs) };
}

function scale(magnitudes: Float32Array, factor: number): Float64Array {
  const out = new Float64Array(magnitudes.length);
  // The magnitudes themselves come from a float32 result: allow for their rounding too.
  for (let i = 0; i < out.length; i++) out[i] = magnitudes[i] * factor * (1 + 4 * UNIT_ROUNDOFF);
  return out;
}

const oracle = createNaiveBackend();

/**
 * Per-element error bounds for every pass: the sums of |products| (computed by the float64
 * oracle on absolute values) times the error factor of the pass's reduction length.
 */
export async function errorBounds(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  dy: Tensor,
  options: Conv2dOptions,
): Promise<Bounds> {
  const desc = validateBackward(dy, x, w, options);
  const n = reductionLengths({ ...desc, hasBias: b !== null });
  const y = await oracle.forward(abs(x), abs(w), b ? abs(b) : null, options);
  const g = await oracle.backward(abs(dy), abs(x), abs(w), options);
  return {
    y: scale(y.data, sumErrorFactor(n.y)),
    dx: scale(g.dx?.data ?? new Float32Array(0), sumErrorFactor(n.dx)),
    dw: scale(g.dw?.data ?? new Float32Array(0), sumErrorFactor(n.dw)),
    db: scale(g.db?.data ?? new Float32Array(0), sumErrorFactor(n.db)),
  };
}

export interface Mismatch {
  index: number;
  got: number;
  want: number;
  bound: number;
}

/**
 * Compares element-wise: |got - want| <= bound (non-finite values must match exactly, NaN to
 * NaN). Returns the worst mismatch, or null when everything is within bounds.
 */
export function compare(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  bound: ArrayLike<number>,
): Mismatch | null {
  if (got.length !== want.length) {
    return { index: -1, got: got.length, want: want.length, bound: 0 };
  }
  let worst: Mismatch | null = null;
  let worstRatio = 1;
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const v = want[i];
    if (!Number.isFinite(v) || !Number.isFinite(g)) {
      if (!(Object.is(g, v) || (Number.isNaN(g) && Number.isNaN(v)) || g === v)) {
        return { index: i, got: g, want: v, bound: 0 };
      }
      continue;
    }
    const err = Math.abs(g - v);
    if (err > bound[i]) {
      const ratio = bound[i] > 0 ? err / bound[i] : Number.POSITIVE_INFINITY;
      if (ratio > worstRatio || worst === null) {
        worst = { index: i, got: g, want: v, bound: bound[i] };
        worstRatio = ratio;
      }
    }
  }
  return worst;
}

export function describeMismatch(what: string, m: Mismatch): string {
  if (m.index < 0) return `${what}: length ${m.got}, expected ${m.want}`;
  return `${what}[${m.index}] = ${m.got}, expected ${m.want} ± ${m.bound.toExponential(2)} (error ${Math.abs(m.got - m.want).toExponential(2)})`;
}
