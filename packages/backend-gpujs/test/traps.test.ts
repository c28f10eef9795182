import { type Conv2dOptions, describeConv, isConv2dError } from '@conv2d/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createGpujsBackend, defaultLanes, type GpujsBackend } from '../src/index.js';
import { availability, TESTED_MODES } from './modes.js';
import { randomData, refBackward, refForward, worstError } from './reference.js';

interface Run {
  xShape: number[];
  wShape: number[];
  bias?: boolean;
  options?: Conv2dOptions;
  seed?: number;
}

/** Runs forward and backward on `backend` and checks every result against the reference. */
async function checkAll(
  backend: GpujsBackend,
  run: Run,
  wanted = { dx: true, dw: true, db: true },
) {
  const { xShape, wShape, options = {}, seed = 1 } = run;
  const desc = describeConv(xShape, wShape, run.bias ? [wShape[0]] : null, options);
  const x = randomData(desc.xSize, seed);
  const w = randomData(desc.wSize, seed + 1);
  const b = run.bias ? randomData(desc.outChannels, seed + 2) : null;
  const dy = randomData(desc.ySize, seed + 3);
  const xT = { shape: xShape, data: x };
  const wT = { shape: wShape, data: w };
  const y = await backend.forward(xT, wT, b && { shape: [desc.outChannels], data: b }, options);
  expect(
    worstError(y.data, refForward(desc, x, w, b), desc.reductionLength).ratio,
  ).toBeLessThanOrEqual(1);
  if (!wanted.dx && !wanted.dw && !wanted.db) return { desc, x, y };
  const g = await backend.backward({ shape: desc.yShape, data: dy }, xT, wT, options, wanted);
  const ref = refBackward(desc, dy, x, w);
  const long = desc.batch * desc.outHeight * desc.outWidth;
  if (wanted.dx) {
    const reduction = desc.outChannelsPerGroup * desc.kernelHeight * desc.kernelWidth;
    expect(worstError(g.dx?.data as Float32Array, ref.dx, reduction).ratio).toBeLessThanOrEqual(1);
  }
  if (wanted.dw)
    expect(worstError(g.dw?.data as Float32Array, ref.dw, long).ratio).toBeLessThanOrEqual(1);
  if (wanted.db)
    expect(worstError(g.db?.data as Float32Array, ref.db, long).ratio).toBeLessThanOrEqual(1);
  return { desc, x, y };
}

