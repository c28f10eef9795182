import { loadFixtures, runFixture } from '@conv2d/conformance';
import type { ConvDescription } from '@conv2d/core';
import { describe, expect, it, vi } from 'vitest';
import { createGpujsBackend, type KernelFamily } from '../src/index.js';
import type { KernelSource } from '../src/sources.js';
import { availability } from './modes.js';

// Every PyTorch fixture with its dW and db split into chunks of two dY rows (however small the
// layer), so the partial-sum and sum kernels meet every option (groups, strides, dilation,
// padding, NHWC, odd row counts: a short last chunk), in headlessgl, both kernel families,
// one-shot calls and plans. loop-limit.test.ts runs the real chunking on large layers.
const chunked = vi.hoisted(() => ({ passes: 0 }));
vi.mock('../src/split-sources.js', async (importOriginal) => {
  const split = await importOriginal<typeof import('../src/split-sources.js')>();
  const twoRows = (d: ConvDescription) => {
    chunked.passes++;
    const rows = d.batch * d.outHeight;
    return { rows: Math.min(2, rows), chunks: Math.ceil(rows / 2) };
  };
  return {
    ...split,
    splitRows: (ks: KernelSource, d: ConvDescription, oneLane: boolean) =>
      split.splitRows(ks, d, oneLane, twoRows),
  };
});

const fixtures = loadFixtures();

describe.runIf(availability.headlessgl.available)(
  'headlessgl, dW and db in chunks of 2 rows',
  () => {
    for (const kernels of ['block', 'gather'] as KernelFamily[]) {
      it(`${fixtures.length} fixtures, one-shot and plans (${kernels} kernels)`, async () => {
        const backend = await createGpujsBackend({ mode: 'headlessgl', kernels });
        const before = chunked.passes;
        const failed: string[] = [];
        for (const { fixture } of fixtures) {
          for (const api of ['call', 'plan'] as const) {
            const r = await runFixture(backend, fixture, api);
            if (!r.passed) failed.push(`${api} ${r.name}: ${r.message}`);
          }
        }
        backend.dispose();
        expect(failed).toEqual([]);
        expect(chunked.passes - before).toBeGreaterThan(fixtures.length);
      }, 300_000);
    }
  },
);
