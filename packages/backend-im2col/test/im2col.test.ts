import { describeConv } from '@conv2d/core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Im2colBackend, Im2colBackendOptions } from '../src/index.js';
import { backendMaker } from './backends.js';
import { type Case, cases, convInputs } from './cases.js';
import { reference, worstError } from './reference.js';

const make = backendMaker();

/** Checks every pass of one case against the float64 loops. */
async function check(backend: Im2colBackend, c: Case, layout: 'NCHW' | 'NHWC', seed: number) {
  const { x, w, b, dy, options } = convInputs(c, layout, seed);
  const want = reference(x, w, b, dy, options);
  const d = describeConv(x.shape, w.shape, b?.shape, options);
  // Float32 sums of length L drift by about sqrt(L) ulps of the terms' size.
  const tol = (length: number) => 2e-6 * Math.sqrt(length) * 4 + 1e-6;
  const y = await backend.forward(x, w, b, options);
  expect(y.shape).toEqual([...d.yShape]);
  expect(worstError(y.data, want.y, tol(d.reductionLength))).toBeLessThanOrEqual(0);
  const g = await backend.backward(dy, x, w, options);
  const reductionDx = d.outChannelsPerGroup * d.kernelHeight * d.kernelWidth;
  const reductionDw = d.batch * d.outHeight * d.outWidth;
  expect(worstError(g.dx?.data as Float32Array, want.dx, tol(reductionDx))).toBeLessThanOrEqual(0);
  expect(worstError(g.dw?.data as Float32Array, want.dw, tol(reductionDw))).toBeLessThanOrEqual(0);
  expect(worstError(g.db?.data as Float32Array, want.db, tol(reductionDw))).toBeLessThanOrEqual(0);
}

export const configurations: [string, Im2colBackendOptions][] = [
  ['col2im, 1 thread', { dxMethod: 'col2im', threads: 1 }],
  ['transposed, 1 thread', { dxMethod: 'transposed', threads: 1 }],
  ['col2im, 2 threads', { dxMethod: 'col2im', threads: 2, minThreadedFlops: 4e6 }],
  ['transposed, 2 threads', { dxMethod: 'transposed', threads: 2, minThreadedFlops: 4e6 }],
  ['col2im, 4 KiB workspace', { dxMethod: 'col2im', threads: 1, workspaceBytes: 4096 }],
  [
    'transposed, 4 KiB workspace, 2 threads',
    { dxMethod: 'transposed', threads: 2, workspaceBytes: 4096, minThreadedFlops: 4e6 },
  ],
];

describe.each(configurations)('im2col %s', (_label, options) => {
  let backend: Im2colBackend;
  beforeAll(async () => {
    backend = await make(options);
  });
  for (const layout of ['NCHW', 'NHWC'] as const) {
    it.each(cases.map((c, i) => [c.name, c, i] as const))(`${layout} %s`, async (_n, c, i) => {
      await check(backend, c, layout, 1000 + i * 17);
    });
  }
  it('used the worker pool as configured', () => {
    expect(backend.stats.threadedJobs > 0).toBe((options.threads ?? 1) > 1);
  });
});