for (const mode of TESTED_MODES.filter((m) => availability[m].available)) {
  describe(`gpujs:${mode}: known gpu.js traps`, () => {
    let backend: GpujsBackend;
    const ready = createGpujsBackend({ mode }).then((b) => {
      backend = b;
    });
    afterAll(() => backend?.dispose());

    // gpu.js cuts loops bounded by arguments at loopMaxIterations (1000) without a word.
    it('reductions longer than 1000 (Cin*Kh*Kw = 1080, Cout*Kh*Kw = 1080) are whole', async () => {
      await ready;
      await checkAll(backend, {
        xShape: [1, 120, 5, 5],
        wShape: [120, 120, 3, 3],
        options: { padding: 1 },
      });
    });

    it('single loops longer than 1000 (Cin 1100, Cout 1100, batch*Hout*Wout 1152, Wout 1200)', async () => {
      await ready;
      await checkAll(backend, { xShape: [1, 1100, 2, 1], wShape: [2, 1100, 1, 1], bias: true });
      await checkAll(backend, { xShape: [1, 2, 2, 1], wShape: [1100, 2, 1, 1], bias: true });
      await checkAll(backend, {
        xShape: [2, 1, 24, 24],
        wShape: [1, 1, 3, 3],
        options: { padding: 1 },
      });
      await checkAll(backend, {
        xShape: [1, 1, 1, 1200],
        wShape: [2, 1, 1, 3],
        options: { layout: 'NCHW' },
      });
    });

    it('compiles once per convolution: the same shapes again compile nothing', async () => {
      await ready;
      const run: Run = {
        xShape: [1, 3, 6, 6],
        wShape: [2, 3, 3, 3],
        bias: true,
        options: { stride: 2 },
      };
      await checkAll(backend, run);
      const compiles = backend.stats.compiles;
      const hits = backend.stats.cacheHits;
      await checkAll(backend, { ...run, seed: 7 });
      expect(backend.stats.compiles).toBe(compiles);
      // One forward kernel and one backward pipeline, both found in the cache.
      expect(backend.stats.cacheHits).toBe(hits + 2);
    });

    // setOutput/setConstants are ignored or throw after a kernel's first call: a new shape must
    // get a new kernel, and the old one must keep working.
    it('a new shape after the first call gets its own kernel, and the old shape still works', async () => {
      await ready;
      const before = backend.stats.compiles;
      await checkAll(backend, { xShape: [1, 2, 5, 5], wShape: [2, 2, 3, 3] });
      const first = backend.stats.compiles;
      await checkAll(backend, { xShape: [2, 2, 7, 4], wShape: [2, 2, 3, 3] });
      const second = backend.stats.compiles;
      await checkAll(backend, { xShape: [1, 2, 5, 5], wShape: [2, 2, 3, 3], seed: 9 });
      // A forward kernel and the three gradient kernels each (GL modes also make upload
      // kernels per tensor shape, shared where shapes agree); the first shape again, nothing.
      expect(first - before).toBeGreaterThanOrEqual(4);
      expect(second - first).toBeGreaterThanOrEqual(4);
      expect(backend.stats.compiles).toBe(second);
    });

    // Outputs are overwritten by the next call unless immutable: results must be our own copies.
    it('an earlier result is not overwritten by a later call', async () => {
      await ready;
      const first = await checkAll(backend, {
        xShape: [1, 2, 6, 6],
        wShape: [3, 2, 3, 3],
        seed: 11,
      });
      const kept = first.y.data.slice();
      await checkAll(backend, { xShape: [1, 2, 6, 6], wShape: [3, 2, 3, 3], seed: 12 });
      expect(first.y.data).toEqual(kept);
    });

    it('concurrent calls on one backend do not mix up their results', async () => {
      await ready;
      const runs = [21, 22, 23].map((seed) => ({
        xShape: [1, 3, 7, 7],
        wShape: [4, 3, 3, 3],
        bias: true,
        options: { padding: 1 },
        seed,
      }));
      await Promise.all(runs.map((run) => checkAll(backend, run)));
    });

    // Float-indexed modes (all but cpu, whose indexes are JavaScript doubles) read wrong
    // elements past 2^24 when an index is one flat float. Forward reads and writes a large NCHW
    // activation, dX a large NHWC one.
    if (mode !== 'cpu')
      it('tensors of more than 2^24 elements are right', async () => {
        await ready;
        const none = { dx: false, dw: false, db: false };
        const big = await checkAll(
          backend,
          { xShape: [1, 1, 4100, 4100], wShape: [1, 1, 1, 1], bias: true },
          none,
        );
        expect(big.desc.xSize).toBeGreaterThan(2 ** 24);
        await checkAll(
          backend,
          {
            xShape: [1, 2050, 4100, 2],
            wShape: [2, 1, 1, 1],
            options: { layout: 'NHWC', groups: 2 },
          },
          { ...none, dx: true },
        );
      });

    it('rejects a tensor over its element limit with too-large, never a wrong result', async () => {
      const small = await createGpujsBackend({ mode, maxElements: 1000 });
      try {
        await expect(
          small.forward(
            { shape: [1, 1, 40, 40], data: new Float32Array(1600) },
            { shape: [1, 1, 3, 3], data: new Float32Array(9) },
          ),
        ).rejects.toMatchObject({ code: 'too-large' });
        const ok = await small.forward(
          { shape: [1, 1, 30, 30], data: new Float32Array(900) },
          { shape: [1, 1, 3, 3], data: new Float32Array(9) },
        );
        expect(ok.shape).toEqual([1, 1, 28, 28]);
      } finally {
        small.dispose();
      }
    });

    it('lanes: 1 (one channel per thread) gives the same convolutions in both layouts', async () => {
      const single = await createGpujsBackend({ mode, lanes: 1 });
      try {
        for (const layout of ['NCHW', 'NHWC'] as const) {
          const xShape = layout === 'NCHW' ? [2, 8, 6, 5] : [2, 6, 5, 8];
          await checkAll(single, {
            xShape,
            wShape: [4, 8, 3, 3],
            bias: true,
            options: { layout, padding: 1 },
          });
        }
      } finally {
        single.dispose();
      }
    });

    it('reports the mode that ran', async () => {
      await ready;
      expect(backend.mode).toBe(mode);
      expect(backend.name).toBe(`gpujs:${mode}`);
    });
  });
}

describe('errors of the factory', () => {
  it('rejects an unknown mode, a bad maxElements and bad lanes', async () => {
    // @ts-expect-error: not a mode
    const unknown = await createGpujsBackend({ mode: 'webgl9' }).catch((e) => e);
    expect(isConv2dError(unknown) && unknown.code).toBe('unknown-backend');
    const bad = await createGpujsBackend({ mode: 'cpu', maxElements: 0 }).catch((e) => e);
    expect(isConv2dError(bad) && bad.code).toBe('invalid-option');
    // @ts-expect-error: not 1 or 4
    const lanes = await createGpujsBackend({ mode: 'cpu', lanes: 2 }).catch((e) => e);
    expect(isConv2dError(lanes) && lanes.code).toBe('invalid-option');
  });

  it('uses one channel per thread in webgpu mode and four elsewhere, unless told', async () => {
    expect(defaultLanes('webgpu')).toBe(1);
    for (const mode of ['cpu', 'webasm', 'headlessgl', 'webgl2', 'webgl'] as const) {
      expect(defaultLanes(mode)).toBe(4);
    }
    const cpu = await createGpujsBackend({ mode: 'cpu' });
    const told = await createGpujsBackend({ mode: 'cpu', lanes: 1 });
    expect([cpu.lanes, told.lanes]).toEqual([4, 1]);
    cpu.dispose();
    told.dispose();
  });
});
