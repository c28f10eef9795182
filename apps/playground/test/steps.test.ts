import { createNaiveBackend } from '@conv2d/backend-naive';
import seed from '@conv2d/conformance/fixtures/seed-example.json';
import { tensor } from '@conv2d/core';
import { describe, expect, it } from 'vitest';
import { type ExampleConfig, SEED_CONFIG } from '../src/example.js';
import { computeSteps, type ExampleInput, type Steps } from '../src/steps.js';
import { exampleFor } from './cases.js';

const naive = createNaiveBackend();

/** Runs naive on the same input and returns its y, dx, dw, db as plain arrays. */
async function naiveResults(input: ExampleInput) {
  const x = tensor(input.x.shape, input.x.data);
  const w = tensor(input.w.shape, input.w.data);
  const b = input.b ? tensor(input.b.shape, input.b.data) : null;
  const dy = tensor(input.dy.shape, input.dy.data);
  const y = await naive.forward(x, w, b, input.options);
  const g = await naive.backward(dy, x, w, input.options);
  return {
    y: { shape: y.shape, data: [...y.data] },
    dx: [...(g.dx?.data ?? [])],
    dw: [...(g.dw?.data ?? [])],
    db: [...(g.db?.data ?? [])],
  };
}

/** Integer inputs: every step is exact, so the results must be equal, not just close. */
async function expectEqualToNaive(steps: Steps, input: ExampleInput) {
  const want = await naiveResults(input);
  expect(steps.y.shape).toEqual(want.y.shape);
  expect(steps.y.data).toEqual(want.y.data);
  expect(steps.dw.data).toEqual(want.dw);
  expect(steps.dxCol2im.data).toEqual(want.dx);
  expect(steps.transposed.dx.data).toEqual(want.dx);
  if (input.b) expect(steps.db).toEqual(want.db);
}

describe('the seed example, step by step', () => {
  const input = exampleFor(SEED_CONFIG);
  const steps = computeSteps(input);

  it('uses the PyTorch fixture numbers and reproduces its outputs', () => {
    expect(input.x.data).toEqual(seed.x.data);
    expect(steps.y.data).toEqual(seed.y.data);
    expect(steps.dw.data).toEqual(seed.dw.data);
    expect(steps.db).toEqual(seed.db.data);
    expect(steps.dxCol2im.data).toEqual(seed.dx.data);
    expect(steps.transposed.dx.data).toEqual(seed.dx.data);
  });

  it('matches the naive backend', async () => {
    await expectEqualToNaive(steps, input);
  });

  it('has the shapes the page describes', () => {
    const [g] = steps.groups;
    expect(steps.xPadded.shape).toEqual([1, 3, 5, 5]);
    expect([g.xHat.rows, g.xHat.cols]).toEqual([4, 27]);
    expect([g.wHat.rows, g.wHat.cols]).toEqual([2, 27]);
    expect([g.yHat.rows, g.yHat.cols]).toEqual([2, 4]);
    expect(steps.y.shape).toEqual([1, 2, 2, 2]);
    expect(steps.windows.map((w) => [w.top, w.left])).toEqual([
      [0, 0],
      [0, 2],
      [2, 0],
      [2, 2],
    ]);
  });

  it('builds X_hat row r from window r of the padded input', () => {
    const [g] = steps.groups;
    // Row 3 is the window at (2, 2): channel 0's 3x3 patch starts with x[0,0,1,1].
    const patch = g.xHat.data.slice(3 * 27, 3 * 27 + 9);
    const p = steps.xPadded.data;
    expect(patch).toEqual([2, 3, 4].flatMap((h) => [2, 3, 4].map((w) => p[h * 5 + w])));
    // Row 0's first tap is the padding corner.
    expect(g.xHat.data[0]).toBe(0);
  });

  it('counts overlapping windows in col2im and pads and flips for the transposed convolution', () => {
    // Stride 2, 3x3 windows in a 5x5 padded plane: the centre cell is in all four windows.
    expect(steps.coverage.data[2 * 5 + 2]).toBe(4);
    expect(steps.coverage.data[0]).toBe(1);
    const t = steps.transposed;
    expect(t.upsampled.shape).toEqual([1, 2, 3, 3]);
    expect(t.border).toEqual([1, 1, 1, 1]);
    expect(t.padded.shape).toEqual([1, 2, 5, 5]);
    // flipped[ci, co, m, q] = w[co, ci, 2-m, 2-q]
    expect(t.flipped.data[0]).toBe(seed.w.data[8]);
    expect(t.flipped.shape).toEqual([3, 2, 3, 3]);
  });
});

const variants: [string, Partial<ExampleConfig>][] = [
  ['stride 1, no padding', { stride: [1, 1], padding: [0, 0, 0, 0] }],
  ['non-dividing stride 3', { height: 8, width: 7, stride: [3, 3], padding: [0, 0, 0, 0] }],
  ['asymmetric padding and stride', { height: 6, width: 5, padding: [0, 2, 1, 0], stride: [2, 1] }],
  [
    'padding larger than the kernel',
    { height: 4, width: 4, kernelHeight: 2, kernelWidth: 2, padding: [3, 1, 2, 3] },
  ],
  ['dilation 2', { height: 7, width: 6, dilation: [2, 2], stride: [1, 2], padding: [1, 1, 2, 2] }],
  ['groups 3 (depthwise-like)', { inChannels: 3, outChannels: 6, groups: 3, height: 5, width: 5 }],
  [
    'groups 2, batch 2, no bias',
    { batch: 2, inChannels: 4, outChannels: 2, groups: 2, bias: false, height: 5, width: 6 },
  ],
  [
    'rectangular kernel 1x3',
    { kernelHeight: 1, kernelWidth: 3, height: 4, width: 6, padding: [0, 0, 1, 1] },
  ],
];

describe('other shapes and options agree with naive', () => {
  for (const [name, change] of variants) {
    it(name, async () => {
      const input = exampleFor({ ...SEED_CONFIG, ...change });
      await expectEqualToNaive(computeSteps(input), input);
    });
  }

  it('rejects invalid options through core', () => {
    expect(() => exampleFor({ ...SEED_CONFIG, groups: 2 })).toThrow(/groups/);
  });
});
