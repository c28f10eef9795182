import { compare, describeMismatch, errorBounds } from '@conv2d/conformance/runner';
import { createBackend, type Tensor } from '@conv2d/core';
import { layerTensors } from '../src/data.js';
import type { Layer } from '../src/layers.js';
import { layerOptions } from '../src/layers.js';
import { describeLayer, type Pass, WANTED } from '../src/passes.js';
import { registerProviders } from '../src/providers.js';

export const tinyLayer = (over: Partial<Layer> = {}): Layer => ({
  name: 'T tiny',
  id: 'T',
  batch: 2,
  inChannels: 3,
  height: 7,
  width: 6,
  outChannels: 4,
  kernel: 3,
  stride: 2,
  padding: 1,
  groups: 1,
  ...over,
});

export const depthwiseLayer = (): Layer =>
  tinyLayer({ name: 'T depthwise', inChannels: 4, outChannels: 8, groups: 4, stride: 1 });

/** The naive oracle's result of a pass in the bench's result format, and its bounds. */
export async function oracleResult(
  l: Layer,
  pass: Pass,
): Promise<{ want: Float32Array; bound: Float64Array }> {
  await registerProviders([]);
  const naive = await createBackend('naive');
  const t = layerTensors(l, describeLayer(l).yShape);
  const o = layerOptions(l);
  const bounds = await errorBounds(t.x, t.w, t.b, t.dy, o);
  if (pass === 'forward')
    return { want: (await naive.forward(t.x, t.w, t.b, o)).data, bound: bounds.y };
  const g = await naive.backward(t.dy, t.x, t.w, o, WANTED[pass]);
  if (pass === 'dx') return { want: (g.dx as Tensor).data, bound: bounds.dx };
  return {
    want: Float32Array.from([...(g.dw as Tensor).data, ...(g.db as Tensor).data]),
    bound: Float64Array.from([...bounds.dw, ...bounds.db]),
  };
}

export function expectClose(
  got: Float32Array,
  want: { want: Float32Array; bound: Float64Array },
): void {
  const m = compare(got, want.want, want.bound);
  if (m) throw new Error(describeMismatch('result', m));
}
