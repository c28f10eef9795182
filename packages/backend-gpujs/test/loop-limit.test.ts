import { type Conv2dOptions, type ConvDescription, describeConv, tensor } from '@conv2d/core';
import { afterAll, describe, expect, it } from 'vitest';
import { dwBlockSource } from '../src/block-sources.js';
import { Engine } from '../src/engine.js';
import { input } from '../src/gpujs.js';
import { createGpujsBackend, type GpujsBackend } from '../src/index.js';
import { flatten } from '../src/readback.js';
import { activationDims, dbSource, dwSource, type KernelSource } from '../src/sources.js';
import { MAX_LOOP_PASSES, type RowChunks, rowChunks, splitRows } from '../src/split-sources.js';
import { availability } from './modes.js';
import { randomData, refBackward, worstError } from './reference.js';

// headless-gl's software GL (llvmpipe) ends a shader invocation's loops after 65535 passes in
// all, and dW and db sum N·Hout·Wout terms per weight: past that they came back short (bench
// layer G: dw 75.7 for 709.9). GL-path kernels now split that sum across threads by rows of dY
// and add the chunks up in a second kernel (split-sources.ts). These layers are cheap but sum
// 74k-80k terms, so each splits, with chunks that end inside an image and a short last chunk.

interface Layer {
  name: string;
  x: number[];
  w: number[];
  bias: boolean;
  options: Conv2dOptions;
}

const LAYERS: Layer[] = [
  { name: '3x3 pad 1', x: [2, 2, 200, 200], w: [3, 2, 3, 3], bias: true, options: { padding: 1 } },
  {
    name: 'NHWC (gather kernels in both families)',
    x: [2, 200, 200, 2],
    w: [3, 2, 3, 3],
    bias: true,
    options: { padding: 1, layout: 'NHWC' },
  },
  {
    name: 'groups 2, stride [2, 1], dilation [1, 2], pad [1, 2], 4 channels per group',
    x: [4, 8, 181, 203],
    w: [6, 4, 3, 3],
    bias: false,
    options: { groups: 2, stride: [2, 1], dilation: [1, 2], padding: [1, 2] },
  },
  {
    name: '1x1 stride 2 (one-lane block dW)',
    x: [2, 3, 400, 400],
    w: [4, 3, 1, 1],
    bias: true,
    options: { stride: 2 },
  },
];

const describe4 = (l: Layer) => describeConv(l.x, l.w, l.bias ? [l.w[0]] : null, l.options);
const terms = (d: ConvDescription) => d.batch * d.outHeight * d.outWidth;

describe('dW and db reductions split by rows of dY', () => {
  it('split every test layer in every dW and db kernel, and leave smaller ones single', () => {
    for (const l of LAYERS) {
      const d = describe4(l);
      expect(terms(d)).toBeGreaterThan(MAX_LOOP_PASSES);
      for (const ks of [dwSource(d), dwSource(d, 1), dbSource(d), dwBlockSource(d)]) {
        if (ks) expect(splitRows(ks, d, false).sum, l.name).toBeDefined();
      }
    }
    // The bench's layers below G (and the GPU target T) keep today's single kernels.
    const small = [
      describeConv([8, 64, 56, 56], [64, 64, 3, 3], null, { padding: 1 }),
      describeConv([32, 1, 28, 28], [32, 1, 5, 5], null, { padding: 2 }),
      describeConv([1, 3, 224, 224], [64, 3, 7, 7], null, { padding: 3, stride: 2 }),
    ];
    for (const d of small) {
      for (const ks of [dwSource(d), dbSource(d), dwBlockSource(d)]) {
        if (ks) expect(splitRows(ks, d, false)).toBe(ks);
      }
    }
  });

  it('keep each thread of a chunk within MAX_LOOP_PASSES, and the sum within it too', () => {
    const d = describeConv([8, 64, 224, 224], [64, 64, 3, 3], null, { padding: 1 }); // layer G
    const { rows, chunks } = rowChunks(d, d.outWidth + 4) as RowChunks;
    expect(rows * (d.outWidth + 4) + 1).toBeLessThanOrEqual(MAX_LOOP_PASSES);
    expect(chunks * rows).toBeGreaterThanOrEqual(d.batch * d.outHeight);
    expect((chunks - 1) * rows).toBeLessThan(d.batch * d.outHeight);
    const split = splitRows(dwBlockSource(d) as KernelSource, d, false);
    const sum = split.sum as KernelSource;
    expect(split.source).toContain(`for (let i = 0; i < ${rows}; i++)`);
    expect(sum.source).toContain(`for (let k = 0; k < ${chunks}; k++)`);
    expect(sum.output).toEqual([3, 64, 64]);
    expect(split.output).toEqual([3, 64, 64 * chunks]);
  });
});

