import { Conv2dError, describeConv } from '@conv2d/core';
import { describe, expect, it } from 'vitest';
import { createGpujsBackend, defaultKernels } from '../src/index.js';
import { hostWgsl } from '../src/wgsl-kernel.js';
import {
  dwTiledSource,
  dxTiledSource,
  forwardTiledSource,
  MIN_TILED_COLUMNS,
} from '../src/wgsl-sources.js';

// The tiled shaders themselves run in webgpu only: test/browser-plans.test.ts checks them against
// the float64 oracle in headless Chromium. Here: what is generated, and for which shapes.
describe('the tiled (WGSL) kernel family', () => {
  it('is the default in webgpu only, and refused elsewhere', async () => {
    expect(defaultKernels('webgpu')).toBe('tiled');
    expect(defaultKernels('cpu')).not.toBe('tiled');
    const refused = await createGpujsBackend({ mode: 'cpu', kernels: 'tiled' }).catch((e) => e);
    expect(refused).toBeInstanceOf(Conv2dError);
    expect(refused.code).toBe('invalid-option');
    expect(refused.message).toMatch(/options\.kernels.*tiled.*webgpu/);
  });

  it('webgpu takes lanes 1 only (a 4-lane buffer cannot feed its next kernel)', async () => {
    const refused = await createGpujsBackend({ mode: 'webgpu', lanes: 4 }).catch((e) => e);
    expect(refused).toBeInstanceOf(Conv2dError);
    expect(refused.code).toBe('invalid-option');
    expect(refused.message).toMatch(/options\.lanes.*4.*1 in mode webgpu/);
  });

  it('dispatches one workgroup per 32x32 tile of each group, and results in tensor order', () => {
    const d = describeConv([2, 64, 56, 56], [96, 32, 3, 3], [96], { padding: 1, groups: 2 });
    const f = forwardTiledSource(d);
    // rows N·Hout·Wout = 6272 -> 196 tiles, 48 output channels per group -> 2, 2 groups.
    expect(f?.wgsl.groups).toEqual([196, 2, 2]);
    expect(f?.output).toEqual([56, 56, 2 * 96]);
    expect(f?.source).toMatch(/^function\(x, wt, b\)/);
    expect(f?.wgsl.body).toMatch(/var<workgroup> tileA/);
    expect(f?.wgsl.body).toMatch(/workgroupBarrier\(\)/);
    // dX: rows N·H·W, 32 input channels per group; dW: 48 filters x (32·9) per group.
    expect(dxTiledSource(d)?.wgsl.groups).toEqual([196, 1, 2]);
    expect(dxTiledSource(d)?.output).toEqual([56, 56, 2 * 64]);
    // dW: 2 x 9 tiles per group, 36 in all: its 6272 positions in ceil(256 / 36) = 8 chunks.
    expect(dwTiledSource(d)?.wgsl.groups).toEqual([2, 9, 2 * 8]);
    expect(dwTiledSource(d)?.sum?.output).toEqual([9, 32, 96]);
  });

  it('leaves narrow passes to the block kernels (a tile of zeros does not pay)', () => {
    const depthwise = describeConv([1, 32, 112, 112], [32, 1, 3, 3], null, {
      padding: 1,
      groups: 32,
    });
    expect(forwardTiledSource(depthwise)).toBeNull();
    expect(dxTiledSource(depthwise)).toBeNull();
    expect(dwTiledSource(depthwise)).toBeNull();
    const stem = describeConv([1, 3, 224, 224], [64, 3, 7, 7], null, { padding: 3, stride: 2 });
    expect(forwardTiledSource(stem)).not.toBeNull();
    expect(dxTiledSource(stem)).toBeNull(); // 3 input channels < MIN_TILED_COLUMNS
    expect(MIN_TILED_COLUMNS).toBeGreaterThan(3);
  });

  it('runs dX one stride phase at a time, over the taps that reach it', () => {
    const strided = describeConv([1, 16, 9, 9], [16, 16, 3, 3], null, { stride: [2, 3] });
    const dx = dxTiledSource(strided);
    // 2 x 3 phases, each its own branch that every workgroup runs for its tile:
    // ceil(9/2) x ceil(9/3) = 15 inputs of phase (0, 0), 4 x 3 = 12 of phase (1, 2).
    expect(dx?.wgsl.groups).toEqual([1, 1, 1]);
    expect(dx?.wgsl.body.match(/if \(m0 < \d+\)/g)?.length).toBe(6);
    expect(dx?.wgsl.body).toMatch(/if \(m0 < 15\)/);
    expect(dx?.wgsl.body).toMatch(/if \(m0 < 12\)/);
    const unit = dxTiledSource(describeConv([1, 16, 9, 9], [16, 16, 3, 3], null, {}));
    expect(unit?.wgsl.groups).toEqual([3, 1, 1]);
    const huge = describeConv([1, 16, 30, 30], [16, 16, 1, 1], null, { stride: 5 });
    expect(dxTiledSource(huge)).toBeNull(); // 25 phases: the block kernels run
  });

  it('splits a dW reduction with few tiles into chunks, and adds them up after', () => {
    const f = describeConv([32, 1, 28, 28], [32, 1, 5, 5], null, { padding: 2 });
    const dw = dwTiledSource(f);
    // One 32x32 tile (32 filters x 25 taps): 25088 positions in chunks of 4 tile steps (128),
    // 196 of them.
    expect(dw?.wgsl.groups).toEqual([1, 1, 196]);
    expect(dw?.output).toEqual([25, 1, 32 * 196]);
    expect(dw?.sum?.output).toEqual([25, 1, 32]);
    expect(dw?.sum?.source).toMatch(/k < 196/);
  });

  it('replaces the shader gpu.js generates, keeping its bindings, and the dispatch', () => {
    const generated =
      'struct Params {}\n@group(0) @binding(1) var<storage, read> user_x : array<f32>;\nvar<private> threadGid : vec3<u32>;\nfn main() {}';
    const kernel = {
      assembleWGSL: () => generated,
      _computeDispatch: () => ({ groups: [1, 1, 1], dispatchWidth: 0 }),
      workgroupSize: [8, 8, 1],
    };
    hostWgsl(kernel, {
      body: 'fn main() { mine(); }',
      workgroupSize: [8, 8, 1],
      groups: [5, 6, 7],
    });
    const shader = kernel.assembleWGSL();
    expect(shader).toMatch(/user_x : array<f32>;/);
    expect(shader).toMatch(/mine\(\)/);
    expect(shader).not.toMatch(/threadGid/);
    expect(kernel._computeDispatch()).toEqual({ groups: [5, 6, 7], dispatchWidth: 0 });
    expect(() => hostWgsl({}, { body: '', workgroupSize: [1, 1, 1], groups: [1, 1, 1] })).toThrow(
      /gpu\.js 2\.24\.1/,
    );
  });
});
