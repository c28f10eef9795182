import { describeConv, isConv2dError } from '@conv2d/core';
import { describe, expect, it } from 'vitest';
import { checkRanInMode } from '../src/engine.js';
import { CPUKernel, HeadlessGLKernel, WebAssemblyKernel } from '../src/gpujs.js';
import { backendProvider, createGpujsBackend, MODES, probeMode } from '../src/index.js';
import { availability, REQUIRE_HEADLESSGL } from './modes.js';
import { randomData, refForward, worstError } from './reference.js';

/** An unavailable mode must be refused with the loader's reason, never replaced by another. */
async function expectRefused(mode: (typeof MODES)[number], reason: string) {
  const err = await createGpujsBackend({ mode }).catch((e) => e);
  expect(isConv2dError(err) && err.code).toBe('unavailable');
  expect(err.message).toContain(reason);
  await expect(backendProvider.create(mode)).rejects.toMatchObject({ code: 'unavailable' });
}

describe('mode availability', () => {
  it('cpu and webasm always run in Node', () => {
    expect(availability.cpu).toEqual({ available: true });
    expect(availability.webasm).toEqual({ available: true });
  });

  it("webgl2 and webgl (the browser's WebGL) are refused in Node, pointing to headlessgl", async () => {
    await expectRefused('webgl2', 'in Node, use headlessgl');
    await expectRefused('webgl', 'in Node, use headlessgl');
  });

  const gl = availability.headlessgl;
  if (gl.available) {
    it('headlessgl: a GL context was created; tensors are limited to maxTextureSize²', async () => {
      const backend = await createGpujsBackend({ mode: 'headlessgl' });
      const side = HeadlessGLKernel.features?.maxTextureSize as number;
      expect(side).toBeGreaterThanOrEqual(4096);
      expect(backend.capabilities.maxElements).toBe(Math.min(side * side, 2 ** 31 - 1));
      backend.dispose();
    });
  } else {
    it(`headlessgl is UNAVAILABLE here: ${gl.reason}`, async () => {
      // Under CI's xvfb-run the mode must run: its whole suite would otherwise be missing.
      expect(REQUIRE_HEADLESSGL, `CONV2D_REQUIRE_HEADLESSGL=1 but: ${gl.reason}`).toBe(false);
      await expectRefused('headlessgl', gl.reason as string);
    });
  }

  it('webgpu: runs a forward pass where an adapter answers, else is refused with the reason', async () => {
    const webgpu = await probeMode('webgpu');
    if (!webgpu.available) {
      expect(webgpu.reason).toMatch(/webgpu|adapter|navigator/i);
      await expectRefused('webgpu', webgpu.reason as string);
      return;
    }
    const backend = await createGpujsBackend({ mode: 'webgpu' });
    const desc = describeConv([1, 2, 5, 5], [3, 2, 3, 3], null, { padding: 1 });
    const x = randomData(desc.xSize, 1);
    const w = randomData(desc.wSize, 2);
    const y = await backend.forward(
      { shape: desc.xShape, data: x },
      { shape: desc.wShape, data: w },
    );
    expect(
      worstError(y.data, refForward(desc, x, w, null), desc.reductionLength).ratio,
    ).toBeLessThanOrEqual(1);
    expect(backend.mode).toBe('webgpu');
    backend.dispose();
  });
});

describe('silent gpu.js fallbacks are caught', () => {
  it('a kernel that ended up on the CPU is refused as unavailable for webasm', () => {
    const fellBack = { kernel: { constructor: CPUKernel, fallbackReason: 'texture argument' } };
    let err: unknown;
    try {
      checkRanInMode(fellBack, 'webasm');
    } catch (e) {
      err = e;
    }
    expect(isConv2dError(err) && err.code).toBe('unavailable');
    expect(String(err)).toContain('texture argument');
    expect(() =>
      checkRanInMode({ kernel: { constructor: WebAssemblyKernel } }, 'webasm'),
    ).not.toThrow();
  });

  it('a GL kernel that lost single precision is refused', () => {
    const run = { kernel: { constructor: HeadlessGLKernel, precision: 'unsigned' } };
    expect(() => checkRanInMode(run, 'headlessgl')).toThrow(/single/);
  });
});

describe('backendProvider', () => {
  it('names its variants and creates each available one as asked', async () => {
    expect(backendProvider.name).toBe('gpujs');
    expect([...backendProvider.variants].sort()).toEqual([...MODES].sort());
    const cpu = await backendProvider.create('cpu');
    expect(cpu.name).toBe('gpujs:cpu');
    cpu.dispose();
    await expect(backendProvider.create('nope')).rejects.toMatchObject({ code: 'unknown-backend' });
  });

  it('gpujs picks the best mode that really works, and says which', async () => {
    const best = await createGpujsBackend();
    expect(best.name).toBe('gpujs');
    const probe = await backendProvider.probe(null);
    expect(probe).toEqual({ available: true, reason: `best mode: ${best.mode}` });
    // Every mode ranked above the chosen one must be unavailable here.
    for (const mode of MODES.slice(0, MODES.indexOf(best.mode))) {
      expect((await probeMode(mode)).available).toBe(false);
    }
    best.dispose();
  });
});
