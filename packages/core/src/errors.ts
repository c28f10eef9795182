/**
 * Every rule that rejects an input has one stable code. Codes are part of the public API:
 * callers may switch on them, so never rename one; add new ones instead.
 */
export type Conv2dErrorCode =
  | 'rank'
  | 'data-length'
  | 'invalid-tensor'
  | 'channel-mismatch'
  | 'groups-not-dividing'
  | 'kernel-larger-than-padded-input'
  | 'non-positive-stride'
  | 'negative-padding'
  | 'non-positive-dilation'
  | 'non-positive-groups'
  | 'non-integer-param'
  | 'invalid-option'
  | 'bias-shape'
  | 'grad-shape'
  | 'empty-tensor'
  | 'too-large'
  | 'unsupported'
  | 'unknown-backend'
  | 'unavailable'
  | 'not-implemented'
  | 'disposed'
  | 'plan-mismatch';

export const CONV2D_ERROR_CODES: readonly Conv2dErrorCode[] = [
  'rank',
  'data-length',
  'invalid-tensor',
  'channel-mismatch',
  'groups-not-dividing',
  'kernel-larger-than-padded-input',
  'non-positive-stride',
  'negative-padding',
  'non-positive-dilation',
  'non-positive-groups',
  'non-integer-param',
  'invalid-option',
  'bias-shape',
  'grad-shape',
  'empty-tensor',
  'too-large',
  'unsupported',
  'unknown-backend',
  'unavailable',
  'not-implemented',
  'disposed',
  'plan-mismatch',
];

export interface Conv2dErrorDetails {
  /** The offending argument, e.g. `x.shape`, `options.stride`, `w.shape[1]`. */
  argument: string;
  /** The value that was given. */
  value: unknown;
  /** What was expected instead, in words. */
  expected: string;
}

/** Marks a Conv2dError of any loaded copy of this package (its ESM and CJS builds are two). */
const BRAND = Symbol.for('@conv2d/core.Conv2dError');

/**
 * The one error class conv2d throws for invalid input or an engine limit. `instanceof` holds
 * across copies of @conv2d/core (an app that `import`s it while a dependency `require`s it
 * loads both builds): the check reads a brand that every copy sets.
 */
export class Conv2dError extends Error {
  override readonly name = 'Conv2dError';
  readonly code: Conv2dErrorCode;
  readonly argument: string;
  readonly value: unknown;
  readonly expected: string;

  constructor(code: Conv2dErrorCode, details: Conv2dErrorDetails) {
    super(
      `[${code}] ${details.argument} is ${formatValue(details.value)}; expected ${details.expected}`,
    );
    Object.defineProperty(this, BRAND, { value: true });
    this.code = code;
    this.argument = details.argument;
    this.value = details.value;
    this.expected = details.expected;
  }
}

Object.defineProperty(Conv2dError, Symbol.hasInstance, {
  value(this: unknown, value: unknown): boolean {
    // subclasses keep the ordinary prototype check
    if (this !== Conv2dError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && BRAND in value;
  },
});

export function isConv2dError(e: unknown): e is Conv2dError {
  return e instanceof Conv2dError || (e instanceof Error && e.name === 'Conv2dError');
}

/** Short, readable rendering of any value for error messages (never dumps a big array). */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return String(value);
  }
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) {
    return `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length})`;
  }
  if (Array.isArray(value)) {
    if (value.length > 8) return `[${value.slice(0, 8).map(formatValue).join(', ')}, …]`;
    return `[${value.map(formatValue).join(', ')}]`;
  }
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

export function fail(
  code: Conv2dErrorCode,
  argument: string,
  value: unknown,
  expected: string,
): never {
  throw new Conv2dError(code, { argument, value, expected });
}
