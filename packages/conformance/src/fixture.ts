import type { Conv2dOptions, Layout, Tensor } from '@conv2d/core';

/** A tensor as stored in a fixture: shape and flat row-major numbers. */
export interface FixtureTensor {
  shape: number[];
  data: number[];
}

/** One `conv2d-fixture/1` case (see DESIGN.md). */
export interface Fixture {
  format: 'conv2d-fixture/1';
  name: string;
  source: string;
  layout: Layout;
  params: { stride: unknown; padding: unknown; dilation: unknown; groups: unknown };
  x: FixtureTensor;
  w: FixtureTensor;
  b: FixtureTensor | null;
  dy?: FixtureTensor;
  y?: FixtureTensor;
  dx?: FixtureTensor;
  dw?: FixtureTensor;
  db?: FixtureTensor | null;
  expect?: 'error';
  error_kind?: string;
}

export interface FixtureFile {
  /** File name, e.g. `stride2-pad1.json`. */
  file: string;
  fixture: Fixture;
}

export function parseFixture(json: unknown, file = '(inline)'): Fixture {
  const f = json as Fixture;
  if (f === null || typeof f !== 'object' || f.format !== 'conv2d-fixture/1') {
    throw new Error(
      `${file}: not a conv2d-fixture/1 case (format is ${JSON.stringify((f as Fixture)?.format)})`,
    );
  }
  for (const key of ['name', 'params', 'x', 'w'] as const) {
    if (!(key in f)) throw new Error(`${file}: missing field "${key}"`);
  }
  if (f.expect !== 'error') {
    for (const key of ['y', 'dy', 'dx', 'dw'] as const) {
      if (!(key in f)) throw new Error(`${file}: valid case without "${key}"`);
    }
  }
  return { ...f, layout: f.layout ?? 'NCHW', b: f.b ?? null };
}

/**
 * A fixture tensor as a conv2d Tensor, without any checks: an invalid case (data length not
 * matching the shape) must reach the backend's validation as it is.
 */
export function toTensor(t: FixtureTensor): Tensor {
  return { shape: t.shape, data: Float32Array.from(t.data) };
}

/** The conv options a case describes (passed unchanged, invalid values included). */
export function fixtureOptions(f: Fixture): Conv2dOptions {
  return { ...(f.params as Conv2dOptions), layout: f.layout };
}

export function isErrorCase(f: Fixture): boolean {
  return f.expect === 'error';
}
