import { fail } from './errors.js';
import type { Layout } from './tensor.js';

/** A pair is `[height, width]`; a single number applies to both. */
export type Pair = number | readonly [number, number];

/**
 * Padding forms:
 * - `p`: p on every side;
 * - `[ph, pw]`: ph on top and bottom, pw on left and right;
 * - `[top, bottom, left, right]`;
 * - `'valid'`: no padding;
 * - `'same'`: output size = ceil(input / stride) for any stride and dilation; the total
 *   padding is split evenly, the odd extra row/column going to the bottom/right
 *   (TensorFlow's and ONNX's SAME_UPPER). With stride 1 this equals PyTorch's `'same'`.
 */
export type Padding =
  | number
  | readonly [number, number]
  | readonly [number, number, number, number]
  | 'same'
  | 'valid';

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Padding;
  dilation?: Pair;
  groups?: number;
  /** Layout of x, y, dy and dx. Weights are always [Cout, Cin/groups, Kh, Kw]. */
  layout?: Layout;
}

/** Options with every field explicit; padding still symbolic until the shapes are known. */
export interface NormalizedOptions {
  readonly stride: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly padding: readonly [number, number, number, number] | 'same';
  readonly groups: number;
  readonly layout: Layout;
}

const KNOWN_OPTIONS = new Set(['stride', 'padding', 'dilation', 'groups', 'layout']);

/**
 * Checks that an options bag is an object whose keys are all known, so a misspelt option
 * (`strides: 2`) is an error instead of being silently ignored. Engines use it for their own
 * creation options too.
 */
export function checkOptionsObject(
  argument: string,
  options: unknown,
  known: ReadonlySet<string>,
): void {
  if (options === null || typeof options !== 'object') {
    fail('invalid-option', argument, options, 'an object or undefined');
  }
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      fail(
        'invalid-option',
        `${argument}.${key}`,
        (options as Record<string, unknown>)[key],
        `one of ${[...known].join(', ')}`,
      );
    }
  }
}

/** Checks that `value` is an integer, naming `argument` when it is not. */
export function requireInteger(argument: string, value: unknown): number {
  if (typeof value !== 'number') fail('invalid-option', argument, value, 'a number');
  if (!Number.isInteger(value)) fail('non-integer-param', argument, value, 'an integer');
  return value;
}

function normalizePair(
  argument: string,
  value: Pair | undefined,
  fallback: number,
): [number, number] {
  if (value === undefined) return [fallback, fallback];
  if (typeof value === 'number') {
    const v = requireInteger(argument, value);
    return [v, v];
  }
  if (!Array.isArray(value) || value.length !== 2) {
    fail('invalid-option', argument, value, 'a number or a pair [height, width]');
  }
  return [requireInteger(`${argument}[0]`, value[0]), requireInteger(`${argument}[1]`, value[1])];
}

function normalizePadding(value: Padding | undefined): NormalizedOptions['padding'] {
  if (value === undefined || value === 'valid') return [0, 0, 0, 0];
  if (value === 'same') return 'same';
  let sides: number[];
  if (typeof value === 'number') {
    const p = requireInteger('options.padding', value);
    sides = [p, p, p, p];
  } else if (Array.isArray(value) && value.length === 2) {
    const ph = requireInteger('options.padding[0]', value[0]);
    const pw = requireInteger('options.padding[1]', value[1]);
    sides = [ph, ph, pw, pw];
  } else if (Array.isArray(value) && value.length === 4) {
    sides = value.map((v, i) => requireInteger(`options.padding[${i}]`, v));
  } else {
    fail(
      'invalid-option',
      'options.padding',
      value,
      "a number, [h, w], [top, bottom, left, right], 'same' or 'valid'",
    );
  }
  sides.forEach((p, i) => {
    if (p < 0) {
      const name = typeof value === 'number' ? 'options.padding' : `options.padding[${i}]`;
      fail('negative-padding', name, p, 'a padding >= 0');
    }
  });
  return sides as [number, number, number, number];
}

/** Validates and fills in defaults: stride 1, padding 0, dilation 1, groups 1, NCHW. */
export function normalizeOptions(options: Conv2dOptions = {}): NormalizedOptions {
  checkOptionsObject('options', options, KNOWN_OPTIONS);
  const stride = normalizePair('options.stride', options.stride, 1);
  stride.forEach((s, i) => {
    if (s <= 0)
      fail(
        'non-positive-stride',
        `options.stride${typeof options.stride === 'number' ? '' : `[${i}]`}`,
        s,
        'a stride >= 1',
      );
  });
  const dilation = normalizePair('options.dilation', options.dilation, 1);
  dilation.forEach((d, i) => {
    if (d <= 0)
      fail(
        'non-positive-dilation',
        `options.dilation${typeof options.dilation === 'number' ? '' : `[${i}]`}`,
        d,
        'a dilation >= 1',
      );
  });
  const groups =
    options.groups === undefined ? 1 : requireInteger('options.groups', options.groups);
  if (groups <= 0) fail('non-positive-groups', 'options.groups', groups, 'groups >= 1');
  const layout = options.layout ?? 'NCHW';
  if (layout !== 'NCHW' && layout !== 'NHWC') {
    fail('invalid-option', 'options.layout', layout, "'NCHW' or 'NHWC'");
  }
  return Object.freeze({
    stride: Object.freeze(stride) as readonly [number, number],
    dilation: Object.freeze(dilation) as readonly [number, number],
    padding: normalizePadding(options.padding),
    groups,
    layout,
  });
}

/**
 * SAME_UPPER padding for one spatial axis: output = ceil(input / stride); the total is split
 * with the odd extra at the end (bottom / right).
 */
export function samePadding(
  input: number,
  kernelEffective: number,
  stride: number,
): [number, number] {
  const out = Math.ceil(input / stride);
  const total = Math.max((out - 1) * stride + kernelEffective - input, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}
