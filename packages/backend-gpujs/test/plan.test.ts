import { type Conv2dOptions, type DeviceTensor, describeConv, type Tensor } from '@conv2d/core';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine.js';
import type { GpuTexture } from '../src/gpujs.js';
import { createGpujsBackend, type GpujsBackend } from '../src/index.js';
import { createEnginePlan } from '../src/plan.js';
import { dwSource, dxSource, forwardSource } from '../src/sources.js';
import { Textures, type TextureTensor } from '../src/textures.js';
import { availability, TESTED_MODES } from './modes.js';
import { randomData, refBackward, refForward, worstError } from './reference.js';

// What is specific to this engine's plans (the shared suite runs every fixture through plans):
// compiles, uploads, readbacks and textures counted in backend.stats, resident chains, gpu.js's
// output recycling, and the textures freed again.

interface Layer {
  xShape: number[];
  wShape: number[];
  bias: boolean;
  options: Conv2dOptions;
}

/** 4 lanes in every pass (relayout kernels in GL modes), and a 1-lane grouped NHWC one. */
const LAYERS: Layer[] = [
  {
    xShape: [2, 8, 7, 6],
    wShape: [8, 8, 3, 3],
    bias: true,
    options: { padding: 1, stride: [2, 1] },
  },
  {
    xShape: [2, 6, 5, 6],
    wShape: [6, 2, 3, 3],
    bias: false,
    options: { layout: 'NHWC', groups: 3, padding: [1, 0, 0, 1], dilation: 2 },
  },
];

function tensors(layer: Layer, seed: number) {
  const d = describeConv(layer.xShape, layer.wShape, layer.bias ? [layer.wShape[0]] : null, {
    ...layer.options,
  });
  const t = (shape: readonly number[], size: number, s: number): Tensor => ({
    shape: [...shape],
    data: randomData(size, s),
  });
  return {
    d,
    x: t(d.xShape, d.xSize, seed),
    w: t(d.wShape, d.wSize, seed + 1),
    b: layer.bias ? t([d.outChannels], d.outChannels, seed + 2) : null,
    dy: t(d.yShape, d.ySize, seed + 3),
  };
}

const data = async (t: Tensor | DeviceTensor | null) =>
  t && ('read' in t ? (await t.read()).data : t.data);

/** The stats a plan call may change, to compare before and after. */
const counts = (b: GpujsBackend) => {
  const { compiles, uploads, readbacks, textures } = b.stats;
  return { compiles, uploads, readbacks, textures };
};

