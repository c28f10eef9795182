import type { Capabilities } from './backend.js';
import { type ConvDescription, describeConv } from './describe.js';
import { fail } from './errors.js';

/*
 * Core accepts any safe integer for stride, padding and dilation, but engines index in 32-bit
 * integers (Wasm) or float32 (GL). Most huge parameters cannot matter: a stride past the input
 * when only one output row reads it, a dilation with one tap, padding nothing reaches. This
 * module finds an equivalent description (same shapes, same reads of x for every output and
 * tap, so the same y, dx, dw and db) whose index values are small, for engines whose limit the
 * original exceeds; what still does not fit is a typed `too-large` error before any kernel runs.
 */

/**
 * Largest `maxCoordinate` an engine may declare: core's shape math (and the naive oracle's
 * float64 loops) is exact for every padded extent up to Number.MAX_SAFE_INTEGER.
 */
export const MAX_COORDINATE = Number.MAX_SAFE_INTEGER;

/** The limit for engines indexing in 32-bit integers: sums of two such values stay below 2^31. */
export const INT32_MAX_COORDINATE = 2 ** 30;

/** The limit for engines indexing in float32 (exact integers below 2^24), sums included. */
export const FLOAT32_MAX_COORDINATE = 2 ** 23;

/** One spatial axis of a convolution: everything its index arithmetic depends on. */
export interface AxisGeometry {
  /** Input extent (H or W). */
  readonly size: number;
  /** Kernel taps (Kh or Kw). */
  readonly kernel: number;
  /** Output extent (Hout or Wout). */
  readonly out: number;
  readonly stride: number;
  readonly dilation: number;
  readonly padBefore: number;
  readonly padAfter: number;
}

/**
 * The largest index value of an axis: its padded extent, or its stride or dilation when larger
 * (a one-tap kernel's dilation may be anything, yet engines still take it as an integer).
 */
export function axisExtent(a: AxisGeometry): number {
  return Math.max(a.size + a.padBefore + a.padAfter, a.stride, a.dilation);
}

/** First t in [0, count) with origin + t*step >= 0, when that read lands inside [0, size). */
function firstHit(origin: number, step: number, count: number, size: number): number | null {
  const t = origin >= 0 ? 0 : Math.ceil(-origin / step);
  return t < count && origin + t * step < size ? t : null;
}

/** The axis with the given stride, dilation and top padding, and the least bottom padding. */
function withLeastPadAfter(
  a: AxisGeometry,
  stride: number,
  dilation: number,
  padBefore: number,
): AxisGeometry {
  // Bottom padding is never read; it only sets Hout, which needs (Hout-1)*S + K_eff rows.
  const needed = (a.out - 1) * stride + (a.kernel - 1) * dilation + 1 - a.size - padBefore;
  return { ...a, stride, dilation, padBefore, padAfter: Math.max(0, needed) };
}

/**
 * An axis where no output reads the input (every output is bias only): all windows sit in the
 * top padding, stride H+1 so that Hout windows of K taps span exactly the padded extent.
 */
function paddingOnly(a: AxisGeometry): AxisGeometry {
  const stride = a.size + 1;
  return withLeastPadAfter(a, stride, 1, (a.out - 1) * stride + a.kernel);
}

/**
 * An equivalent axis with small index values where one exists: output i, tap m reads input
 * row i*S + m*D - P; the result reads the same row for every (i, m) that reads inside the
 * input, and no row for the others, with the same Hout.
 */
