import { type BackendProvider, registerBackend, unregisterBackend } from '@conv2d/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectBackends, formatReport, formatTable } from '../src/cli/backends.js';
import { standardProviders } from '../src/index.js';

const naive = standardProviders.find((p) => p.name === 'naive') as BackendProvider;

// Stands in for an engine that cannot run here (a GPU mode on a machine without one).
const gpu: BackendProvider = {
  name: 'gpujs',
  variants: ['webgpu'],
  description: 'fake gpujs',
  probe: async (variant) =>
    variant === 'webgpu' ? { available: false, reason: 'no adapter' } : { available: true },
  create: () => Promise.reject(new Error('no GPU here')),
};

beforeAll(() => {
  registerBackend(naive);
  registerBackend(gpu);
});
afterAll(() => {
  unregisterBackend('naive');
  unregisterBackend('gpujs');
});

describe('pnpm conv2d backends', () => {
  it('lists every spec with availability, capabilities and the selection', async () => {
    const before = process.env.CONV2D_BACKEND;
    delete process.env.CONV2D_BACKEND;
    try {
      const report = await collectBackends();
      expect(report.rows.map((r) => [r.spec, r.available])).toEqual([
        ['naive', true],
        ['gpujs', false],
        ['gpujs:webgpu', false],
      ]);
      expect(report.rows[0]?.capabilities?.accumulation).toBe('float64');
      // probe passed, create failed: shown as unavailable with both facts
      expect(report.rows[1]?.reason).toBe('probe passed but create failed: no GPU here');
      expect(report.rows[2]?.reason).toBe('no adapter');
      expect(report.selected).toBe('naive');
      expect(report.skipped.map((s) => s.spec)).toEqual(['gpujs:webgpu', 'im2col']);

      const text = formatReport(report);
      expect(text).toMatch(/^spec {2,}available {2}layouts/);
      expect(text).toMatch(/\nnaive \* +yes +NCHW,NHWC +yes +yes +2\^31-1 +float64 +direct\n/);
      expect(text).toMatch(/\ngpujs:webgpu +no +no adapter\n/);
      expect(text).toContain('selected here (*): naive\n  skipped gpujs:webgpu: no adapter');
    } finally {
      if (before !== undefined) process.env.CONV2D_BACKEND = before;
    }
  });

  it('reports a CONV2D_BACKEND that cannot run as a failed selection', async () => {
    process.env.CONV2D_BACKEND = 'gpujs:webgpu';
    try {
      const report = await collectBackends();
      expect(report.selected).toBeNull();
      expect(formatReport(report)).toContain(
        'selection failed: [unavailable] CONV2D_BACKEND is "gpujs:webgpu"; expected a backend that runs here: no adapter',
      );
    } finally {
      delete process.env.CONV2D_BACKEND;
    }
  });

  it('pads table columns to the widest cell', () => {
    expect(formatTable(['a', 'bb'], [['ccc', 'd']])).toBe('a    bb\n---  --\nccc  d');
  });
});

describe('conv2d --import', () => {
  it('registers the backendProvider a module exports, then runs the command', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'conv2d-import-'));
    try {
      const mine = join(dir, 'mine.mjs');
      writeFileSync(
        mine,
        `export const backendProvider = { name: 'mine', variants: [], description: 'mine',
          probe: async () => ({ available: false, reason: 'only a test' }),
          create: async () => { throw new Error('unreachable'); } };\n`,
      );
      // the built bin, as users run it (turbo builds it before the tests)
      const bin = new URL('../dist/cli.js', import.meta.url).pathname;
      const run = (...args: string[]) =>
        execFileSync(process.execPath, [bin, ...args], {
          encoding: 'utf8',
          env: { ...process.env, CONV2D_BACKEND: '' },
        });
      expect(run('backends', '--json', '--import', mine)).toContain('"reason": "only a test"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
