import { type ConvDescription, describeConv } from '@conv2d/core';
import { describe, expect, it } from 'vitest';
import { evenSplit, tileShape } from '../src/gemm-tasks.js';
import { copyWorkerResults, type Job, newJob, Op, TASK_STRIDE } from '../src/job.js';
import { forwardTasks, inputTasks } from '../src/tasks.js';

/** A job of `op` over `tasks`, with each task's owner given by `owner(i)`. */
function jobOf(
  op: number,
  d: ConvDescription,
  tasks: Int32Array,
  owner: (i: number) => number,
): Job {
  const job = newJob(op, d, tasks, 2, 1024);
  const count = tasks.length / TASK_STRIDE;
  job.owners = new Int32Array(new SharedArrayBuffer(count * 4));
  for (let i = 0; i < count; i++) job.owners[i] = owner(i);
  return job;
}

const counting = (size: number) => Float32Array.from({ length: size }, (_, i) => i + 1);

describe('copyWorkerResults', () => {
  const gemm = describeConv([2, 8, 9, 9], [32, 8, 3, 3], [32], { padding: 1 });
  const split = describeConv([1, 256, 14, 14], [512, 256, 1, 1], [512], { stride: 2 });
  const depthwise = describeConv([2, 6, 8, 8], [6, 1, 3, 3], [6], { padding: 1, groups: 6 });
  const cases: [string, number, ConvDescription, Int32Array, number][] = [
    ['forward GEMM (position ranges)', Op.forwardGemm, gemm, forwardTasks(gemm, 2), gemm.ySize],
    ['forward GEMM (channel ranges)', Op.forwardGemm, split, forwardTasks(split, 2), split.ySize],
    ['forward direct', Op.forwardDirect, depthwise, forwardTasks(depthwise, 2), depthwise.ySize],
    ['dX col2im', Op.inputCol2im, gemm, inputTasks(gemm, 2), gemm.xSize],
    ['dX direct', Op.inputDirect, depthwise, inputTasks(depthwise, 2), depthwise.xSize],
  ];

  it.each(cases)('%s: the tasks partition the output', (_name, op, d, tasks, size) => {
    expect(tasks.length / TASK_STRIDE).toBeGreaterThan(2);
    const from = counting(size);
    const all = new Float32Array(size);
    copyWorkerResults(
      jobOf(op, d, tasks, () => 1),
      from,
      all,
    );
    expect(all).toEqual(from);
    // workers took every other task: those blocks, and only those, are copied
    const even = new Float32Array(size);
    const odd = new Float32Array(size);
    copyWorkerResults(
      jobOf(op, d, tasks, (i) => i % 2),
      from,
      odd,
    );
    copyWorkerResults(
      jobOf(op, d, tasks, (i) => 1 - (i % 2)),
      from,
      even,
    );
    expect(odd.some((v) => v !== 0)).toBe(true);
    expect(even.some((v) => v !== 0)).toBe(true);
    const both = odd.filter((v, i) => v !== 0 && even[i] !== 0).length;
    expect(both).toBe(0);
    expect(odd.map((v, i) => v + even[i])).toEqual(from);
  });

  it('copies nothing for tasks the calling thread ran', () => {
    const from = counting(gemm.ySize);
    const to = new Float32Array(gemm.ySize);
    copyWorkerResults(
      jobOf(Op.forwardGemm, gemm, forwardTasks(gemm, 2), () => 0),
      from,
      to,
    );
    expect(to.every((v) => v === 0)).toBe(true);
  });
});

describe('tile columns', () => {
  it('splits into the fewest near-equal parts within the bound, in whole panels where it can', () => {
    expect(evenSplit(2090, 1783)).toBe(1048); // 2 parts (not 1,783 + 307), 131 panels each
    expect(evenSplit(784, 227)).toBe(200); // 4 parts of at most 200
    expect(evenSplit(100, 500)).toBe(100);
    expect(evenSplit(9, 4)).toBe(3); // no panel fits: 3 + 3 + 3
    for (const [length, most] of [
      [12544, 1783],
      [3136, 455],
      [50176, 455],
      [49, 16],
      [1, 1],
      [1000, 7],
    ]) {
      const part = evenSplit(length, most);
      expect(part).toBeLessThanOrEqual(most);
      expect(Math.ceil(length / part)).toBe(Math.ceil(length / most));
    }
  });

  it('gives tiles of whole rows within the workspace', () => {
    expect(tileShape(147, 2090, 1 << 18)).toEqual([147, 1048]);
    const [kc, pc] = tileShape(1152, 784, 1 << 18);
    expect([kc, pc]).toEqual([1152, 200]);
    expect(kc * pc).toBeLessThanOrEqual(1 << 18);
  });
});
