import { tensor } from '@conv2d/core';
import { describe, expect, it } from 'vitest';
import { createGpujsBackend } from '../src/index.js';
import { availability } from './modes.js';

// headless-gl's software GL ends a shader loop after 65535 iterations; dW and db sum N·Hout·Wout
// terms in one thread, and past that limit returned a quarter of the sum (bench layer G).
// The pass is refused before any kernel runs, so this costs no GPU work.
const big = { x: [2, 1, 224, 224], w: [1, 1, 1, 1], y: [2, 1, 224, 224] }; // 100352 terms

describe.runIf(availability.headlessgl.available)('headlessgl reduction limit', () => {
  it('refuses dw and db past 65535 terms per thread, one-shot and plan; dx still runs', async () => {
    const backend = await createGpujsBackend({ mode: 'headlessgl' });
    const x = tensor(big.x);
    const w = tensor(big.w, [1]);
    const dy = tensor(big.y);
    await expect(backend.backward(dy, x, w)).rejects.toMatchObject({
      code: 'too-large',
      argument: 'dy.shape',
    });
    const { dx } = await backend.backward(dy, x, w, {}, { dw: false, db: false });
    expect(dx?.shape).toEqual(big.x);
    const plan = await backend.plan({ xShape: big.x, wShape: big.w });
    await plan.setWeights(w);
    await expect(plan.backward(dy, x, { wanted: { dx: false } })).rejects.toMatchObject({
      code: 'too-large',
    });
    backend.dispose();
  });

  it('computes dw and db up to the limit', async () => {
    const backend = await createGpujsBackend({ mode: 'headlessgl' });
    const shape = [1, 1, 224, 224]; // 50176 terms
    const g = await backend.backward(
      tensor(shape, new Float32Array(50176).fill(1)),
      tensor(shape, new Float32Array(50176).fill(1)),
      tensor([1, 1, 1, 1], [1]),
    );
    expect(g.db?.data[0]).toBe(50176);
    expect(g.dw?.data[0]).toBe(50176);
    backend.dispose();
  });
});
