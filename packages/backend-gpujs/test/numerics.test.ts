import { describeConv, type Layout } from '@conv2d/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createGpujsBackend, type GpujsBackend } from '../src/index.js';
import { CASES } from './cases.js';
import { availability, TESTED_MODES } from './modes.js';
import { randomData, refBackward, refForward, worstError } from './reference.js';

const LAYOUTS: Layout[] = ['NCHW', 'NHWC'];

// A mode that cannot run here is reported (and, where required, failed) by availability.test.ts.
for (const mode of TESTED_MODES.filter((m) => availability[m].available)) {
  describe(`gpujs:${mode} against the reference loops`, () => {
    let backend: GpujsBackend;
    const ready = createGpujsBackend({ mode }).then((b) => {
      backend = b;
    });
    afterAll(() => backend?.dispose());

    for (const c of CASES) {
      for (const layout of LAYOUTS) {
        it(`${c.name} (${layout}, ${c.bias ? 'bias' : 'no bias'})`, async () => {
          await ready;
          const [n, ch, h, w] = c.x;
          const xShape = layout === 'NCHW' ? c.x : [n, h, w, ch];
          const options = { ...c.options, layout };
          const desc = describeConv(xShape, c.w, c.bias ? [c.w[0]] : null, options);
          const x = randomData(desc.xSize, 1);
          const wt = randomData(desc.wSize, 2);
          const b = c.bias ? randomData(desc.outChannels, 3) : null;
          const dy = randomData(desc.ySize, 4);
          const y = await backend.forward(
            { shape: xShape, data: x },
            { shape: c.w, data: wt },
            b && { shape: [desc.outChannels], data: b },
            options,
          );
          expect(y.shape).toEqual([...desc.yShape]);
          expect(
            worstError(y.data, refForward(desc, x, wt, b), desc.reductionLength).ratio,
          ).toBeLessThanOrEqual(1);
          const g = await backend.backward(
            { shape: desc.yShape, data: dy },
            { shape: xShape, data: x },
            { shape: c.w, data: wt },
            options,
          );
          const ref = refBackward(desc, dy, x, wt);
          const perDx = desc.outChannelsPerGroup * desc.kernelHeight * desc.kernelWidth;
          const perDw = desc.batch * desc.outHeight * desc.outWidth;
          expect(worstError(g.dx?.data as Float32Array, ref.dx, perDx).ratio).toBeLessThanOrEqual(
            1,
          );
          expect(worstError(g.dw?.data as Float32Array, ref.dw, perDw).ratio).toBeLessThanOrEqual(
            1,
          );
          expect(worstError(g.db?.data as Float32Array, ref.db, perDw).ratio).toBeLessThanOrEqual(
            1,
          );
          expect(backend.mode).toBe(mode);
        });
      }
    }
  });
}