for (const mode of TESTED_MODES.filter((m) => availability[m].available)) {
  const gl = mode === 'headlessgl';
  describe(`gpujs:${mode}: plans`, () => {
    let backend: GpujsBackend;
    const ready = createGpujsBackend({ mode }).then((b) => {
      backend = b;
    });
    afterAll(() => backend?.dispose());

    for (const layer of LAYERS) {
      const what = `${layer.options.layout ?? 'NCHW'} ${layer.wShape.join('x')}`;
      it(`${what}: plan results equal the one-shot calls, host and resident`, async () => {
        await ready;
        const { d, x, w, b, dy } = tensors(layer, 5);
        const y1 = await backend.forward(x, w, b, layer.options);
        const g1 = await backend.backward(dy, x, w, layer.options);
        const plan = await backend.plan({ ...layer, bias: layer.bias });
        await plan.setWeights(w, b);
        const host = await plan.forward(x, { save: true });
        const gHost = await plan.backward(dy, host.saved ?? x);
        const resident = await plan.forward(x, { resident: true, save: true });
        const gRes = await plan.backward(dy, resident.saved ?? x, { resident: true });
        for (const y of [host.y, resident.y]) expect(await data(y)).toEqual(y1.data);
        for (const g of [gHost, gRes]) {
          expect(await data(g.dx)).toEqual(g1.dx?.data);
          expect(await data(g.dw)).toEqual(g1.dw?.data);
          expect(await data(g.db)).toEqual(g1.db?.data);
        }
        // ... and the oracle, so equal results cannot be equally wrong.
        const ref = refForward(d, x.data, w.data, b?.data ?? null);
        expect(worstError(host.y.data, ref, d.reductionLength).ratio).toBeLessThanOrEqual(1);
        const refG = refBackward(d, dy.data, x.data, w.data);
        const long = d.batch * d.outHeight * d.outWidth;
        expect(worstError(gHost.dw?.data as Float32Array, refG.dw, long).ratio).toBeLessThanOrEqual(
          1,
        );
        plan.dispose();
        resident.y.dispose();
        for (const g of Object.values(gRes)) g?.dispose();
      });
    }

    it('compiles its kernels when made; calls compile nothing; W is uploaded once', async () => {
      await ready;
      const layer = LAYERS[0];
      const { x, w, b, dy } = tensors({ ...layer, xShape: [1, 8, 9, 9] }, 21);
      const before = counts(backend);
      const plan = await backend.plan({ ...layer, xShape: [1, 8, 9, 9] });
      const made = counts(backend);
      expect(made.compiles).toBeGreaterThan(before.compiles);
      await plan.setWeights(w, b);
      const set = counts(backend);
      // GL: the weights and the bias go to textures once; other modes have no device memory.
      expect(set.uploads - made.uploads).toBe(gl ? 2 : 0);
      const all = { dx: true, dw: true, db: true };
      for (let i = 0; i < 3; i++) {
        const { saved } = await plan.forward(x, { save: true });
        await plan.backward(dy, saved ?? x, { wanted: all });
        saved?.dispose();
      }
      if (gl) {
        // Every gradient subset runs the plan's kernels: no compile either.
        for (const wanted of [{ dx: false }, { dw: false, db: false }, { dx: false, dw: false }]) {
          await plan.backward(dy, x, { wanted });
        }
      }
      const after = counts(backend);
      expect(after.compiles).toBe(made.compiles);
      // Per call: x (forward) and dy (backward) go up, W never again; y, dx, dw, db come back.
      expect(after.uploads - set.uploads).toBe(gl ? 3 * 2 + 3 * 2 : 0);
      expect(after.readbacks - set.readbacks).toBe(gl ? 3 * 4 + (2 + 1 + 1) : 0);
      plan.dispose();
    });

    it('a resident chain forward -> forward -> backward -> backward reads nothing back until read()', async () => {
      await ready;
      // Layer 1: 3 -> 8 channels (NCHW, bias); layer 2: 8 -> 4, stride 2.
      const l1: Layer = {
        xShape: [2, 3, 8, 8],
        wShape: [8, 3, 3, 3],
        bias: true,
        options: { padding: 1 },
      };
      const l2: Layer = {
        xShape: [2, 8, 8, 8],
        wShape: [4, 8, 3, 3],
        bias: false,
        options: { stride: 2 },
      };
      const a = tensors(l1, 31);
      const c = tensors(l2, 41);
      const p1 = await backend.plan(l1);
      const p2 = await backend.plan(l2);
      await p1.setWeights(a.w, a.b);
      await p2.setWeights(c.w, null);
      const start = counts(backend);
      const x = await backend.upload(a.x);
      const dy = await backend.upload(c.dy);
      const f1 = await p1.forward(x, { resident: true, save: true });
      const f2 = await p2.forward(f1.y, { resident: true, save: true });
      const g2 = await p2.backward(dy, f2.saved ?? f1.y, { resident: true });
      const g1 = await p1.backward(g2.dx as DeviceTensor, f1.saved ?? x, { resident: true });
      const chained = counts(backend);
      expect(chained.readbacks).toBe(start.readbacks);
      expect(chained.compiles).toBe(start.compiles);
      // x and dy reach the GPU once each (GL); nothing else crosses.
      expect(chained.uploads - start.uploads).toBe(gl ? 2 : 0);
      // Each result is right (one-shot calls on host arrays give the same numbers).
      const y1 = await backend.forward(a.x, a.w, a.b, l1.options);
      const y2 = await backend.forward(y1, c.w, null, l2.options);
      const r2 = await backend.backward(c.dy, y1, c.w, l2.options);
      const r1 = await backend.backward(r2.dx as Tensor, a.x, a.w, l1.options);
      const reads = counts(backend).readbacks;
      expect(await data(f1.y)).toEqual(y1.data);
      expect(await data(f2.y)).toEqual(y2.data);
      for (const k of ['dx', 'dw', 'db'] as const) {
        expect(await data(g2[k])).toEqual(r2[k]?.data);
        expect(await data(g1[k])).toEqual(r1[k]?.data);
      }
      expect(counts(backend).readbacks - reads).toBe(gl ? 8 : 0);
      p1.dispose();
      p2.dispose();
      for (const t of [x, dy, f1.y, f2.y, ...Object.values(g1), ...Object.values(g2)]) t?.dispose();
    });

    it('resident results survive later calls (gpu.js reuses output textures unless immutable)', async () => {
      await ready;
      const layer = LAYERS[0];
      const one = tensors(layer, 51);
      const two = tensors(layer, 61);
      const plan = await backend.plan(layer);
      await plan.setWeights(one.w, one.b);
      const first = await plan.forward(one.x, { resident: true, save: true });
      const g1 = await plan.backward(one.dy, first.saved ?? one.x, { resident: true });
      // Same kernels again, other inputs: forward, its upload kernel, every gradient kernel.
      const second = await plan.forward(two.x, { resident: true, save: true });
      const g2 = await plan.backward(two.dy, second.saved ?? two.x, { resident: true });
      // The saved state of the first forward still holds the first x.
      const again = await plan.backward(one.dy, first.saved ?? one.x, { wanted: { dx: false } });
      const y1 = await backend.forward(one.x, one.w, one.b, layer.options);
      const y2 = await backend.forward(two.x, one.w, one.b, layer.options);
      const r1 = await backend.backward(one.dy, one.x, one.w, layer.options);
      const r2 = await backend.backward(two.dy, two.x, one.w, layer.options);
      expect(await data(first.y)).toEqual(y1.data);
      expect(await data(second.y)).toEqual(y2.data);
      for (const k of ['dx', 'dw', 'db'] as const) {
        expect(await data(g1[k])).toEqual(r1[k]?.data);
        expect(await data(g2[k])).toEqual(r2[k]?.data);
      }
      expect(again.dw?.data).toEqual(r1.dw?.data);
      expect(y1.data).not.toEqual(y2.data);
      plan.dispose();
      for (const t of [first.y, second.y, ...Object.values(g1), ...Object.values(g2)]) t?.dispose();
    });

    it('a device tensor from a plan of the other layout is moved to the dims this plan reads', async () => {
      await ready;
      // Same shape [1, 4, 4, 4], read as NCHW by one plan and as NHWC by the other.
      const nchw: Layer = {
        xShape: [1, 4, 4, 4],
        wShape: [4, 4, 3, 3],
        bias: false,
        options: { padding: 1 },
      };
      const nhwc: Layer = { ...nchw, options: { padding: 1, layout: 'NHWC' } };
      const a = tensors(nchw, 81);
      const c = tensors(nhwc, 91);
      const pa = await backend.plan(nchw);
      const pc = await backend.plan(nhwc);
      await pa.setWeights(a.w);
      await pc.setWeights(c.w);
      const y = await pa.forward(a.x, { resident: true });
      const before = counts(backend);
      const z = await pc.forward(y.y, { resident: true });
      const moved = counts(backend);
      // GL: read back once and uploaded again in the NHWC dims; elsewhere nothing to move.
      expect(moved.readbacks - before.readbacks).toBe(gl ? 1 : 0);
      expect(moved.uploads - before.uploads).toBe(gl ? 1 : 0);
      const ya = await backend.forward(a.x, a.w, null, nchw.options);
      const want = await backend.forward(ya, c.w, null, nhwc.options);
      expect(await data(z.y)).toEqual(want.data);
      // Read again by its own layout: moved back, still right.
      expect(await data((await pa.forward(y.y)).y)).toEqual(
        (await backend.forward(ya, a.w, null, nchw.options)).data,
      );
      pa.dispose();
      pc.dispose();
      y.y.dispose();
      z.y.dispose();
    });

    it('a device tensor disposed while a call reading it waits in the queue is a disposed error', async () => {
      await ready;
      const layer = LAYERS[0];
      const { x, w, b } = tensors(layer, 101);
      const plan = await backend.plan(layer);
      await plan.setWeights(w, b);
      const xd = await backend.upload(x);
      // The engine's queue is busy with a one-shot call, so the plan call waits.
      const busy = backend.forward(x, w, b, layer.options);
      const waiting = plan.forward(xd, { resident: true });
      xd.dispose();
      await busy;
      if (gl) await expect(waiting).rejects.toMatchObject({ code: 'disposed' });
      // A CPU mode's device tensor is a host array: the call already has its data.
      else (await waiting).y.dispose();
      plan.dispose();
    });

    it('disposing device tensors, saved states and the plan frees every texture', async () => {
      await ready;
      const layer = LAYERS[1];
      const { x, w, dy } = tensors(layer, 71);
      const before = backend.stats.textures;
      const plan = await backend.plan(layer);
      await plan.setWeights(w);
      const xd = await backend.upload(x);
      const f = await plan.forward(xd, { resident: true, save: true });
      const g = await plan.backward(dy, f.saved ?? xd, { resident: true });
      // GL: w, saved x, y, dx, dw, db and the uploaded x; elsewhere no textures at all.
      expect(backend.stats.textures - before).toBe(gl ? 7 : 0);
      f.saved?.dispose();
      for (const t of [xd, f.y, g.dx, g.dw, g.db]) t?.dispose();
      expect(backend.stats.textures - before).toBe(gl ? 1 : 0);
      plan.dispose();
      // A plan's dispose runs after the calls queued before it.
      await new Promise((r) => setTimeout(r, 0));
      expect(backend.stats.textures).toBe(before);
    });
  });
}

