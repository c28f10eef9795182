import { describe, expect, it } from 'vitest';
import { LAYERS, quickLayer, selectLayers } from '../src/layers.js';
import { gflops, PASSES, passFlops } from '../src/passes.js';

/** Issue 5's formula with the output sizes worked out by hand. */
const expected: Record<string, number> = {
  A: 2 * 1 * 64 * 112 * 112 * 3 * 7 * 7,
  B: 2 * 1 * 64 * 56 * 56 * 64 * 3 * 3,
  C: 2 * 8 * 128 * 28 * 28 * 128 * 3 * 3,
  D: 2 * 1 * 512 * 7 * 7 * 256,
  E: 2 * 1 * 32 * 112 * 112 * 1 * 3 * 3,
  F: 2 * 32 * 32 * 28 * 28 * 1 * 5 * 5,
  G: 2 * 8 * 64 * 224 * 224 * 64 * 3 * 3,
};

describe('layers and FLOPs', () => {
  it('has layers A-G, named letter first', () => {
    expect(LAYERS.map((l) => l.id)).toEqual(['A', 'B', 'C', 'D', 'E', 'F', 'G']);
    for (const l of LAYERS) expect(l.name.startsWith(`${l.id} `)).toBe(true);
  });

  it('counts 2·N·Cout·Hout·Wout·(Cin/groups)·Kh·Kw for every pass', () => {
    for (const l of LAYERS) {
      for (const p of PASSES) expect(passFlops(l, p)).toBe(expected[l.id]);
    }
  });

  it('converts to GFLOP/s', () => {
    expect(gflops(2e9, 1000)).toBe(2);
    expect(gflops(5e6, 0.5)).toBe(10);
  });

  it('keeps names, channels, kernels and strides in quick mode, on smaller inputs', () => {
    for (const l of LAYERS) {
      const q = quickLayer(l);
      expect(q.name).toBe(l.name);
      expect([q.inChannels, q.outChannels, q.kernel, q.stride, q.groups]).toEqual([
        l.inChannels,
        l.outChannels,
        l.kernel,
        l.stride,
        l.groups,
      ]);
      expect(passFlops(q, 'forward')).toBeLessThan(passFlops(l, 'forward'));
    }
  });

  it('selects layers by letter', () => {
    expect(selectLayers(LAYERS, ['c', 'A']).map((l) => l.id)).toEqual(['A', 'C']);
    expect(() => selectLayers(LAYERS, ['Z'])).toThrow(/unknown layer Z/);
  });
});
