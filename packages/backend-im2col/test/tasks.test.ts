import { describeConv } from '@conv2d/core';
import { describe, expect, it } from 'vitest';
import { TASK_STRIDE } from '../src/job.js';
import { forwardTasks, weightTasks } from '../src/tasks.js';

/** The tasks as rows (n, g, p0, p1, co0, co1). */
function rows(tasks: Int32Array): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < tasks.length; i += TASK_STRIDE)
    out.push([...tasks.subarray(i, i + TASK_STRIDE)]);
  return out;
}

/** Every (position, output channel) of every image group exactly once. */
function expectExactCover(r: number[][], batch: number, groups: number, P: number, cog: number) {
  const seen = new Uint8Array(batch * groups * P * cog);
  for (const [n, g, p0, p1, co0, co1] of r) {
    for (let p = p0; p < p1; p++)
      for (let c = co0; c < co1; c++) seen[((n * groups + g) * P + p) * cog + c]++;
  }
  expect(seen.every((v) => v === 1)).toBe(true);
}

describe('GEMM task plans', () => {
  const projection = describeConv([1, 256, 14, 14], [512, 256, 1, 1], [512], { stride: 2 });
  const conv3x3 = describeConv([1, 64, 56, 56], [64, 64, 3, 3], [64], { padding: 1 });

  it('is one task per image group on one thread', () => {
    expect(rows(forwardTasks(conv3x3, 1))).toEqual([[0, 0, 0, 3136, 0, 64]]);
  });

  it('splits positions when there are enough of them', () => {
    const r = rows(forwardTasks(conv3x3, 2));
    expect(r.length).toBe(6);
    expect(r.every(([, , , , co0, co1]) => co0 === 0 && co1 === 64)).toBe(true);
    expectExactCover(r, 1, 1, 3136, 64);
  });

  it('splits output channels when positions are too few to go round', () => {
    for (const plan of [forwardTasks, weightTasks]) {
      const r = plan(projection, 2);
      expect(rows(r).length).toBe(6);
      expect(rows(r).every(([, , p0, p1]) => p0 === 0 && p1 === 49)).toBe(true);
      expect(rows(r).every(([, , , , co0, co1]) => co1 - co0 >= 32)).toBe(true);
      expectExactCover(rows(r), 1, 1, 49, 512);
    }
  });

  it('covers grouped batches exactly', () => {
    const d = describeConv([3, 8, 9, 9], [96, 4, 3, 3], null, { groups: 2, stride: 2 });
    // 4x4 = 16 output positions, 48 output channels per group
    for (const threads of [1, 2, 4]) expectExactCover(rows(forwardTasks(d, threads)), 3, 2, 16, 48);
  });
});
