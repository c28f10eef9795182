import { type Conv2dOptions, type SavedActivations, type Tensor, tensor } from '@conv2d/core';
import { describe, expect, it } from 'vitest';
import { createNaiveBackend } from '../src/index.js';

const naive = createNaiveBackend();

const filled = (shape: number[], phase: number): Tensor =>
  tensor(
    shape,
    Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.7 + phase)),
  );

const layers: { title: string; x: number[]; w: number[]; options: Conv2dOptions }[] = [
  { title: '3x3, padding 1', x: [2, 3, 6, 5], w: [4, 3, 3, 3], options: { padding: 1 } },
  {
    title: 'stride, asymmetric padding, dilation, groups',
    x: [1, 4, 7, 8],
    w: [6, 2, 3, 2],
    options: { stride: [2, 1], padding: [1, 0, 2, 1], dilation: [1, 2], groups: 2 },
  },
  {
    title: 'depthwise in NHWC',
    x: [2, 5, 5, 3],
    w: [3, 1, 3, 3],
    options: { groups: 3, padding: 'same', layout: 'NHWC' },
  },
];

describe('naive plans', () => {
  for (const layer of layers) {
    it(`give the one-shot numbers bit for bit, into out buffers too: ${layer.title}`, async () => {
      const x = filled(layer.x, 0);
      const w = filled(layer.w, 1);
      const b = filled([layer.w[0] as number], 2);
      const y = await naive.forward(x, w, b, layer.options);
      const dy = filled([...y.shape], 3);
      const grads = await naive.backward(dy, x, w, layer.options);

      const spec = { xShape: x.shape, wShape: w.shape, bias: true, options: layer.options };
      const plan = await naive.plan(spec);
      await plan.setWeights(w, b);
      const first = await plan.forward(x, { save: true });
      expect(first.y).toEqual(y);
      expect(await plan.backward(dy, first.saved as SavedActivations)).toEqual(grads);

      // caller-owned results, stale contents overwritten
      const out = { dx: tensor(x.shape), dw: tensor(w.shape), db: tensor(b.shape) };
      const yOut = tensor(y.shape);
      for (const t of [yOut, ...Object.values(out)]) t.data.fill(Number.NaN);
      const second = await plan.forward(x, { save: true, out: yOut });
      expect(second.y).toBe(yOut);
      expect(yOut).toEqual(y);
      const written = await plan.backward(dy, second.saved as SavedActivations, { out });
      expect(written.dx).toBe(out.dx);
      expect(written).toEqual(grads);
      plan.dispose();
    });
  }
});
