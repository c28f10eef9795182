import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Conv2dError, createBackend, registerBackend, unregisterBackend } from '@conv2d/core';
import { setWasmRelaxedSimd, wasmKernel, wasmRelaxedSimdAvailable } from '@conv2d/gemm';
import { afterAll, describe, expect, it } from 'vitest';
import { backendProvider, createIm2colBackend, DEFAULT_DX_METHOD } from '../src/index.js';
import { random, reference, worstError } from './reference.js';

const x = { shape: [1, 8, 12, 12], data: random(8 * 144, 5) };
const w = { shape: [8, 8, 3, 3], data: random(8 * 72, 6) };
const options = { padding: 1 };

describe('provider and options', () => {
  afterAll(() => unregisterBackend('im2col'));

  it('names itself by spec and offers both dX methods', async () => {
    expect(backendProvider.name).toBe('im2col');
    expect(backendProvider.variants).toEqual(['col2im', 'transposed']);
    registerBackend(backendProvider);
    for (const spec of ['im2col', 'im2col:col2im', 'im2col:transposed']) {
      const b = await createBackend(spec, { threads: 1 });
      expect(b.name).toBe(spec);
      expect(b.capabilities.dxMethods).toEqual(['col2im', 'transposed']);
      b.dispose();
    }
    const def = await createIm2colBackend({ threads: 1 });
    expect(def.dxMethod).toBe(DEFAULT_DX_METHOD);
    def.dispose();
  });

  it('rejects an unknown variant as unavailable, never substituting another', async () => {
    await expect(backendProvider.create('direct', {})).rejects.toMatchObject({
      code: 'unavailable',
    });
    expect((await backendProvider.probe('direct')).available).toBe(false);
    expect((await backendProvider.probe('transposed')).available).toBe(true);
  });

  it.each([
    [{ threads: 0 }, 'options.threads'],
    [{ threads: 1.5 }, 'options.threads'],
    [{ workspaceBytes: 10 }, 'options.workspaceBytes'],
    [{ dxMethod: 'fft' }, 'options.dxMethod'],
    [{ keepIm2col: 'yes' }, 'options.keepIm2col'],
    [{ minThreadedFlops: -1 }, 'options.minThreadedFlops'],
    [{ thread: 2 }, 'options.thread'],
  ])('rejects option %j naming %s', async (bad, argument) => {
    const err = await createIm2colBackend(bad as never).catch((e) => e);
    expect(err).toBeInstanceOf(Conv2dError);
    expect(err.argument).toBe(argument);
  });

  it('gives the same results whatever the workspace size', async () => {
    const big = await createIm2colBackend({ threads: 1 });
    const tiny = await createIm2colBackend({ threads: 1, workspaceBytes: 1024 });
    const y1 = await big.forward(x, w, null, options);
    const y2 = await tiny.forward(x, w, null, options);
    const dy = { shape: y1.shape, data: random(y1.data.length, 8) };
    const g1 = await big.backward(dy, x, w, options);
    const g2 = await tiny.backward(dy, x, w, options);
    for (const [a, b] of [
      [y1.data, y2.data],
      [g1.dx?.data, g2.dx?.data],
      [g1.dw?.data, g2.dw?.data],
    ] as const) {
      const scale = Math.max(...(a as Float32Array).map(Math.abs));
      (a as Float32Array).forEach((v, i) => {
        expect(Math.abs(v - (b as Float32Array)[i])).toBeLessThanOrEqual(1e-5 * scale);
      });
    }
    big.dispose();
    tiny.dispose();
  });

  it('is right on an image group too large to stage in the Wasm GEMM memory (over 4 MiB)', async () => {
    // 65 x 128 x 128 floats per image: the JS loops gather (and scatter) the tiles instead.
    const bx = { shape: [1, 65, 128, 128], data: random(65 * 128 * 128, 11) };
    const bw = { shape: [2, 65, 3, 3], data: random(2 * 65 * 9, 12) };
    const opts = { padding: 1, stride: 2 };
    const backend = await createIm2colBackend({ threads: 1 });
    const y = await backend.forward(bx, bw, null, opts);
    const dy = { shape: y.shape, data: random(y.data.length, 13) };
    const { dx, dw } = await backend.backward(dy, bx, bw, opts, { dx: true, dw: true, db: false });
    const want = reference(bx, bw, null, dy, opts);
    expect(worstError(y.data, want.y, 1e-4)).toBeLessThanOrEqual(0);
    expect(worstError(dx?.data as Float32Array, want.dx, 1e-4)).toBeLessThanOrEqual(0);
    expect(worstError(dw?.data as Float32Array, want.dw, 1e-3)).toBeLessThanOrEqual(0);
    backend.dispose();
  });

  it('rejects calls after dispose', async () => {
    const b = await createIm2colBackend({ threads: 2 });
    b.dispose();
    await expect(b.forward(x, w, null, options)).rejects.toMatchObject({ code: 'disposed' });
  });
});