export function compactAxis(a: AxisGeometry): AxisGeometry {
  const { size: H, kernel: K, out: O, padBefore: P } = a;
  const D = K === 1 ? 1 : a.dilation; // one tap: the dilation cannot matter
  const S = a.stride;
  if (O === 1 || S >= (K - 1) * D + H) {
    // Windows S >= (K-1)*D + H apart: at most one reads the input, the last one that starts
    // above the input's end (those before it end above the input).
    const i0 = Math.min(O - 1, Math.floor((P + H - 1) / S));
    const origin = i0 * S - P;
    const m = firstHit(origin, D, K, H);
    if (m === null) return paddingOnly(a);
    // Taps D >= H apart hit at most once: space them H apart around that hit.
    const [dilation, start] = K > 1 && D >= H ? [H, origin + m * D - m * H] : [D, origin];
    const stride = (K - 1) * dilation + H;
    return withLeastPadAfter(a, stride, dilation, i0 * stride - start);
  }
  if (K === 1 || D >= (O - 1) * S + H) {
    // Taps D >= (Hout-1)*S + H apart: at most one reads the input, likewise.
    const m0 = Math.min(K - 1, Math.floor((P + H - 1) / D));
    const origin = m0 * D - P;
    const i = firstHit(origin, S, O, H);
    if (i === null) return paddingOnly(a);
    // Rows S >= H apart hit at most once: space them H apart around that hit.
    const [stride, start] = S >= H ? [H, origin + i * S - i * H] : [S, origin];
    const dilation = K === 1 ? 1 : (O - 1) * stride + H;
    return withLeastPadAfter(a, stride, dilation, m0 * dilation - start);
  }
  return alongHitLine({ ...a, dilation: D }) ?? withLeastPadAfter(a, S, D, P);
}

/** Largest Hout*K whose reads `alongHitLine` enumerates (each check costs that many). */
const MAX_ENUMERATED_READS = 2 ** 16;

/** Every read (input row, or -1 for padding) of an axis, output-major. */
function readsOf(a: AxisGeometry): Int32Array {
  const out = new Int32Array(a.out * a.kernel);
  for (let i = 0, t = 0; i < a.out; i++)
    for (let m = 0; m < a.kernel; m++, t++) {
      const r = i * a.stride + m * a.dilation - a.padBefore;
      out[t] = r >= 0 && r < a.size ? r : -1;
    }
  return out;
}

function gcd(a: number, b: number): number {
  return b === 0 ? Math.abs(a) : gcd(b, a % b);
}

/**
 * Huge S and D together (windows and taps both far apart, neither alone isolating), from the
 * reads themselves: none reads the input (all padding), one does, or they lie on one line
 * (i, m) = (i1, m1) + t*(di, dm) of the output x tap grid with di*S + dm*D fixed, so moving
 * (S, D) along (-dm, di) keeps every one of them; smaller and smaller such (S, D) are tried and
 * checked read by read. Null when none is found (or the grid is too large to enumerate).
 */
function alongHitLine(a: AxisGeometry): AxisGeometry | null {
  if (a.out * a.kernel > MAX_ENUMERATED_READS) return null;
  const reads = readsOf(a);
  const hits: [number, number][] = [];
  reads.forEach((r, t) => {
    if (r >= 0) hits.push([Math.floor(t / a.kernel), t % a.kernel]);
  });
  if (hits.length === 0) return paddingOnly(a);
  const [i1, m1] = hits[0];
  if (hits.length === 1) {
    // One read: taps H apart, windows a whole window apart, so no other read can land inside.
    const dilation = a.kernel > 1 ? a.size : 1;
    const stride = (a.kernel - 1) * dilation + a.size;
    const start = reads[i1 * a.kernel + m1] - m1 * dilation;
    return withLeastPadAfter(a, stride, dilation, i1 * stride - start);
  }
  const g = gcd(hits[1][0] - i1, hits[1][1] - m1);
  const [di, dm] = [(hits[1][0] - i1) / g, (hits[1][1] - m1) / g]; // di >= 0: hits are sorted
  if (!hits.every(([i, m]) => (i - i1) * dm === (m - m1) * di)) return null;
  if (di > 0 && dm > 0) return null; // then S, D < H already: nothing huge to remove
  // (S, D) - k*(u, v) keeps di*S + dm*D; u, v >= 0 so both only shrink.
  const [u, v] = [Math.abs(dm), di];
  const r1 = i1 * a.stride + m1 * a.dilation - a.padBefore;
  for (let target = 2 * a.size; ; target *= 2) {
    const k = u > 0 ? Math.floor((a.stride - target) / u) : Math.floor((a.dilation - target) / v);
    if (k <= 0) return null;
    const stride = a.stride - k * u;
    const dilation = a.dilation - k * v;
    const padBefore = i1 * stride + m1 * dilation - r1;
    if (stride < 1 || dilation < 1 || padBefore < 0) continue;
    const c = withLeastPadAfter(a, stride, dilation, padBefore);
    const padded = c.size + c.padBefore + c.padAfter;
    const out = Math.floor((padded - (c.kernel - 1) * c.dilation - 1) / c.stride) + 1;
    if (out === a.out && readsOf(c).every((r, t) => r === reads[t])) return c;
  }
}

