import {
  type Conv2dOptions,
  describeConv,
  type Layout,
  type SavedActivations,
  type Tensor,
} from '@conv2d/core';
import { gemmImplementation, setGemmImplementation } from '@conv2d/gemm';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../src/engine.js';
import type { Im2colBackendOptions } from '../src/index.js';
import { WorkerPool } from '../src/pool.js';
import { backendMaker } from './backends.js';
import { convInputs } from './cases.js';
import { random } from './reference.js';

/** What is specific to this engine's plans; describeConformance checks plans in general. */

const make = backendMaker();

interface Conv {
  name: string;
  x: number[];
  w: number[];
  options: Conv2dOptions;
}

const CONVS: Conv[] = [
  { name: '3x3 pad 1', x: [2, 6, 9, 8], w: [8, 6, 3, 3], options: { padding: 1 } },
  { name: '1x1 stride 2', x: [1, 16, 7, 7], w: [24, 16, 1, 1], options: { stride: 2 } },
  { name: 'pointwise', x: [2, 8, 5, 5], w: [12, 8, 1, 1], options: {} },
  {
    name: 'depthwise 3x3',
    x: [2, 8, 10, 10],
    w: [8, 1, 3, 3],
    options: { padding: 1, groups: 8 },
  },
  {
    name: 'grouped, strided, dilated',
    x: [1, 8, 11, 9],
    w: [12, 4, 3, 2],
    options: { stride: [2, 1], dilation: [1, 2], padding: [1, 0, 2, 1], groups: 2 },
  },
];

/** A convolution's inputs, with a bias. */
function inputs(c: Conv, layout: Layout, seed: number) {
  const i = convInputs(c, layout, seed);
  return { ...i, b: i.b as Tensor };
}

const same = (a: Tensor | null | undefined, b: Tensor | null | undefined) =>
  expect(Array.from(a?.data ?? [])).toEqual(Array.from(b?.data ?? []));

const CONFIGS: [string, Im2colBackendOptions][] = [
  ['col2im, 1 thread', { dxMethod: 'col2im', threads: 1 }],
  ['transposed, 1 thread', { dxMethod: 'transposed', threads: 1 }],
  ['col2im, 2 threads', { dxMethod: 'col2im', threads: 2, minThreadedFlops: 0 }],
  ['transposed, 2 threads', { dxMethod: 'transposed', threads: 2, minThreadedFlops: 0 }],
  ['col2im, 1 KiB workspace', { dxMethod: 'col2im', threads: 1, workspaceBytes: 1024 }],
];

describe.each(CONFIGS)('im2col plans, %s', (_label, options) => {
  for (const layout of ['NCHW', 'NHWC'] as const) {
    it.each(CONVS.map((c, i) => [c.name, c, i] as const))(
      `${layout} %s: the one-shot numbers bit for bit, from X_hat or a copy of x`,
      async (_n, c, i) => {
        const backend = await make(options);
        const { x, w, b, dy, options: o, d } = inputs(c, layout, 300 + i * 7);
        const y1 = await backend.forward(x, w, b, o);
        const g1 = await backend.backward(dy, x, w, o);
        const plan = await backend.plan({
          xShape: x.shape,
          wShape: w.shape,
          bias: true,
          options: o,
        });
        await plan.setWeights(w, b);
        const reused = backend.stats.im2colReused;
        const { y, saved } = await plan.forward(x, { save: true });
        same(y, y1);
        const g = await plan.backward(dy, saved as SavedActivations);
        same(g.dx, g1.dx);
        same(g.dw, g1.dw);
        same(g.db, g1.db);
        // X_hat is kept for NCHW GEMM convolutions when it fits the workspace bound
        const xhat = d.batch * d.groups * d.reductionLength * d.outHeight * d.outWidth;
        const gemm = d.groups === 1 || d.inChannelsPerGroup * d.outChannelsPerGroup > 16;
        const pointwise = c.name === 'pointwise';
        // on the Wasm GEMM, only where X_hat is no larger than x (rebuilding its tiles is cheaper)
        const pays = gemmImplementation() !== 'wasm-simd' || xhat <= d.xSize;
        const fits = xhat * 4 <= (backend.workspaceBytes as number);
        const kept = layout === 'NCHW' && gemm && !pointwise && pays && fits;
        expect(backend.stats.im2colReused - reused).toBe(kept ? 1 : 0);
        // backward from x itself gives the same numbers too
        const gx = await plan.backward(dy, x);
        same(gx.dw, g1.dw);
        same(gx.dx, g1.dx);
        plan.dispose();
      },
    );
  }
});

