import { fail, formatValue } from './errors.js';
import {
  type Conv2dOptions,
  type NormalizedOptions,
  normalizeOptions,
  samePadding,
} from './options.js';
import { checkSizes, type Layout, sizeOf, type Tensor } from './tensor.js';

/** Element strides of a 4-D activation tensor, by logical axis, for either layout. */
export interface ActivationStrides {
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

/**
 * Everything a backend needs to know about one convolution, computed once and frozen.
 * All passes (forward, dX, dW, db) of all backends read their sizes from here.
 */
export interface ConvDescription {
  readonly layout: Layout;
  readonly batch: number;
  readonly inChannels: number;
  readonly inHeight: number;
  readonly inWidth: number;
  readonly outChannels: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly kernelHeight: number;
  readonly kernelWidth: number;
  readonly strideHeight: number;
  readonly strideWidth: number;
  readonly dilationHeight: number;
  readonly dilationWidth: number;
  /** Dilated kernel extent: D*(K-1)+1. */
  readonly effectiveKernelHeight: number;
  readonly effectiveKernelWidth: number;
  readonly padTop: number;
  readonly padBottom: number;
  readonly padLeft: number;
  readonly padRight: number;
  readonly groups: number;
  readonly inChannelsPerGroup: number;
  readonly outChannelsPerGroup: number;
  readonly hasBias: boolean;
  /** Reduction length of one output element: (Cin/groups)*Kh*Kw. */
  readonly reductionLength: number;
  /** 2*N*Cout*Hout*Wout*(Cin/groups)*Kh*Kw: the multiply-adds of one pass, counted twice. */
  readonly flops: number;
  /** Shapes in the caller's layout (x, y) and OIHW (w). */
  readonly xShape: readonly [number, number, number, number];
  readonly wShape: readonly [number, number, number, number];
  readonly yShape: readonly [number, number, number, number];
  readonly bShape: readonly [number] | null;
  readonly xStrides: ActivationStrides;
  readonly yStrides: ActivationStrides;
  readonly xSize: number;
  readonly wSize: number;
  readonly ySize: number;
}

/** Shape [N, C, H, W] in the given layout. */
export function activationShape(
  layout: Layout,
  n: number,
  c: number,
  h: number,
  w: number,
): [number, number, number, number] {
  return layout === 'NCHW' ? [n, c, h, w] : [n, h, w, c];
}

export function activationStrides(
  layout: Layout,
  c: number,
  h: number,
  w: number,
): ActivationStrides {
  return layout === 'NCHW'
    ? { n: c * h * w, c: h * w, h: w, w: 1 }
    : { n: h * w * c, c: 1, h: w * c, w: c };
}

function checkShape(argument: string, shape: unknown, rank: number, meaning: string): number[] {
  if (!Array.isArray(shape))
    fail('invalid-tensor', `${argument}.shape`, shape, `an array of ${rank} sizes ${meaning}`);
  if (shape.length !== rank) fail('rank', `${argument}.shape`, shape, `rank ${rank} ${meaning}`);
  checkSizes(`${argument}.shape`, shape);
  return shape as number[];
}

/** Checks a tensor's container: a shape of the given rank and a Float32Array of matching length. */
export function checkTensor(argument: string, t: unknown, rank: number, meaning: string): Tensor {
  if (t === null || typeof t !== 'object')
    fail('invalid-tensor', argument, t, '{ shape, data: Float32Array }');
  const { shape, data } = t as Tensor;
  checkShape(argument, shape, rank, meaning);
  if (!(data instanceof Float32Array)) {
    fail('invalid-tensor', `${argument}.data`, data, 'a Float32Array');
  }
  const size = sizeOf(shape);
  if (data.length !== size) {
    fail(
      'data-length',
      `${argument}.data.length`,
      data.length,
      `${size} = product of ${argument}.shape ${formatValue(shape)}`,
    );
  }
  return t as Tensor;
}

function requireNonEmpty(
  argument: string,
  shape: readonly number[],
  names: readonly string[],
  skip: number[] = [],
): void {
  shape.forEach((d, i) => {
    if (d === 0 && !skip.includes(i)) {
      fail('empty-tensor', `${argument}.shape[${i}]`, d, `${names[i]} >= 1`);
    }
  });
}

/**
 * Validates shapes and options and returns the frozen description of the convolution.
 * Takes shapes, not tensors, so the same function serves planning (bench, capability checks)
 * and every pass. Data lengths are checked by `checkTensor`.
 */
export function describeConv(
  xShape: readonly number[],
  wShape: readonly number[],
  bShape: readonly number[] | null | undefined,
  options: Conv2dOptions | NormalizedOptions = {},
): ConvDescription {
  const o = isNormalized(options) ? options : normalizeOptions(options);
  const layout = o.layout;
  const xMeaning = layout === 'NCHW' ? '[N, C, H, W]' : '[N, H, W, C]';
  checkShape('x', xShape, 4, xMeaning);
  checkShape('w', wShape, 4, '[Cout, Cin/groups, Kh, Kw]');
  const [n, c, h, w] = layout === 'NCHW' ? xShape : [xShape[0], xShape[3], xShape[1], xShape[2]];
  const xNames =
    layout === 'NCHW'
      ? ['batch', 'channels', 'height', 'width']
      : ['batch', 'height', 'width', 'channels'];
  // An empty batch is valid (PyTorch returns empty outputs); every other size must be >= 1.
  requireNonEmpty('x', xShape, xNames, [0]);
  requireNonEmpty('w', wShape, [
    'out channels',
    'in channels per group',
    'kernel height',
    'kernel width',
  ]);
  const [cout, cinPerGroup, kh, kw] = wShape as [number, number, number, number];
  const g = o.groups;
  if (c % g !== 0) {
    fail('groups-not-dividing', 'options.groups', g, `a divisor of the input channels (${c})`);
  }
  if (cout % g !== 0) {
    fail(
      'groups-not-dividing',
      'options.groups',
      g,
      `a divisor of the output channels w.shape[0] (${cout})`,
    );
  }
  if (cinPerGroup * g !== c) {
    fail(
      'channel-mismatch',
      'w.shape[1]',
      cinPerGroup,
      `input channels / groups = ${c} / ${g} = ${c / g} (x has ${c} channels)`,
    );
  }
  if (bShape !== null && bShape !== undefined) {
    if (!Array.isArray(bShape) || bShape.length !== 1 || bShape[0] !== cout) {
      fail('bias-shape', 'b.shape', bShape, `[${cout}] (one bias per output channel), or no bias`);
    }
  }
  const [sh, sw] = o.stride;
  const [dh, dw] = o.dilation;
  const ekh = dh * (kh - 1) + 1;
  const ekw = dw * (kw - 1) + 1;
  const [pt, pb, pl, pr] =
    o.padding === 'same' ? [...samePadding(h, ekh, sh), ...samePadding(w, ekw, sw)] : o.padding;
  // Core's shape math and the float64 oracle are exact while every padded extent is.
  for (const [name, padded] of [
    ['height', h + pt + pb],
    ['width', w + pl + pr],
  ] as const) {
    if (padded > Number.MAX_SAFE_INTEGER) {
      fail(
        'too-large',
        'options.padding',
        [pt, pb, pl, pr],
        `a padded input ${name} <= 2^53-1 (Number.MAX_SAFE_INTEGER), so that every index is exact`,
      );
    }
  }
  if (ekh > h + pt + pb) {
    fail(
      'kernel-larger-than-padded-input',
      'w.shape[2]',
      kh,
      `a dilated kernel height ${dh}*(${kh}-1)+1 = ${ekh} <= padded input height ${h}+${pt}+${pb} = ${h + pt + pb}`,
    );
  }
  if (ekw > w + pl + pr) {
    fail(
      'kernel-larger-than-padded-input',
      'w.shape[3]',
      kw,
      `a dilated kernel width ${dw}*(${kw}-1)+1 = ${ekw} <= padded input width ${w}+${pl}+${pr} = ${w + pl + pr}`,
    );
  }
  const ho = Math.floor((h + pt + pb - ekh) / sh) + 1;
  const wo = Math.floor((w + pl + pr - ekw) / sw) + 1;
  const yShape = activationShape(layout, n, cout, ho, wo);
  checkShape('y', yShape, 4, '(the output)');
  const reductionLength = cinPerGroup * kh * kw;
  return Object.freeze({
    layout,
    batch: n,
    inChannels: c,
    inHeight: h,
    inWidth: w,
    outChannels: cout,
    outHeight: ho,
    outWidth: wo,
    kernelHeight: kh,
    kernelWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
    dilationHeight: dh,
    dilationWidth: dw,
    effectiveKernelHeight: ekh,
    effectiveKernelWidth: ekw,
    padTop: pt,
    padBottom: pb,
    padLeft: pl,
    padRight: pr,
    groups: g,
    inChannelsPerGroup: cinPerGroup,
    outChannelsPerGroup: cout / g,
    hasBias: bShape !== null && bShape !== undefined,
    reductionLength,
    flops: 2 * n * cout * ho * wo * reductionLength,
    xShape: Object.freeze([...xShape]) as unknown as ConvDescription['xShape'],
    wShape: Object.freeze([...wShape]) as unknown as ConvDescription['wShape'],
    yShape: Object.freeze(yShape),
    bShape: bShape ? (Object.freeze([cout]) as readonly [number]) : null,
    xStrides: Object.freeze(activationStrides(layout, c, h, w)),
    yStrides: Object.freeze(activationStrides(layout, cout, ho, wo)),
    xSize: n * c * h * w,
    wSize: cout * cinPerGroup * kh * kw,
    ySize: n * cout * ho * wo,
  });
}

function isNormalized(o: Conv2dOptions | NormalizedOptions): o is NormalizedOptions {
  return (
    Object.isFrozen(o) &&
    Array.isArray((o as NormalizedOptions).stride) &&
    typeof o.groups === 'number' &&
    typeof o.layout === 'string'
  );
}

/** Validates forward inputs (containers, data lengths, shapes, options) and describes the conv. */
export function validateForward(
  x: Tensor,
  w: Tensor,
  b: Tensor | null | undefined,
  options?: Conv2dOptions,
): ConvDescription {
  const o = normalizeOptions(options);
  checkTensor('x', x, 4, o.layout === 'NCHW' ? '[N, C, H, W]' : '[N, H, W, C]');
  checkTensor('w', w, 4, '[Cout, Cin/groups, Kh, Kw]');
  if (b !== null && b !== undefined) checkTensor('b', b, 1, '[Cout]');
  return describeConv(x.shape, w.shape, b?.shape, o);
}

/** Validates backward inputs; dy must have exactly the forward output's shape. */
export function validateBackward(
  dy: Tensor,
  x: Tensor,
  w: Tensor,
  options?: Conv2dOptions,
): ConvDescription {
  const desc = validateForward(x, w, null, options);
  checkTensor('dy', dy, 4, `(the output gradient, shape ${formatValue(desc.yShape)})`);
  if (!desc.yShape.every((d, i) => dy.shape[i] === d)) {
    fail(
      'grad-shape',
      'dy.shape',
      dy.shape,
      `the forward output's shape ${formatValue(desc.yShape)}`,
    );
  }
  return desc;
}