describe('worker threads', () => {
  it('lets a process exit with an idle pool, disposed or not', () => {
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    for (const dispose of [true, false]) {
      const script = `
        import { createIm2colBackend } from ${JSON.stringify(dist)};
        const b = await createIm2colBackend({ threads: 2, minThreadedFlops: 0 });
        const y = await b.forward({ shape: [1, 4, 16, 16], data: new Float32Array(1024).fill(1) },
          { shape: [4, 4, 3, 3], data: new Float32Array(144).fill(1) }, null, { padding: 1 });
        ${dispose ? 'b.dispose();' : ''}
        console.log(b.stats.threadedJobs, y.data[17]);`;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        timeout: 20_000,
        encoding: 'utf8',
      });
      expect(out.trim()).toBe('1 36');
    }
  });

  it('runs overlapping calls on one pool correctly', async () => {
    const b = await createIm2colBackend({ threads: 2, minThreadedFlops: 0 });
    const one = await createIm2colBackend({ threads: 1 });
    const inputs = [1, 2, 3].map((seed) => ({ shape: x.shape, data: random(x.data.length, seed) }));
    const together = await Promise.all(inputs.map((xi) => b.forward(xi, w, null, options)));
    for (const [i, xi] of inputs.entries()) {
      const alone = await one.forward(xi, w, null, options);
      alone.data.forEach((v, k) => {
        expect(Math.abs(v - together[i].data[k])).toBeLessThanOrEqual(1e-5);
      });
    }
    expect(b.stats.threadedJobs).toBe(3);
    b.dispose();
    one.dispose();
  });

  it.runIf(wasmRelaxedSimdAvailable())(
    "runs the workers on the caller's Wasm build (setWasmRelaxedSimd)",
    async () => {
      // ~150 MFLOP in 6 tasks: long enough that the worker takes some of them
      const big = { shape: [2, 32, 64, 64], data: random(2 * 32 * 4096, 9) };
      const wb = { shape: [32, 32, 3, 3], data: random(32 * 288, 10) };
      const one = await createIm2colBackend({ threads: 1 });
      const two = await createIm2colBackend({ threads: 2, minThreadedFlops: 0 });
      try {
        const relaxed = await one.forward(big, wb, null, options);
        // A fresh pool's first job runs on the caller alone (the worker is still starting).
        await two.forward(big, wb, null, options);
        await new Promise((resolve) => setTimeout(resolve, 300));
        setWasmRelaxedSimd(false);
        expect(wasmKernel()).toBe('wasm-simd');
        const plain = await one.forward(big, wb, null, options);
        // the builds round differently here (fused multiply-add), so a mix would show
        expect(plain.data.some((v, i) => v !== relaxed.data[i])).toBe(true);
        const threaded = await two.forward(big, wb, null, options);
        expect(two.stats.threadedJobs).toBe(2);
        const differing = threaded.data.filter((v, i) => v !== plain.data[i]).length;
        expect(differing).toBe(0);
      } finally {
        setWasmRelaxedSimd(true);
        one.dispose();
        two.dispose();
      }
    },
  );

  it('starts its workers from the CommonJS build too', () => {
    const dist = fileURLToPath(new URL('../dist/index.cjs', import.meta.url));
    const script = `
      const { createIm2colBackend } = require(${JSON.stringify(dist)});
      createIm2colBackend({ threads: 2, minThreadedFlops: 0 }).then(async (b) => {
        const y = await b.forward({ shape: [1, 4, 16, 16], data: new Float32Array(1024).fill(1) },
          { shape: [4, 4, 3, 3], data: new Float32Array(144).fill(1) }, null, { padding: 1 });
        console.log(b.stats.threadedJobs, y.data[17]);
      });`;
    const out = execFileSync(process.execPath, ['-e', script], {
      timeout: 20_000,
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('1 36');
  });
});