describe('im2col plan state', () => {
  const c = CONVS[0];

  it('prepares each weight layout once per setWeights', async () => {
    const wasm = gemmImplementation() === 'wasm-simd';
    const backend = await make({ threads: 1, dxMethod: 'transposed' });
    const { x, w, b, dy, options } = inputs(c, 'NHWC', 1);
    const plan = await backend.plan({ xShape: x.shape, wShape: w.shape, bias: true, options });
    const packs = () => backend.stats.weightPacks;
    const start = packs();
    await plan.setWeights(w, b);
    for (let k = 0; k < 3; k++) await plan.forward(x);
    expect(packs() - start).toBe(1); // W reordered for the NHWC forward, once
    for (let k = 0; k < 2; k++) await plan.backward(dy, x, { wanted: { dw: false, db: false } });
    // and flipped for the transposed dX, once (and packed for the Wasm GEMM, once)
    const perSet = wasm ? 3 : 2;
    expect(packs() - start).toBe(perSet);
    await plan.setWeights(w, b);
    await plan.forward(x);
    await plan.backward(dy, x);
    expect(packs() - start).toBe(2 * perSet); // all again after new weights
    // the one-shot path prepares per call, and packs nothing for the GEMM
    const oneShot = packs();
    await backend.forward(x, w, b, options);
    await backend.forward(x, w, b, options);
    expect(packs() - oneShot).toBe(2);
  });

  it.runIf(gemmImplementation() === 'wasm-simd')(
    'packs W per group for the Wasm GEMM once, for forward and each dX method',
    async () => {
      for (const dxMethod of ['col2im', 'transposed'] as const) {
        const backend = await make({ threads: 1, dxMethod });
        const { x, w, b, dy, options } = inputs(CONVS[4], 'NCHW', 8); // 2 groups
        const plan = await backend.plan({ xShape: x.shape, wShape: w.shape, bias: true, options });
        await plan.setWeights(w, b);
        const start = backend.stats.weightPacks;
        for (let k = 0; k < 3; k++) await plan.forward(x);
        expect(backend.stats.weightPacks - start).toBe(1);
        for (let k = 0; k < 3; k++) await plan.backward(dy, x, { wanted: { dw: false } });
        // col2im packs Wᵀ; transposed flips W, then packs the flipped kernel
        expect(backend.stats.weightPacks - start).toBe(dxMethod === 'col2im' ? 2 : 3);
        same((await plan.forward(x)).y, await backend.forward(x, w, b, options));
        const g = await plan.backward(dy, x);
        same(g.dx, (await backend.backward(dy, x, w, options)).dx);
      }
    },
  );

  it('uses the new weights after setWeights', async () => {
    const backend = await make({ threads: 1 });
    const { x, w, b, options } = inputs(c, 'NHWC', 2);
    const plan = await backend.plan({ xShape: x.shape, wShape: w.shape, bias: true, options });
    await plan.setWeights(w, b);
    const first = (await plan.forward(x)).y;
    const w2 = { shape: w.shape, data: w.data.map((v) => v * 2) };
    const b2 = { shape: b.shape, data: b.data.map((v) => v * 2) };
    await plan.setWeights(w2, b2);
    same((await plan.forward(x)).y, await backend.forward(x, w2, b2, options));
    expect(Array.from((await plan.forward(x)).y.data)).not.toEqual(Array.from(first.data));
  });

  for (const threads of [1, 2]) {
    it(`writes into out in place, returning those arrays (${threads} thread(s))`, async () => {
      const engine = createEngine({
        threads,
        workspaceBytes: 1 << 20,
        dxMethod: 'col2im',
        minThreadedFlops: 0,
        startPool: threads > 1 ? (n) => WorkerPool.create(n) : null,
      });
      try {
        for (const layout of ['NCHW', 'NHWC'] as const) {
          const { x, w, b, dy, options } = inputs(c, layout, 3);
          const d = describeConv(x.shape, w.shape, b.shape, options);
          const plan = await (engine.plan as NonNullable<typeof engine.plan>)(d);
          await plan.setWeights(w.data, b.data);
          const out = new Float32Array(d.ySize).fill(Number.NaN);
          const r = await plan.forward(x.data, { save: true, resident: false, out });
          expect(r.y).toBe(out);
          expect(out.every(Number.isFinite)).toBe(true);
          const grads = {
            dx: new Float32Array(d.xSize).fill(Number.NaN),
            dw: new Float32Array(d.wSize).fill(Number.NaN),
            db: new Float32Array(d.outChannels).fill(Number.NaN),
          };
          const wanted = { dx: true, dw: true, db: true };
          const g = await plan.backward(dy.data, r.saved, { wanted, resident: false, out: grads });
          expect(g.dx).toBe(grads.dx);
          expect(g.dw).toBe(grads.dw);
          expect(g.db).toBe(grads.db);
          for (const a of Object.values(grads)) expect(a.every(Number.isFinite)).toBe(true);
          plan.release(r.saved);
          plan.dispose?.();
        }
      } finally {
        engine.dispose?.();
      }
    });
  }

  const savedCases: [string, Conv, number, 'typescript' | null, boolean][] = [
    ['X_hat of a strided 1x1 (a quarter of x)', CONVS[1], 1 << 26, null, true],
    [
      'a copy of x when X_hat is over the bound',
      { name: 'wider 1x1 stride 2', x: [1, 32, 9, 9], w: [24, 32, 1, 1], options: { stride: 2 } },
      1024, // X_hat: 32 x 25 floats, 3200 bytes
      null,
      false,
    ],
    ['a copy of x for a 3x3 (rebuilding its X_hat in Wasm is cheaper)', c, 1 << 26, null, false],
    ['X_hat of a 3x3 on the TypeScript GEMM', c, 1 << 26, 'typescript', true],
  ];
  it.each(savedCases)(
    'saves %s: x changed in place after forward leaves the gradients',
    async (_what, conv, workspaceBytes, gemm, xhat) => {
      const before = gemmImplementation();
      if (gemm) setGemmImplementation(gemm);
      try {
        const backend = await make({ threads: 1, workspaceBytes });
        const { x, w, b, dy, options } = inputs(conv, 'NCHW', 4);
        const spec = { xShape: x.shape, wShape: w.shape, bias: true, options };
        const plan = await backend.plan(spec);
        await plan.setWeights(w, b);
        const reused = backend.stats.im2colReused;
        const input = { shape: x.shape, data: x.data.slice() };
        const { saved } = await plan.forward(input, { save: true });
        input.data.fill(7); // the keepIm2col bug: a dW of the changed x
        const g = await plan.backward(dy, saved as SavedActivations);
        const want = await backend.backward(dy, x, w, options);
        same(g.dw, want.dw);
        same(g.dx, want.dx);
        expect(backend.stats.im2colReused - reused).toBe(xhat ? 1 : 0);
      } finally {
        setGemmImplementation(before);
      }
    },
  );

  it('keeps several saved states alive apart, and reuses released ones', async () => {
    const backend = await make({ threads: 1 });
    const { x, w, b, dy, options } = inputs(c, 'NCHW', 5);
    const plan = await backend.plan({ xShape: x.shape, wShape: w.shape, bias: true, options });
    await plan.setWeights(w, b);
    const xs = [0, 1, 2].map((k) => ({ shape: x.shape, data: random(x.data.length, 50 + k) }));
    const saved = [];
    for (const xi of xs) saved.push((await plan.forward(xi, { save: true })).saved);
    for (const [k, s] of saved.entries()) {
      const g = await plan.backward(dy, s as SavedActivations, { wanted: { dx: false } });
      same(g.dw, (await backend.backward(dy, xs[k], w, options, { dx: false })).dw);
    }
    // a released state's buffer serves the next forward, whose numbers are its own
    saved[0]?.dispose();
    const again = (await plan.forward(xs[2], { save: true })).saved as SavedActivations;
    const g = await plan.backward(dy, again, { wanted: { dx: false } });
    same(g.dw, (await backend.backward(dy, xs[2], w, options, { dx: false })).dw);
    const g1 = await plan.backward(dy, saved[1] as SavedActivations, { wanted: { dx: false } });
    same(g1.dw, (await backend.backward(dy, xs[1], w, options, { dx: false })).dw);
  });

  it('runs a single-threaded one-shot call to the end before returning', async () => {
    const backend = await make({ threads: 1 });
    const { x, w, b, dy, options } = inputs(c, 'NCHW', 6);
    const want = await backend.backward(dy, x, w, options);
    const copy = { x: { ...x, data: x.data.slice() }, dy: { ...dy, data: dy.data.slice() } };
    const pending = backend.backward(copy.dy, copy.x, w, options);
    copy.x.data.fill(Number.NaN);
    copy.dy.data.fill(Number.NaN);
    const g = await pending;
    same(g.dx, want.dx);
    same(g.dw, want.dw);
    expect(b.data.length).toBe(w.shape[0]);
  });
});
