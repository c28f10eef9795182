import { createBackend } from '@conv2d/core';
import { describe, expect, it } from 'vitest';
import { block4, fill, generateBlock4, layerTensors } from '../src/data.js';
import type { Layer } from '../src/layers.js';
import { describeLayer, PASSES, type Pass } from '../src/passes.js';
import { registerProviders } from '../src/providers.js';
import {
  checkAgainst,
  computeReference,
  extractSlice,
  isWhole,
  planSlice,
  planSlices,
  type Slice,
  sliceFlops,
} from '../src/verify.js';
import { depthwiseLayer, oracleResult, tinyLayer } from './helpers.js';

describe('deterministic data', () => {
  it('builds any block of a tensor without the whole, equal to the block of the whole', () => {
    const shape = [3, 5, 4, 2];
    const whole = fill('x', shape);
    expect(generateBlock4('x', shape, [1, 3], [2, 5]).data).toEqual(
      block4(whole.data, shape, [1, 3], [2, 5]),
    );
    expect(generateBlock4('x', shape, [1, 3], [2, 5]).shape).toEqual([2, 3, 4, 2]);
    expect(fill('x', shape).data).toEqual(whole.data);
    expect(fill('w', shape).data).not.toEqual(whole.data);
    for (const v of whole.data) expect(v >= -1 && v < 1).toBe(true);
  });
});

const len = (r: readonly [number, number]) => r[1] - r[0];

/** The smallest slice a pass allows: only the axes it must keep whole stay whole. */
function smallest(l: Layer, p: Pass): Slice {
  const batch: [number, number] = [0, p === 'dw' ? l.batch : 1];
  if (l.groups > 1) {
    return {
      batch,
      inChannels: [0, l.inChannels / l.groups],
      outChannels: [0, l.outChannels / l.groups],
      groups: 1,
    };
  }
  const ci: [number, number] = [0, p === 'forward' ? l.inChannels : 1];
  const co: [number, number] = [0, p === 'dx' ? l.outChannels : 1];
  return { batch, inChannels: ci, outChannels: co, groups: 1 };
}

describe('checking on slices', () => {
  const layers = [tinyLayer({ batch: 3, inChannels: 6, outChannels: 8 }), depthwiseLayer()];

  it('checks the whole layer, once, when the oracle is cheap enough', () => {
    const l = layers[0];
    for (const p of PASSES) {
      const slices = planSlices(l, p, 1e12);
      expect(slices).toHaveLength(1);
      expect(isWhole(l, slices[0])).toBe(true);
    }
  });

  it('shrinks only the axes a pass may shrink, under the cost limit, at both ends', () => {
    for (const l of layers) {
      const d = describeLayer(l);
      for (const p of PASSES) {
        const [head, tail] = planSlices(l, p, d.flops / 10);
        expect(isWhole(l, head)).toBe(false);
        // under the limit, unless every axis the pass may shrink is already at its minimum
        const limit = Math.max(d.flops / 10, sliceFlops(l, smallest(l, p)));
        expect(sliceFlops(l, head)).toBeLessThanOrEqual(limit);
        if (p === 'dw') expect(head.batch).toEqual([0, l.batch]);
        if (l.groups === 1 && p === 'forward') expect(head.inChannels).toEqual([0, l.inChannels]);
        if (l.groups === 1 && p === 'dx') expect(head.outChannels).toEqual([0, l.outChannels]);
        // the tail: same sizes, ending at the end of each axis
        expect(tail.batch[1]).toBe(l.batch);
        expect(tail.inChannels[1]).toBe(l.inChannels);
        expect(tail.outChannels[1]).toBe(l.outChannels);
        expect(len(tail.batch)).toBe(len(head.batch));
        expect(len(tail.outChannels)).toBe(len(head.outChannels));
      }
    }
  });

  it('a slice of the full result equals the oracle on the slice problem (every pass, grouped too)', async () => {
    await registerProviders([]);
    const oracle = await createBackend('naive');
    for (const l of layers) {
      for (const p of PASSES) {
        const full = await oracleResult(l, p);
        for (const end of ['head', 'tail'] as const) {
          const s = planSlice(l, p, describeLayer(l).flops / 4, end);
          const ref = await computeReference(oracle, l, p, s);
          const got = extractSlice(l, p, s, full.want);
          expect(got.length).toBe(ref.want.length);
          expect(checkAgainst(ref, got, p)).toBeNull();
          // and a wrong element is caught
          got[got.length >> 1] += 0.5;
          expect(checkAgainst(ref, got, p)).toMatch(/expected/);
        }
      }
    }
  });

  it('uses the same tensors the children read', () => {
    const l = tinyLayer();
    const t = layerTensors(l, describeLayer(l).yShape);
    expect(t.x.shape).toEqual([2, 3, 7, 6]);
    expect(t.dy.shape).toEqual([...describeLayer(l).yShape]);
  });
});
