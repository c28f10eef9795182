import {
  type BackendKernels,
  type ConvDescription,
  describeConv,
  transposeLayout,
  type Wanted,
} from '@conv2d/core';
import { usesDirectPath } from './direct.js';
import { drainTasks, isPointwise, type Job, Op } from './kernels.js';
import { forwardTasks, inputTasks, weightTasks } from './plan.js';
import type { WorkerPool } from './pool.js';
import { flipKernel, transposedDescription, upsamplePad } from './transposed.js';

export type DxMethod = 'col2im' | 'transposed';

export interface EngineSettings {
  threads: number;
  workspaceBytes: number;
  dxMethod: DxMethod;
  keepIm2col: boolean;
  /** Passes with fewer flops run on the calling thread: posting a job costs more. */
  minThreadedFlops: number;
  /** Starts the worker pool (threads - 1 workers); absent where there are no workers. */
  startPool: ((workers: number) => Promise<WorkerPool>) | null;
}

export interface EngineStats {
  /** Backward passes that reused the im2col matrix kept by forward. */
  im2colReused: number;
  /** Jobs that ran on the worker pool. */
  threadedJobs: number;
}

/** The same convolution, described for NCHW tensors (the layout every kernel works in). */
function asNCHW(d: ConvDescription): ConvDescription {
  if (d.layout === 'NCHW') return d;
  return describeConv([d.batch, d.inChannels, d.inHeight, d.inWidth], d.wShape, d.bShape, {
    stride: [d.strideHeight, d.strideWidth],
    padding: [d.padTop, d.padBottom, d.padLeft, d.padRight],
    dilation: [d.dilationHeight, d.dilationWidth],
    groups: d.groups,
    layout: 'NCHW',
  });
}

function toNCHW(desc: ConvDescription, shape: readonly number[], data: Float32Array) {
  return desc.layout === 'NCHW' ? data : transposeLayout({ shape, data }, 'NHWC', 'NCHW').data;
}

function fromNCHW(desc: ConvDescription, shape: readonly number[], data: Float32Array) {
  if (desc.layout === 'NCHW') return data;
  const [n, h, w, c] = shape as [number, number, number, number];
  return transposeLayout({ shape: [n, c, h, w], data }, 'NCHW', 'NHWC').data;
}

/** Identity of a convolution for the kept im2col matrix. */
function convKey(d: ConvDescription): string {
  return [
    d.layout,
    d.xShape,
    d.wShape,
    d.strideHeight,
    d.strideWidth,
    d.padTop,
    d.padBottom,
    d.padLeft,
    d.padRight,
    d.dilationHeight,
    d.dilationWidth,
    d.groups,
  ].join('|');
}

interface Kept {
  x: Float32Array;
  key: string;
  cache: Float32Array;
}

export interface Engine extends BackendKernels {
  readonly stats: EngineStats;
}

