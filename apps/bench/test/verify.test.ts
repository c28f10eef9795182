import { createBackend } from '@conv2d/core';
import { describe, expect, it } from 'vitest';
import { fill, generatePrefix4, layerTensors, prefix4 } from '../src/data.js';
import type { Layer } from '../src/layers.js';
import { describeLayer, PASSES, type Pass } from '../src/passes.js';
import { registerProviders } from '../src/providers.js';
import {
  checkAgainst,
  computeReference,
  extractSlice,
  isWhole,
  planSlice,
  type Slice,
  sliceFlops,
} from '../src/verify.js';
import { depthwiseLayer, oracleResult, tinyLayer } from './helpers.js';

describe('deterministic data', () => {
  it('builds any prefix of a tensor without the whole, equal to the whole one', () => {
    const shape = [3, 5, 4, 2];
    const whole = fill('x', shape);
    expect(generatePrefix4('x', shape, 2, 3).data).toEqual(prefix4(whole.data, shape, 2, 3));
    expect(fill('x', shape).data).toEqual(whole.data);
    expect(fill('w', shape).data).not.toEqual(whole.data);
    for (const v of whole.data) expect(v >= -1 && v < 1).toBe(true);
  });
});

/** The smallest slice a pass allows: only the axes it must keep whole stay whole. */
function smallest(l: Layer, p: Pass): Slice {
  const batch = p === 'dw' ? l.batch : 1;
  if (l.groups > 1) {
    return {
      batch,
      inChannels: l.inChannels / l.groups,
      outChannels: l.outChannels / l.groups,
      groups: 1,
    };
  }
  if (p === 'forward') return { batch, inChannels: l.inChannels, outChannels: 1, groups: 1 };
  if (p === 'dx') return { batch, inChannels: 1, outChannels: l.outChannels, groups: 1 };
  return { batch, inChannels: 1, outChannels: 1, groups: 1 };
}

describe('checking on a slice', () => {
  const layers = [tinyLayer({ batch: 3, inChannels: 6, outChannels: 8 }), depthwiseLayer()];

  it('keeps the whole layer when the oracle is cheap enough', () => {
    const l = layers[0];
    for (const p of PASSES) expect(isWhole(l, planSlice(l, p, 1e12))).toBe(true);
  });

  it('shrinks only the axes a pass may shrink, under the cost limit', () => {
    for (const l of layers) {
      const d = describeLayer(l);
      for (const p of PASSES) {
        const s = planSlice(l, p, d.flops / 10);
        expect(isWhole(l, s)).toBe(false);
        // under the limit, unless every axis the pass may shrink is already at its minimum
        expect(sliceFlops(l, s)).toBeLessThanOrEqual(
          Math.max(d.flops / 10, sliceFlops(l, smallest(l, p))),
        );
        if (p === 'dw') expect(s.batch).toBe(l.batch);
        if (l.groups === 1 && p === 'forward') expect(s.inChannels).toBe(l.inChannels);
        if (l.groups === 1 && p === 'dx') expect(s.outChannels).toBe(l.outChannels);
      }
    }
  });

  it('a slice of the full result equals the oracle on the slice problem (every pass, grouped too)', async () => {
    await registerProviders([]);
    const oracle = await createBackend('naive');
    for (const l of layers) {
      for (const p of PASSES) {
        const s = planSlice(l, p, describeLayer(l).flops / 4);
        const ref = await computeReference(oracle, l, p, s);
        const full = await oracleResult(l, p);
        const got = extractSlice(l, p, s, full.want);
        expect(got.length).toBe(ref.want.length);
        expect(checkAgainst(ref, got, p)).toBeNull();
        // and a wrong element is caught
        got[got.length >> 1] += 0.5;
        expect(checkAgainst(ref, got, p)).toMatch(/expected/);
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
