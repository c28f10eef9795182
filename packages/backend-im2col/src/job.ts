import type { ConvDescription } from '@conv2d/core';
import type { PackedA } from '@conv2d/gemm';

/**
 * A job is one pass cut into independent tasks. The same object runs on the calling thread
 * (plain arrays) or is posted to workers (arrays over SharedArrayBuffer); every thread pulls
 * task indices from one shared counter until none are left, or runs a fixed share. Tensors
 * are NCHW, except in `forwardNhwc`.
 */
export const Op = {
  /** task (n, g, p0, p1, co0, co1): y[n, channels co0..co1 of group g, positions p0..p1). */
  forwardGemm: 0,
  /** task (n, g0, g1, -): y[n, groups g0..g1) by direct loops. */
  forwardDirect: 1,
  /** task (n, g, p0, p1, co0, co1): acc[slot] rows co0..co1 += dY_hat · X_hat there. */
  weightGemm: 2,
  /** task (n, g0, g1, -): acc[slot] += direct dW of those groups. */
  weightDirect: 3,
  /** task (n, g, c0, c1): dx[n, channels c0..c1 of group g] by GEMM + col2im. */
  inputCol2im: 4,
  /** task (n, g0, g1, -): dx[n, groups g0..g1) by direct scatter. */
  inputDirect: 5,
  /** task (n, g, p0, p1, co0, co1): NHWC y[n, positions p0..p1, those channels of group g]. */
  forwardNhwc: 6,
} as const;

export const TASK_STRIDE = 6;

/**
 * The part of an image group a GEMM task covers: output positions [p0, p1) and output
 * channels [co0, co1) within the group (layers with few positions split channels instead).
 */
export interface Task {
  p0: number;
  p1: number;
  co0: number;
  co1: number;
}

export interface Job {
  op: number;
  desc: ConvDescription;
  tasks: Int32Array;
  /**
   * Shared progress: [0] next task to pull, [1] tasks finished, [2 + s] who took the fixed
   * share of slot s (0 nobody yet, 1 its worker, 2 the calling thread).
   */
  sync: Int32Array;
  /**
   * 0: threads pull tasks from the counter. n > 0: thread `slot` runs tasks slot, slot + n,
   * ... (a fixed assignment, so per-thread dW sums add up in the same order every run).
   */
  stride: number;
  /** Workspace floats each thread may use for one im2col tile. */
  tileFloats: number;
  x: Float32Array | null;
  w: Float32Array | null;
  b: Float32Array | null;
  /** Forward output, or dy for the backward ops. */
  y: Float32Array | null;
  dx: Float32Array | null;
  /** dW accumulators, one `wSize` slot per thread. */
  acc: Float32Array | null;
  /** db accumulators (float64), one `outChannels` slot per thread: the direct dW sums db too. */
  db: Float64Array | null;
  /** The whole im2col matrix [N][groups][K][Hout*Wout] kept for training, or null. */
  cache: Float32Array | null;
  /** Whether forward fills the cache (true) or backward reads it (false). */
  fillCache: boolean;
  /**
   * Shared, one entry per task: the slot of the thread that ran it (0, the calling thread,
   * until a worker takes it), when the caller writes its tasks elsewhere (see
   * `copyWorkerResults`); else null.
   */
  owners: Int32Array | null;
  /**
   * The op's weights packed per group for the Wasm GEMM (forward: W_g, col2im dX: W_gᵀ), by a
   * plan; null: the GEMM packs them itself on every call.
   */
  packed: PackedA[] | null;
}

/** A job of `threads` threads with no operands yet: the caller sets those its op uses. */
export function newJob(
  op: number,
  desc: ConvDescription,
  tasks: Int32Array,
  threads: number,
  tileFloats: number,
): Job {
  return {
    op,
    desc,
    tasks,
    sync: syncArray(threads),
    stride: 0,
    tileFloats,
    x: null,
    w: null,
    b: null,
    y: null,
    dx: null,
    acc: null,
    db: null,
    cache: null,
    fillCache: false,
    owners: null,
    packed: null,
  };
}

/** Indices of a job's sync array (see `Job.sync`). */
export const NEXT = 0;
export const FINISHED = 1;
export const CLAIM = 2;

/** The shared progress array of a job run by `threads` threads. */
export function syncArray(threads: number): Int32Array {
  const bytes = (CLAIM + threads) * 4;
  return new Int32Array(threads > 1 ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
}

/** After `drainAsCaller`: whether worker `slot` may still be working on this job. */
export function workerBusy(job: Job, slot: number): boolean {
  if (job.stride > 0) return Atomics.load(job.sync, CLAIM + slot) === 1;
  return Atomics.load(job.sync, FINISHED) < job.tasks.length / TASK_STRIDE;
}

/** Makes the remaining tasks of a failed job unclaimable. */
export function abandon(job: Job, threads: number): void {
  Atomics.store(job.sync, NEXT, 0x3fffffff);
  for (let s = 0; s < threads; s++) Atomics.compareExchange(job.sync, CLAIM + s, 0, 2);
}

/**
 * After a pulled job whose calling thread wrote its tasks straight into the result (a plain
 * array the workers cannot see): copies the tasks the workers ran from their shared output
 * `from` into `to`, both the job's chunk. Each op's task owns one block of its output:
 * forward tasks output channels (GEMM: of some positions), dX tasks input channels.
 */
export function copyWorkerResults(job: Job, from: Float32Array, to: Float32Array): void {
  const owners = job.owners;
  if (!owners) return;
  const d = job.desc;
  const t = job.tasks;
  const P = d.outHeight * d.outWidth;
  const HW = d.inHeight * d.inWidth;
  const copy = (start: number, end: number) => to.set(from.subarray(start, end), start);
  for (let i = 0; i < owners.length; i++) {
    if (Atomics.load(owners, i) === 0) continue;
    const o = i * TASK_STRIDE;
    const [n, a, b, c] = [t[o], t[o + 1], t[o + 2], t[o + 3]];
    switch (job.op) {
      case Op.forwardGemm: {
        // task (n, g, p0, p1, co0, co1)
        const first = n * d.outChannels + a * d.outChannelsPerGroup;
        for (let co = t[o + 4]; co < t[o + 5]; co++)
          copy((first + co) * P + b, (first + co) * P + c);
        break;
      }
      case Op.forwardDirect: {
        // task (n, g0, g1): whole planes of those groups' output channels
        const first = n * d.outChannels + a * d.outChannelsPerGroup;
        copy(first * P, (first + (b - a) * d.outChannelsPerGroup) * P);
        break;
      }
      case Op.inputCol2im: {
        // task (n, g, c0, c1)
        const first = n * d.inChannels + a * d.inChannelsPerGroup;
        copy((first + b) * HW, (first + c) * HW);
        break;
      }
      case Op.inputDirect: {
        const first = n * d.inChannels + a * d.inChannelsPerGroup;
        copy(first * HW, (first + (b - a) * d.inChannelsPerGroup) * HW);
        break;
      }
      default:
        throw new Error(`backend-im2col: job op ${job.op} does not write per-task blocks`);
    }
  }
}
