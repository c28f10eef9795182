import { directForward, directInputGrad, directWeightGrad } from './direct.js';
import { forwardGemm, inputCol2im, weightGemm } from './gemm-tasks.js';
import { CLAIM, FINISHED, type Job, NEXT, Op, TASK_STRIDE, type Task } from './job.js';
import { forwardNhwc } from './nhwc.js';

/**
 * What every thread runs: the tasks of a job, pulled from its shared counter or a fixed share
 * each (job.ts), each dispatched to its op's kernel.
 */

/** Runs one task of a job. `slot` is the calling thread's dW accumulator. */
export function runTask(job: Job, index: number, slot: number, ws: Float32Array): void {
  const t = job.tasks;
  const o = index * TASK_STRIDE;
  const n = t[o];
  const a = t[o + 1];
  const b = t[o + 2];
  const c = t[o + 3];
  const d = job.desc;
  const task: Task = { p0: b, p1: c, co0: t[o + 4], co1: t[o + 5] };
  switch (job.op) {
    case Op.forwardGemm:
      forwardGemm(job, ws, n, a, task);
      return;
    case Op.forwardNhwc:
      forwardNhwc(job, ws, n, a, task);
      return;
    case Op.forwardDirect:
      directForward(
        d,
        job.x as Float32Array,
        job.w as Float32Array,
        job.b,
        job.y as Float32Array,
        n,
        a,
        b,
      );
      return;
    case Op.weightGemm:
      weightGemm(job, ws, slot, n, a, task);
      return;
    case Op.weightDirect:
      directWeightGrad(
        d,
        job.y as Float32Array,
        job.x as Float32Array,
        job.acc as Float32Array,
        slot * d.wSize,
        n,
        a,
        b,
        job.db,
        slot * d.outChannels,
      );
      return;
    case Op.inputCol2im:
      inputCol2im(job, ws, n, a, b, c);
      return;
    case Op.inputDirect:
      directInputGrad(
        d,
        job.y as Float32Array,
        job.w as Float32Array,
        job.dx as Float32Array,
        n,
        a,
        b,
      );
      return;
    default:
      throw new Error(`backend-im2col: unknown job op ${job.op}`);
  }
}

function runShare(job: Job, slot: number, ws: Float32Array): void {
  const count = job.tasks.length / TASK_STRIDE;
  for (let i = slot; i < count; i += job.stride) runTask(job, i, slot, ws);
}

/** Runs this thread's tasks: its fixed share, or pulled from the counter until none are left. */
export function drainTasks(job: Job, slot: number, ws: Float32Array): void {
  const sync = job.sync;
  if (job.stride > 0) {
    if (Atomics.compareExchange(sync, CLAIM + slot, 0, 1) === 0) runShare(job, slot, ws);
    return;
  }
  const count = job.tasks.length / TASK_STRIDE;
  for (;;) {
    const i = Atomics.add(sync, NEXT, 1);
    if (i >= count) return;
    if (job.owners) Atomics.store(job.owners, i, slot);
    runTask(job, i, slot, ws);
    Atomics.add(sync, FINISHED, 1);
  }
}

/**
 * The calling thread's part: its own tasks, then every fixed share that no worker has
 * started yet (a worker that is not scheduled soon does not hold the pass up; the share
 * keeps its slot, so the sums stay the same).
 */
export function drainAsCaller(job: Job, threads: number, ws: Float32Array): void {
  drainTasks(job, 0, ws);
  if (job.stride === 0) return;
  for (let s = 1; s < threads; s++) {
    if (Atomics.compareExchange(job.sync, CLAIM + s, 0, 2) === 0) runShare(job, s, ws);
  }
}