export function createEngine(settings: EngineSettings): Engine {
  const stats: EngineStats = { im2colReused: 0, threadedJobs: 0 };
  let pool: WorkerPool | null = null;
  let poolStarting: Promise<WorkerPool> | null = null;
  let workspace = new Float32Array(0);
  let kept: Kept | null = null;

  const threadsFor = (d: ConvDescription) =>
    settings.startPool && d.flops >= settings.minThreadedFlops ? settings.threads : 1;

  /** A zeroed array, shared with the workers when the pass is threaded. */
  const alloc = (size: number, shared: boolean) =>
    shared ? new Float32Array(new SharedArrayBuffer(size * 4)) : new Float32Array(size);
  const share = (a: Float32Array, shared: boolean) => {
    if (!shared || a.buffer instanceof SharedArrayBuffer) return a;
    const s = alloc(a.length, true);
    s.set(a);
    return s;
  };

  const job = (op: number, d: ConvDescription, tasks: Int32Array, threads: number): Job => ({
    op,
    desc: d,
    tasks,
    counter: new Int32Array(threads > 1 ? new SharedArrayBuffer(4) : new ArrayBuffer(4)),
    // Each thread gets its share of the workspace bound.
    tileFloats: Math.max(16, Math.floor(settings.workspaceBytes / 4 / threads)),
    x: null,
    w: null,
    b: null,
    y: null,
    dx: null,
    acc: null,
    cache: null,
    fillCache: false,
  });

  async function run(j: Job, threads: number): Promise<void> {
    if (workspace.length < j.tileFloats) workspace = new Float32Array(j.tileFloats);
    const ws = workspace;
    if (threads <= 1 || !settings.startPool) {
      drainTasks(j, 0, ws);
      return;
    }
    if (!pool) {
      poolStarting ??= settings.startPool(settings.threads - 1);
      pool = await poolStarting;
    }
    stats.threadedJobs++;
    await pool.run(j, (local) => drainTasks(local, 0, ws));
  }

  /** Forward of an NCHW description; `keepFor` is the caller's x when X_hat should be kept. */
  async function forwardNCHW(
    d: ConvDescription,
    x: Float32Array,
    w: Float32Array,
    b: Float32Array | null,
    y: Float32Array | null,
    threads: number,
    keepFor: { x: Float32Array; key: string } | null,
  ): Promise<Float32Array> {
    const shared = threads > 1;
    const direct = usesDirectPath(d);
    const j = job(direct ? Op.forwardDirect : Op.forwardGemm, d, forwardTasks(d, threads), threads);
    j.x = share(x, shared);
    j.w = share(w, shared);
    j.b = b && share(b, shared);
    j.y = y ?? alloc(d.ySize, shared);
    if (keepFor && !direct && !isPointwise(d)) {
      const size = d.batch * d.groups * d.reductionLength * d.outHeight * d.outWidth;
      if (size * 4 <= settings.workspaceBytes) {
        j.cache = alloc(size, shared);
        j.fillCache = true;
        kept = { ...keepFor, cache: j.cache };
      }
    }
    await run(j, threads);
    return j.y;
  }

  async function weightGrad(
    d: ConvDescription,
    key: string,
    userX: Float32Array,
    dy: Float32Array,
    x: Float32Array,
    threads: number,
  ): Promise<Float32Array> {
    const shared = threads > 1;
    const j = job(
      usesDirectPath(d) ? Op.weightDirect : Op.weightGemm,
      d,
      weightTasks(d, threads),
      threads,
    );
    j.x = x;
    j.y = dy;
    j.acc = alloc(d.wSize * threads, shared);
    if (kept && kept.x === userX && kept.key === key && !usesDirectPath(d)) {
      j.cache = kept.cache;
      stats.im2colReused++;
    }
    await run(j, threads);
    if (threads === 1) return j.acc;
    const dw = new Float32Array(d.wSize);
    for (let s = 0; s < threads; s++)
      for (let i = 0, o = s * d.wSize; i < d.wSize; i++) dw[i] += j.acc[o + i];
    return dw;
  }

  async function inputGradCol2im(
    d: ConvDescription,
    dy: Float32Array,
    w: Float32Array,
    threads: number,
  ): Promise<Float32Array> {
    const op = usesDirectPath(d) ? Op.inputDirect : Op.inputCol2im;
    const j = job(op, d, inputTasks(d, threads), threads);
    j.y = dy;
    j.w = w;
    j.dx = alloc(d.xSize, threads > 1);
    await run(j, threads);
    return j.dx;
  }

  async function inputGradTransposed(
    d: ConvDescription,
    dy: Float32Array,
    w: Float32Array,
    threads: number,
  ): Promise<Float32Array> {
    const shared = threads > 1;
    const flipped = flipKernel(d, w, alloc(d.wSize, shared));
    const dx = alloc(d.xSize, shared);
    const one = transposedDescription(d, 1);
    const imageFloats = one.xSize;
    // Upsample a few images at a time: the padded dY stays within the workspace bound
    // (or one image, when a single one is larger).
    const step = Math.max(
      1,
      Math.min(d.batch, Math.floor(settings.workspaceBytes / 4 / imageFloats)),
    );
    const up = alloc(step * imageFloats, shared);
    const dxImage = d.inChannels * d.inHeight * d.inWidth;
    for (let n0 = 0; n0 < d.batch; n0 += step) {
      const n1 = Math.min(d.batch, n0 + step);
      const t = n1 - n0 === 1 ? one : transposedDescription(d, n1 - n0);
      const input = up.subarray(0, t.xSize);
      input.fill(0);
      upsamplePad(d, t, dy, n0, n1, input);
      const out = dx.subarray(n0 * dxImage, n1 * dxImage);
      await forwardNCHW(t, input, flipped, null, out, threadsFor(t) > 1 ? threads : 1, null);
    }
    return dx;
  }

  return {
    stats,
    async forward(desc, x, w, b) {
      const d = asNCHW(desc);
      const threads = threadsFor(d);
      const keepFor = settings.keepIm2col ? { x, key: convKey(desc) } : null;
      kept = null; // a new forward replaces what the previous one kept
      const xn = toNCHW(desc, desc.xShape, x);
      const y = await forwardNCHW(d, xn, w, b, null, threads, keepFor);
      // A plain (unshared) result, independent of the pool's buffers.
      const out = desc.layout === 'NCHW' && y.buffer instanceof SharedArrayBuffer ? y.slice() : y;
      return fromNCHW(desc, desc.yShape, out);
    },
    async backward(desc, dy, x, w, wanted: Required<Wanted>) {
      const d = asNCHW(desc);
      const threads = threadsFor(d);
      const shared = threads > 1;
      const dyn = share(toNCHW(desc, desc.yShape, dy), shared);
      const grads: Partial<Record<'dx' | 'dw' | 'db', Float32Array>> = {};
      if (wanted.db) grads.db = biasGrad(d, dyn);
      if (wanted.dw) {
        const xn = share(toNCHW(desc, desc.xShape, x), shared);
        grads.dw = await weightGrad(d, convKey(desc), x, dyn, xn, threads);
      }
      if (wanted.dx) {
        const ws = share(w, shared);
        const dx =
          settings.dxMethod === 'col2im'
            ? await inputGradCol2im(d, dyn, ws, threads)
            : await inputGradTransposed(d, dyn, ws, threads);
        const plain = desc.layout === 'NCHW' && shared ? dx.slice() : dx;
        grads.dx = fromNCHW(desc, desc.xShape, plain);
      }
      return grads;
    },
    dispose() {
      kept = null;
      workspace = new Float32Array(0);
      const p = pool;
      pool = null;
      if (p) p.dispose();
      else if (poolStarting) void poolStarting.then((started) => started.dispose());
      poolStarting = null;
    },
  };
}

/** db[co] = sum of dY over batch and positions (float64 running sums). */
function biasGrad(d: ConvDescription, dy: Float32Array): Float32Array {
  const P = d.outHeight * d.outWidth;
  const db = new Float32Array(d.outChannels);
  for (let co = 0; co < d.outChannels; co++) {
    let sum = 0;
    for (let n = 0; n < d.batch; n++) {
      const base = (n * d.outChannels + co) * P;
      for (let p = base; p < base + P; p++) sum += dy[p];
    }
    db[co] = sum;
  }
  return db;
}