if (availability.headlessgl.available) {
  describe('gpujs:headlessgl: textures', () => {
    it('a released result deletes its GL texture; the kernel keeps only its current output', async () => {
      const engine = new Engine('headlessgl');
      const textures = new Textures(engine);
      try {
        const desc = describeConv([1, 4, 6, 6], [4, 4, 3, 3], null, { padding: 1 });
        const plan = await createEnginePlan(engine, textures, desc);
        // Compiled when made (gpu.js would otherwise build each kernel on its first call).
        for (const ks of [forwardSource(desc, 4), dxSource(desc, 4), dwSource(desc, 4)]) {
          const run = engine.textureKernel(ks);
          expect((run.kernel as unknown as { built: boolean }).built).toBe(true);
        }
        expect(engine.stats.uploads).toBe(0);
        await plan.setWeights(randomData(desc.wSize, 1), null);
        const request = { save: false, resident: true, out: null };
        const run = async (seed: number) =>
          (await plan.forward(randomData(desc.xSize, seed), request)).y as TextureTensor;
        const a = await run(2);
        const b = await run(3);
        const ta = a.texture as GpuTexture & { texture: { _refs: number }; _deleted: boolean };
        const tb = b.texture as GpuTexture & { texture: { _refs: number } };
        expect(ta.texture).not.toBe(tb.texture);
        // a's GL texture is ours alone (the kernel moved on to b's): releasing it frees it.
        textures.store.release(a);
        expect(ta._deleted).toBe(true);
        expect(ta.texture._refs).toBe(0);
        // b's is also the kernel's current output: released here, kept by the kernel for reuse.
        textures.store.release(b);
        expect(tb.texture._refs).toBe(1);
        plan.dispose?.();
        expect(engine.stats.textures).toBe(0);
      } finally {
        engine.dispose();
      }
    });
  });
}
