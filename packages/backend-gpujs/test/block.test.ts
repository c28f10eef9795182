import { describeConv, type Layout } from '@conv2d/core';
import { afterAll, describe, expect, it } from 'vitest';
import { dwBlockSource, dxBlockSource, forwardBlockSource } from '../src/block-sources.js';
import { GPU, input } from '../src/gpujs.js';
import { createGpujsBackend, defaultKernels, type GpujsBackend } from '../src/index.js';
import { flatten } from '../src/readback.js';
import { activationDims, weightDims } from '../src/sources.js';
import { CASES, type Case } from './cases.js';
import { availability, TESTED_MODES } from './modes.js';
import { randomData, refBackward, refForward, worstError } from './reference.js';

// The block kernels (block-sources.ts) against the float64 loops and against the gather
// kernels, on shapes that take the block path in every pass (NCHW, widths in fours) and on the
// shared cases (some of which fall back to gather kernels pass by pass).

const BLOCK_CASES: Case[] = [
  {
    name: 'block 3x3 pad 1',
    x: [2, 5, 6, 8],
    w: [6, 5, 3, 3],
    bias: true,
    options: { padding: 1 },
  },
  {
    name: 'block stride 2, pad [1, 2], groups 2',
    x: [1, 4, 9, 8],
    w: [6, 2, 3, 3],
    bias: false,
    options: { stride: 2, padding: [1, 2], groups: 2 },
  },
  {
    name: 'block dilation 2, stride [1, 3], 2x4 kernel',
    x: [2, 3, 7, 12],
    w: [2, 3, 2, 4],
    bias: true,
    options: { dilation: 2, stride: [1, 3], padding: [0, 0, 3, 1] },
  },
  {
    name: 'block stride [2, 4], dilation [1, 2], pad 3',
    x: [1, 3, 6, 16],
    w: [4, 3, 3, 3],
    bias: true,
    options: { stride: [2, 4], dilation: [1, 2], padding: 3 },
  },
  { name: 'block 1x1', x: [2, 6, 4, 4], w: [8, 6, 1, 1], bias: false, options: {} },
  {
    name: 'block 5x5 pad 2',
    x: [1, 2, 8, 8],
    w: [3, 2, 5, 5],
    bias: true,
    options: { padding: 2 },
  },
];

describe('block kernel sources', () => {
  it('take every pass of an NCHW layer whose widths are in fours, and decline what they cannot', () => {
    const d = describeConv([1, 8, 8, 8], [8, 8, 3, 3], null, { padding: 1 });
    expect(forwardBlockSource(d)?.lanes).toBe(4);
    expect(dxBlockSource(d)?.lanes).toBe(4);
    expect(dwBlockSource(d)?.lanes).toBe(3);
    const nhwc = describeConv([1, 8, 8, 8], [8, 8, 3, 3], null, { padding: 1, layout: 'NHWC' });
    expect(forwardBlockSource(nhwc)).toBeNull();
    const odd = describeConv([1, 8, 7, 7], [8, 8, 3, 3], null, {});
    expect(forwardBlockSource(odd)).toBeNull();
    expect(dxBlockSource(odd)).toBeNull();
    // dX blocks need the stride to divide 4 (which taps a lane skips is then fixed).
    const stride3 = describeConv([1, 8, 8, 12], [8, 8, 3, 3], null, { stride: 3 });
    expect(dxBlockSource(stride3)).toBeNull();
    expect(dxBlockSource({ ...stride3, strideWidth: 2 })?.lanes).toBe(4);
    expect(dwBlockSource(describeConv([1, 2, 9, 9], [2, 2, 5, 5], null, {}))).toBeNull();
  });
});

// webgpu runs the block kernels with a loop over kernel rows (GL and cpu modes unroll them);
// Node has no webgpu here, so that variant runs through gpu.js's cpu mode against the loops.
describe('block kernels with looped kernel rows (the webgpu variant), in gpu.js cpu mode', () => {
  const gpu = new GPU({ mode: 'cpu' });
  afterAll(() => void gpu.destroy());
  for (const c of BLOCK_CASES) {
    it(c.name, () => {
      const d = describeConv(c.x, c.w, c.bias ? [c.w[0]] : null, c.options);
      const x = randomData(d.xSize, 1);
      const w = randomData(d.wSize, 2);
      const b = c.bias ? randomData(d.outChannels, 3) : null;
      const dy = randomData(d.ySize, 4);
      const run = (
        ks: NonNullable<ReturnType<typeof forwardBlockSource>>,
        args: unknown[],
        size: number,
      ) => {
        expect(ks.source).toContain('for (let m = 0;');
        const k = gpu.createKernel(ks.source, {
          output: ks.output,
          precision: 'single',
          tactic: 'precision',
          loopMaxIterations: ks.longestLoop + 1,
          immutable: false,
          dynamicOutput: false,
          dynamicArguments: false,
        });
        return flatten(k(...args), ks, size);
      };
      const xIn = input(x, activationDims(d, d.inChannels, d.inHeight, d.inWidth));
      const wIn = input(w, weightDims(d));
      const fwd = forwardBlockSource(d, false);
      const dxs = dxBlockSource(d, false);
      // Widths not in fours or strides not dividing 4 run gather kernels (tested above).
      expect(fwd ?? dxs).not.toBeNull();
      if (fwd) {
        const y = run(fwd, b ? [xIn, wIn, b] : [xIn, wIn], d.ySize);
        expect(worstError(y, refForward(d, x, w, b), d.reductionLength).ratio).toBeLessThanOrEqual(
          1,
        );
      }
      if (dxs) {
        const dyIn = input(dy, activationDims(d, d.outChannels, d.outHeight, d.outWidth));
        const dx = run(dxs, [dyIn, wIn], d.xSize);
        const per = d.outChannelsPerGroup * d.kernelHeight * d.kernelWidth;
        expect(worstError(dx, refBackward(d, dy, x, w).dx, per).ratio).toBeLessThanOrEqual(1);
      }
    });
  }
});

