import { afterAll, describe, expect, it } from 'vitest';
import { createIm2colBackend, type Im2colBackend } from '../src/index.js';

// Issue 12: strides past 2^31 gave y = 0 (2^31) or an untyped Wasm "divide by zero" trap (2^40).
describe('strides, paddings and dilations past 32 bits', () => {
  const backends: Im2colBackend[] = [];
  afterAll(() => {
    for (const b of backends) b.dispose();
  });
  const specs = [
    { dxMethod: 'col2im', threads: 1 },
    { dxMethod: 'transposed', threads: 1 },
    { dxMethod: 'col2im', threads: 2 },
  ] as const;
  const x = { shape: [1, 1, 3, 3], data: Float32Array.from([0.75, 2, 3, 4, 5, 6, 7, 8, 9]) };
  const w = { shape: [1, 1, 1, 1], data: Float32Array.from([-1.5]) };
  const dy = { shape: [1, 1, 1, 1], data: Float32Array.from([0.25]) };

  for (const settings of specs) {
    for (const stride of [2 ** 31, 2 ** 40]) {
      it(`stride ${stride} reads x[0,0,0,0] only (${settings.dxMethod}, ${settings.threads} thread(s))`, async () => {
        const backend = await createIm2colBackend(settings);
        backends.push(backend);
        // One output; each result is a single product, rounded once.
        const y = await backend.forward(x, w, null, { stride });
        expect(y).toEqual({ shape: [1, 1, 1, 1], data: Float32Array.from([0.75 * -1.5]) });
        const g = await backend.backward(dy, x, w, { stride });
        const dx = new Float32Array(9);
        dx[0] = 0.25 * -1.5;
        expect(g.dx?.data).toEqual(dx);
        expect(g.dw?.data).toEqual(Float32Array.from([0.25 * 0.75]));
        expect(g.db?.data).toEqual(Float32Array.from([0.25]));
      });
    }
  }

  it('rejects, typed and before running, padding that no smaller equivalent brings under 2^30', async () => {
    // 2^16 input rows at stride 2^16-1 under 2^31 rows of top padding: consecutive outputs both
    // read the input, which pins stride and padding; 32770 outputs, fine for the float64 oracle.
    const backend = await createIm2colBackend({ threads: 1 });
    backends.push(backend);
    const tall = { shape: [1, 1, 2 ** 16, 1], data: new Float32Array(2 ** 16) };
    const call = backend.forward(tall, w, null, {
      stride: [2 ** 16 - 1, 1],
      padding: [2 ** 31, 0, 0, 0],
    });
    await expect(call).rejects.toMatchObject({ code: 'too-large', argument: 'options.padding' });
  });
});
