import { describeConv } from '@conv2d/core';
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/engine.js';
import { WebAssemblyKernel, WebGPUKernel } from '../src/gpujs.js';
import { flatten, PackedResult, readPacked } from '../src/readback.js';
import { forwardSource, type KernelSource } from '../src/sources.js';
import { randomData } from './reference.js';

type ShapeOutput = (data: Float32Array, output: number[], componentCount: number) => unknown;
/** gpu.js's own result shaping (plain JavaScript, so webgpu's runs here without Dawn). */
const shapers: [string, ShapeOutput][] = [
  [
    'webgpu',
    (WebGPUKernel as unknown as { prototype: { _shapeOutput: ShapeOutput } }).prototype
      ._shapeOutput,
  ],
  [
    'webasm',
    (WebAssemblyKernel as unknown as { prototype: { _shapeOutput: ShapeOutput } }).prototype
      ._shapeOutput,
  ],
];

const sources: [string, Pick<KernelSource, 'output' | 'lanes' | 'laneAxis'>][] = [
  ['4 lanes along z (NCHW activations)', { output: [5, 3, 6], lanes: 4, laneAxis: 2 }],
  ['4 lanes along y (dW)', { output: [9, 2, 3], lanes: 4, laneAxis: 1 }],
  ['4 lanes along x (NHWC activations)', { output: [8, 3, 2], lanes: 4, laneAxis: 0 }],
  ['1 lane, 3-D', { output: [5, 3, 6], lanes: 1, laneAxis: 2 }],
  ['1 lane, 1-D (db)', { output: [7], lanes: 1, laneAxis: 0 }],
];

describe('packed readback (readback.ts)', () => {
  for (const [backend, shape] of shapers) {
    for (const [what, partial] of sources) {
      it(`${what}: the packed result unpacks like gpu.js ${backend}'s nested one`, () => {
        const ks = { source: '', longestLoop: 1, ...partial } as KernelSource;
        const size = ks.output.reduce((a, b) => a * b, 1) * ks.lanes;
        const data = randomData(size, size);
        const nested = flatten(shape.call({}, data.slice(), ks.output, ks.lanes), ks, size);
        const packed = flatten(new PackedResult(data.slice(), ks.lanes), ks, size);
        expect(packed).toEqual(nested);
        // every value lands somewhere exactly once
        expect([...packed].sort()).toEqual([...data].sort());
      });
    }
  }

  it('refuses a packed result of the wrong size or lane count', () => {
    const ks: KernelSource = {
      source: '',
      longestLoop: 1,
      output: [2, 2, 2],
      lanes: 4,
      laneAxis: 2,
    };
    expect(() => flatten(new PackedResult(new Float32Array(31), 4), ks, 32)).toThrow(/31 values/);
    expect(() => flatten(new PackedResult(new Float32Array(32), 1), ks, 32)).toThrow(/1 lanes/);
  });

  it('replaces _shapeOutput only where a kernel has it, and reports each read', () => {
    let reads = 0;
    const onRead = () => {
      reads++;
    };
    const gpuLike = { _shapeOutput: () => 'nested' as unknown };
    expect(readPacked(gpuLike, onRead)).toBe(true);
    const data = new Float32Array(8);
    const shaped = (gpuLike._shapeOutput as unknown as ShapeOutput)(data, [2], 4);
    expect(shaped).toBeInstanceOf(PackedResult);
    expect(reads).toBe(1);
    expect((shaped as PackedResult).data).toBe(data);
    expect((shaped as PackedResult).componentCount).toBe(4);
    expect(readPacked({ run: () => 0 }, onRead)).toBe(false);
  });
});

describe('Engine: packed readback and call phases (webasm)', () => {
  it('every kernel it creates, a pipeline clone included, reads back packed; phases add up', async () => {
    const engine = new Engine('webasm');
    try {
      const desc = describeConv([1, 4, 5, 5], [8, 4, 3, 3], null, { padding: 1 });
      const x = randomData(desc.xSize, 1);
      const w = randomData(desc.wSize, 2);
      const dy = randomData(desc.ySize, 3);
      expect(forwardSource(desc).lanes).toBe(4);
      for (let i = 0; i < 2; i++) {
        const start = performance.now();
        await engine.forward(desc, x, w, null);
        const ms = performance.now() - start;
        const last = engine.stats.last;
        expect(last?.call).toBe('forward');
        expect(last?.compiled).toBe(i === 0);
        const phases = [last?.submitMs, last?.waitMs, last?.shapeMs, last?.unpackMs] as number[];
        for (const p of phases) expect(p).toBeGreaterThanOrEqual(0);
        expect(phases.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(ms + 1e-6);
      }
      await engine.backward(desc, dy, x, w, { dx: true, dw: true, db: true });
      expect(engine.stats.last?.call).toBe('backward');
      const kernels = (engine as unknown as { gpu: { kernels: object[] } }).gpu.kernels;
      // forward, dx, dw, db, and the pipeline's private copies of the last three
      expect(kernels.length).toBeGreaterThanOrEqual(7);
      for (const k of kernels) expect(Object.hasOwn(k, '_shapeOutput')).toBe(true);
    } finally {
      engine.dispose();
    }
  });
});

describe('lanes', () => {
  it('4 channels per thread where the channel count allows and lanes 4 is asked, else 1', () => {
    const desc = describeConv([1, 8, 5, 5], [8, 8, 3, 3], null, {});
    expect(forwardSource(desc).lanes).toBe(4);
    expect(forwardSource(desc, 1).lanes).toBe(1);
    expect(forwardSource(desc, 1).output).toEqual([3, 3, 8]);
    expect(forwardSource(describeConv([1, 8, 5, 5], [6, 8, 3, 3], null, {}), 4).lanes).toBe(1);
  });
});