describe('the kernels option', () => {
  it('is block by default in the GL modes and cpu, and rejects other values by name', async () => {
    expect(['webgl2', 'webgl', 'headlessgl', 'cpu'].map((m) => defaultKernels(m as 'cpu'))).toEqual(
      Array(4).fill('block'),
    );
    expect(defaultKernels('webgpu')).toBe('tiled');
    expect(defaultKernels('webasm')).toBe('gather');
    const backend = await createGpujsBackend({ mode: 'cpu' });
    expect(backend.kernels).toBe('block');
    backend.dispose();
    await expect(
      createGpujsBackend({ mode: 'cpu', kernels: 'fast' as 'block' }),
    ).rejects.toMatchObject({
      code: 'invalid-option',
      message: expect.stringContaining('options.kernels'),
    });
  });
});

for (const mode of TESTED_MODES.filter((m) => availability[m].available)) {
  describe(`gpujs:${mode} block kernels against the reference loops and the gather kernels`, () => {
    let block: GpujsBackend;
    let gather: GpujsBackend;
    const ready = Promise.all([
      createGpujsBackend({ mode, kernels: 'block' }),
      createGpujsBackend({ mode, kernels: 'gather' }),
    ]).then(([b, g]) => {
      block = b;
      gather = g;
    });
    afterAll(() => {
      block?.dispose();
      gather?.dispose();
    });

    const layouts: Layout[] = ['NCHW'];
    for (const c of [...BLOCK_CASES, ...CASES]) {
      for (const layout of layouts) {
        it(`${c.name} (${layout})`, async () => {
          await ready;
          expect(block.kernels).toBe('block');
          const options = { ...c.options, layout };
          const desc = describeConv(c.x, c.w, c.bias ? [c.w[0]] : null, options);
          const x = { shape: c.x, data: randomData(desc.xSize, 1) };
          const w = { shape: c.w, data: randomData(desc.wSize, 2) };
          const b = c.bias
            ? { shape: [desc.outChannels], data: randomData(desc.outChannels, 3) }
            : null;
          const dy = { shape: [...desc.yShape], data: randomData(desc.ySize, 4) };
          const perDx = desc.outChannelsPerGroup * desc.kernelHeight * desc.kernelWidth;
          const perDw = desc.batch * desc.outHeight * desc.outWidth;
          const ref = refBackward(desc, dy.data, x.data, w.data);
          const refY = refForward(desc, x.data, w.data, b?.data ?? null);
          for (const backend of [block, gather]) {
            const y = await backend.forward(x, w, b, options);
            expect(worstError(y.data, refY, desc.reductionLength).ratio).toBeLessThanOrEqual(1);
            const g = await backend.backward(dy, x, w, options);
            expect(worstError(g.dx?.data as Float32Array, ref.dx, perDx).ratio).toBeLessThanOrEqual(
              1,
            );
            expect(worstError(g.dw?.data as Float32Array, ref.dw, perDw).ratio).toBeLessThanOrEqual(
              1,
            );
            expect(worstError(g.db?.data as Float32Array, ref.db, perDw).ratio).toBeLessThanOrEqual(
              1,
            );
          }
          // A plan (resident results in GL modes) gives the block kernels' one-shot numbers.
          const plan = await block.plan({ xShape: c.x, wShape: c.w, bias: c.bias, options });
          await plan.setWeights(w, b);
          const f = await plan.forward(x, { save: true, resident: true });
          if (!f.saved) throw new Error('no saved state');
          const g = await plan.backward(dy, f.saved, { resident: true });
          const one = await block.forward(x, w, b, options);
          const oneG = await block.backward(dy, x, w, options);
          expect((await f.y.read()).data).toEqual(one.data);
          expect((await g.dx?.read())?.data).toEqual(oneG.dx?.data);
          expect((await g.dw?.read())?.data).toEqual(oneG.dw?.data);
          for (const t of [f.y, g.dx, g.dw, g.db]) t?.dispose();
          f.saved?.dispose();
          plan.dispose();
        });
      }
    }
  });
}