// The sum kernel's two variants (reading the partial sums' lanes in GL; one lane in webgpu, whose
// kernels refuse multi-lane buffers) against the float64 loops, in gpu.js cpu mode.
describe('partial sums and their sum kernel, in gpu.js cpu mode', () => {
  const engine = new Engine('cpu');
  afterAll(() => engine.dispose());
  const run = (ks: KernelSource, args: unknown[]) => engine.textureKernel(ks)(...args);
  const l = LAYERS[2];
  const d = describe4(l);
  const x = randomData(d.xSize, 1);
  const w = randomData(d.wSize, 2);
  const dy = randomData(d.ySize, 3);
  const ref = refBackward(d, dy, x, w);
  const dyIn = input(dy, activationDims(d, d.outChannels, d.outHeight, d.outWidth));
  const xIn = input(x, activationDims(d, d.inChannels, d.inHeight, d.inWidth));
  const sources: [string, KernelSource, unknown[], Float64Array][] = [
    ['gather dW, 4 lanes', dwSource(d), [dyIn, xIn], ref.dw],
    ['gather dW, 1 lane', dwSource(d, 1), [dyIn, xIn], ref.dw],
    ['block dW, Kw lanes along x', dwBlockSource(d) as KernelSource, [dyIn, xIn], ref.dw],
    ['db', dbSource(d), [dyIn], ref.db],
  ];
  for (const [name, whole, args, want] of sources) {
    const viewable = whole.lanes > 1 && whole.laneAxis === 0;
    for (const oneLane of viewable ? [false, true] : [false]) {
      it(`${name}${oneLane ? ', summed as one lane (webgpu)' : ''}`, () => {
        const split = splitRows(whole, d, oneLane);
        const sum = split.sum as KernelSource;
        const partial = run(split, args);
        // webgpu hands the sum the partial sums' buffer viewed as one lane (x * lanes wide).
        const [px, py, pz] = split.output as [number, number, number];
        const p = oneLane
          ? input(flatten(partial, split, px * py * pz * split.lanes), [px * split.lanes, py, pz])
          : partial;
        const got = flatten(run(sum, [p]), sum, want.length);
        expect(worstError(got, want, terms(d)).ratio).toBeLessThanOrEqual(1);
      });
    }
  }
});

describe.runIf(availability.headlessgl.available)('headlessgl dW and db past 65535 terms', () => {
  const backends: Promise<GpujsBackend>[] = [];
  const make = (kernels: 'block' | 'gather') => {
    const b = createGpujsBackend({ mode: 'headlessgl', kernels });
    backends.push(b);
    return b;
  };
  const families = { block: make('block'), gather: make('gather') };
  afterAll(async () => {
    for (const b of backends) (await b).dispose();
  });

  for (const l of LAYERS) {
    for (const [family, ready] of Object.entries(families)) {
      it(`${l.name}, ${family} kernels: one-shot and plan match the float64 loops`, async () => {
        const backend = await ready;
        expect(backend.mode).toBe('headlessgl');
        const d = describe4(l);
        const x = tensor(l.x, randomData(d.xSize, 1));
        const w = tensor(l.w, randomData(d.wSize, 2));
        const b = l.bias ? tensor([d.outChannels], randomData(d.outChannels, 4)) : null;
        const dy = tensor([...d.yShape], randomData(d.ySize, 3));
        const ref = refBackward(d, dy.data, x.data, w.data);
        const g = await backend.backward(dy, x, w, l.options, { dx: false });
        expect(worstError(g.dw?.data as Float32Array, ref.dw, terms(d)).ratio).toBeLessThanOrEqual(
          1,
        );
        expect(worstError(g.db?.data as Float32Array, ref.db, terms(d)).ratio).toBeLessThanOrEqual(
          1,
        );
        // A plan runs the same kernels: its results, resident or read back, are the same floats.
        const plan = await backend.plan({
          xShape: l.x,
          wShape: l.w,
          bias: l.bias,
          options: l.options,
        });
        await plan.setWeights(w, b);
        const f = await plan.forward(x, { save: true, resident: true });
        if (!f.saved) throw new Error('no saved state');
        const resident = await plan.backward(dy, f.saved, {
          resident: true,
          wanted: { dx: false },
        });
        const host = await plan.backward(dy, f.saved, { wanted: { dx: false } });
        expect((await resident.dw?.read())?.data).toEqual(g.dw?.data);
        expect((await resident.db?.read())?.data).toEqual(g.db?.data);
        expect(host.dw?.data).toEqual(g.dw?.data);
        expect(host.db?.data).toEqual(g.db?.data);
        for (const t of [f.y, resident.dw, resident.db]) t?.dispose();
        f.saved.dispose();
        plan.dispose();
        // A plan's dispose runs after the calls queued before it; then nothing is left.
        await new Promise((r) => setTimeout(r, 0));
        expect(backend.stats.textures).toBe(0);
      }, 120_000);
    }
  }

  it('still refuses what a split cannot bound (one dY row of 40000 columns); dx still runs', async () => {
    const backend = await families.block;
    const shape = [1, 1, 1, 40000];
    const x = tensor(shape);
    const w = tensor([1, 1, 1, 1], [1]);
    await expect(backend.backward(x, x, w)).rejects.toMatchObject({
      code: 'too-large',
      argument: 'dy.shape',
      message: expect.stringContaining('Wout + 4 = 40004'),
    });
    const { dx } = await backend.backward(x, x, w, {}, { dw: false, db: false });
    expect(dx?.shape).toEqual(shape);
  });
});
