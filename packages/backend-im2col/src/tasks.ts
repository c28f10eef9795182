import type { ConvDescription } from '@conv2d/core';
import { usesDirectPath } from './direct.js';
import { TASK_STRIDE } from './job.js';

/**
 * Task lists. With one thread each (image, group) is one task; with more, work is cut a few
 * times finer than the thread count so the shared counter balances uneven tasks, but never
 * into slivers too small to keep the GEMM efficient.
 */
const TASKS_PER_THREAD = 3;
const MIN_POSITIONS = 64;
/** Output channels of a GEMM task at the least (rows of W: several 4-row micro-tiles). */
const MIN_CHANNELS = 32;

function parts(threads: number, units: number, max: number): number {
  if (threads <= 1) return 1;
  return Math.max(1, Math.min(max, Math.ceil((TASKS_PER_THREAD * threads) / units)));
}

function build(rows: number[][]): Int32Array {
  const tasks = new Int32Array(rows.length * TASK_STRIDE);
  rows.forEach((r, i) => {
    tasks.set(r, i * TASK_STRIDE);
  });
  return tasks;
}

/**
 * Splits [0, size) into `count` near-equal ranges, their boundaries on multiples of `align`
 * (output channels: 4, the rows of a packed weight panel, so each task's rows start on one).
 */
function ranges(size: number, count: number, align = 1): [number, number][] {
  const out: [number, number][] = [];
  const at = (i: number) => (i === count ? size : Math.floor((size * i) / count / align) * align);
  for (let i = 0; i < count; i++) {
    const a = at(i);
    const b = at(i + 1);
    if (b > a) out.push([a, b]);
  }
  return out;
}

/** Rows of a packed weight panel (`@conv2d/gemm`'s packOperandA): task channel splits align. */
const PANEL_ROWS = 4;

/** Direct-path tasks: (n, g0, g1, 0). */
function directTasks(d: ConvDescription, threads: number): Int32Array {
  const rows: number[][] = [];
  const k = parts(threads, d.batch, d.groups);
  for (let n = 0; n < d.batch; n++)
    for (const [g0, g1] of ranges(d.groups, k)) rows.push([n, g0, g1, 0]);
  return build(rows);
}

/**
 * GEMM tasks (n, g, p0, p1, co0, co1) for forward and dW: output positions first; a layer
 * with too few positions to go round (a 1x1/2 projection on a 7x7 map) also splits its
 * output channels, so the threads share W, the large operand there, instead of idling.
 */
function positionTasks(d: ConvDescription, threads: number): Int32Array {
  const P = d.outHeight * d.outWidth;
  const cog = d.outChannelsPerGroup;
  const units = d.batch * d.groups;
  const k = parts(threads, units, Math.ceil(P / MIN_POSITIONS));
  const c = parts(threads, units * k, Math.floor(cog / MIN_CHANNELS));
  const rows: number[][] = [];
  for (let n = 0; n < d.batch; n++)
    for (let g = 0; g < d.groups; g++)
      for (const [p0, p1] of ranges(P, k))
        for (const [co0, co1] of ranges(cog, c, PANEL_ROWS)) rows.push([n, g, p0, p1, co0, co1]);
  return build(rows);
}

export function forwardTasks(d: ConvDescription, threads: number): Int32Array {
  return usesDirectPath(d) ? directTasks(d, threads) : positionTasks(d, threads);
}

export function weightTasks(d: ConvDescription, threads: number): Int32Array {
  return usesDirectPath(d) ? directTasks(d, threads) : positionTasks(d, threads);
}

/**
 * col2im tasks (n, g, c0, c1): split over input channels, since windows of neighbouring
 * output positions overlap in dX but different input channels never do.
 */
export function inputTasks(d: ConvDescription, threads: number): Int32Array {
  if (usesDirectPath(d)) return directTasks(d, threads);
  const cig = d.inChannelsPerGroup;
  const k = parts(threads, d.batch * d.groups, cig);
  const rows: number[][] = [];
  for (let n = 0; n < d.batch; n++)
    for (let g = 0; g < d.groups; g++)
      for (const [c0, c1] of ranges(cig, k)) rows.push([n, g, c0, c1]);
  return build(rows);
}