function axesOf(d: ConvDescription): [AxisGeometry, AxisGeometry] {
  return [
    {
      size: d.inHeight,
      kernel: d.kernelHeight,
      out: d.outHeight,
      stride: d.strideHeight,
      dilation: d.dilationHeight,
      padBefore: d.padTop,
      padAfter: d.padBottom,
    },
    {
      size: d.inWidth,
      kernel: d.kernelWidth,
      out: d.outWidth,
      stride: d.strideWidth,
      dilation: d.dilationWidth,
      padBefore: d.padLeft,
      padAfter: d.padRight,
    },
  ];
}

/** The largest index value of a description (see `axisExtent`). */
export function coordinateExtent(d: ConvDescription): number {
  const [h, w] = axesOf(d);
  return Math.max(axisExtent(h), axisExtent(w));
}

/**
 * An equivalent description (same shapes; same y, dx, dw and db for any tensors) whose
 * strides, dilations and paddings are reduced as far as `compactAxis` can; `d` itself when
 * nothing shrinks.
 */
export function compactDescription(d: ConvDescription): ConvDescription {
  const original = axesOf(d);
  const axes = original.map((a) => {
    const c = compactAxis(a);
    return axisExtent(c) < axisExtent(a) ? c : a;
  });
  if (axes.every((a, i) => a === original[i])) return d;
  const [h, w] = axes;
  const c = describeConv(d.xShape, d.wShape, d.bShape, {
    stride: [h.stride, w.stride],
    dilation: [h.dilation, w.dilation],
    padding: [h.padBefore, h.padAfter, w.padBefore, w.padAfter],
    groups: d.groups,
    layout: d.layout,
  });
  if (c.outHeight !== d.outHeight || c.outWidth !== d.outWidth) {
    throw new Error(`compactDescription changed the output size: ${c.yShape} from ${d.yShape}`);
  }
  return c;
}

/**
 * Whether some stride, dilation or padding exceeds the input extent of its axis: only then can
 * part of it not matter. Ordinary convolutions never do, so they reach engines unchanged.
 */
function beyondInput(d: ConvDescription): boolean {
  return axesOf(d).some((a) => Math.max(a.stride, a.dilation, a.padBefore, a.padAfter) > a.size);
}

/**
 * The description an engine's kernels run. Engines that declare `maxCoordinate` get the
 * compacted equivalent when some parameter exceeds its input extent (engine work sized by
 * padded extents, such as upsampled or bordered copies, then stays small too), else `d`; a
 * result still past `maxCoordinate` is a `too-large` error naming the parameter. Engines
 * without it (float64, the oracle) get `d` itself.
 */
export function engineDescription(
  d: ConvDescription,
  caps: Capabilities,
  backendName: string,
): ConvDescription {
  if (caps.maxCoordinate === undefined) return d;
  const limit = Math.min(caps.maxCoordinate, MAX_COORDINATE);
  const c = beyondInput(d) ? compactDescription(d) : d;
  if (coordinateExtent(c) <= limit) return c;
  const [h, w] = axesOf(c);
  const [axis, name, i] = axisExtent(h) > limit ? [h, 'height', 0] : [w, 'width', 1];
  const why = `(backend ${backendName} indexes exactly up to ${limit}; no equivalent smaller description exists)`;
  if (axis.stride > limit) {
    fail('too-large', `options.stride[${i}]`, axis.stride, `a stride <= ${limit} ${why}`);
  }
  const original = axesOf(d)[i];
  const dilated = (axis.kernel - 1) * axis.dilation + 1;
  if (dilated > limit) {
    fail(
      'too-large',
      `options.dilation[${i}]`,
      original.dilation,
      `a dilated kernel ${name} <= ${limit} ${why}`,
    );
  }
  return fail(
    'too-large',
    'options.padding',
    [d.padTop, d.padBottom, d.padLeft, d.padRight],
    `a padded input ${name} ${axis.size}+${original.padBefore}+${original.padAfter} <= ${limit} ${why}`,
  );
}
