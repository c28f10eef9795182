import {
  type BackendKernels,
  type ConvDescription,
  describeConv,
  type Layout,
  nchwToNhwc,
  nhwcToNchw,
  type Wanted,
} from '@conv2d/core';
import { usesDirectPath } from './direct.js';
import {
  copyWorkerResults,
  drainAsCaller,
  isPointwise,
  type Job,
  newJob,
  Op,
  TASK_STRIDE,
} from './kernels.js';

import { nhwcFits, reorderWeights } from './nhwc.js';
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

export interface Engine extends BackendKernels {
  readonly stats: EngineStats;
}

/** The convolution for `count` images in NCHW, the layout every kernel works in. */
function withBatch(d: ConvDescription, count: number): ConvDescription {
  if (count === d.batch && d.layout === 'NCHW') return d;
  return describeConv([count, d.inChannels, d.inHeight, d.inWidth], d.wShape, d.bShape, {
    stride: [d.strideHeight, d.strideWidth],
    padding: [d.padTop, d.padBottom, d.padLeft, d.padRight],
    dilation: [d.dilationHeight, d.dilationWidth],
    groups: d.groups,
    layout: 'NCHW',
  });
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

/** A zeroed array, shared with the workers when the pass is threaded. */
function alloc(size: number, shared: boolean): Float32Array {
  return shared ? new Float32Array(new SharedArrayBuffer(size * 4)) : new Float32Array(size);
}

/**
 * Gives a pass its buffers by role ('x', 'w', 'acc', ...), NOT zeroed: plain arrays when
 * the pass runs on one thread, shared ones when threaded.
 */
type Buffers = (role: string, size: number) => Float32Array;

/**
 * Grow-only SharedArrayBuffers kept from one threaded pass to the next. A fresh
 * SharedArrayBuffer is mapped and page-faulted on first touch every time: allocating and
 * filling the 3.2 MB of x and y of the depthwise layer E cost about 3 ms against 0.8 ms for
 * plain arrays, more than the layer's whole 1-thread time, so a new one per pass made
 * 2 threads slower than 1. One pass at a time uses the arena (`busy`); a pass that
 * overlaps it (calls not awaited in turn) allocates its own as before.
 */
class Arena {
  private readonly buffers = new Map<string, Float32Array>();
  busy = false;

  get(role: string, size: number): Float32Array {
    let b = this.buffers.get(role);
    if (!b || b.length < size) {
      b = alloc(size, true);
      this.buffers.set(role, b);
    }
    return b.subarray(0, size);
  }

  clear(): void {
    this.buffers.clear();
  }
}

function share(a: Float32Array, shared: boolean, get: Buffers, role: string): Float32Array {
  if (!shared || a.buffer instanceof SharedArrayBuffer) return a;
  const s = get(role, a.length);
  s.set(a);
  return s;
}

/**
 * Moves a batch chunk of one activation tensor between the caller's array (either layout)
 * and what the kernels need (NCHW, shared when threaded). A plain NCHW tensor needs no copy:
 * the kernels get a view of it. Otherwise one chunk-sized buffer is reused, so staging stays
 * within the workspace bound instead of copying whole tensors.
 */
class Stage {
  private buffer: Float32Array | null = null;
  private readonly image: number;

  constructor(
    private readonly layout: Layout,
    private readonly channels: number,
    private readonly height: number,
    private readonly width: number,
    private readonly shared: boolean,
    private readonly get: Buffers,
    private readonly role: string,
  ) {
    this.image = channels * height * width;
  }

  private get inPlace(): boolean {
    return this.layout === 'NCHW' && !this.shared;
  }

  private take(count: number): Float32Array {
    const size = count * this.image;
    if (!this.buffer || this.buffer.length < size) this.buffer = this.get(this.role, size);
    return this.buffer.subarray(0, size);
  }

  /** Images [n0, n1) of `data`, NCHW. */
  read(data: Float32Array, n0: number, n1: number): Float32Array {
    const view = data.subarray(n0 * this.image, n1 * this.image);
    if (this.inPlace) return view;
    const out = this.take(n1 - n0);
    if (this.layout === 'NCHW') out.set(view);
    else nhwcToNchw(view, out, n1 - n0, this.channels, this.height, this.width);
    return out;
  }

  /** Where to compute images [n0, n1) of `data` (NCHW); `write` then puts them in place. */
  target(data: Float32Array, n0: number, n1: number): Float32Array {
    return this.inPlace ? data.subarray(n0 * this.image, n1 * this.image) : this.take(n1 - n0);
  }

  /**
   * Images [n0, n1) of `data` when they are staged only to be shared with workers (NCHW both):
   * the calling thread can write its part there directly (`runIntoResult`). Else null.
   */
  sharedOnly(data: Float32Array, n0: number, n1: number): Float32Array | null {
    if (this.inPlace || this.layout !== 'NCHW') return null;
    return data.subarray(n0 * this.image, n1 * this.image);
  }

  write(data: Float32Array, n0: number, n1: number, computed: Float32Array): void {
    if (this.inPlace) return;
    const view = data.subarray(n0 * this.image, n1 * this.image);
    if (this.layout === 'NCHW') view.set(computed);
    else nchwToNhwc(computed, view, n1 - n0, this.channels, this.height, this.width);
  }
}

interface Kept {
  x: Float32Array;
  key: string;
  cache: Float32Array;
}

export function createEngine(settings: EngineSettings): Engine {
  const stats: EngineStats = { im2colReused: 0, threadedJobs: 0 };
  let pool: WorkerPool | null = null;
  let poolStarting: Promise<WorkerPool> | null = null;
  let workspace = new Float32Array(0);
  let kept: Kept | null = null;
  const arena = new Arena();

  /**
   * The buffers of a pass and a release for its end: the arena when the pass is threaded
   * and no other pass holds it, else fresh arrays.
   */
  const lease = (shared: boolean): [Buffers, () => void] => {
    if (!shared || arena.busy) return [(_role, size) => alloc(size, shared), () => {}];
    arena.busy = true;
    return [
      (role, size) => arena.get(role, size),
      () => {
        arena.busy = false;
      },
    ];
  };

  const threadsFor = (d: ConvDescription) =>
    settings.startPool && d.flops >= settings.minThreadedFlops ? settings.threads : 1;

  /**
   * How a pass splits the workspace bound: [im2col tiles, staging]. When tensors are staged
   * (threaded, NHWC, or the upsampled dY of the transposed method) each gets half.
   */
  const budgets = (staged: boolean): [number, number] => {
    const all = settings.workspaceBytes;
    return staged ? [all / 2, all / 2] : [all, all];
  };

  /** Images per chunk so that the staged buffers (`floats` per image) fit `bytes`. */
  const imagesPerChunk = (d: ConvDescription, floats: number, bytes: number) =>
    Math.max(1, Math.min(d.batch, Math.floor(bytes / 4 / floats)));

  // Each thread gets its share of the workspace bound.
  const job = (
    op: number,
    d: ConvDescription,
    tasks: Int32Array,
    threads: number,
    tileBytes: number,
  ) => newJob(op, d, tasks, threads, Math.max(16, Math.floor(tileBytes / 4 / threads)));

  /**
   * Runs job `j` on `threads` threads. `callerJob` is what the calling thread runs: `j` itself,
   * or `j` writing into the caller's own arrays (see `runIntoResult`).
   */
  async function run(j: Job, threads: number, callerJob: Job = j): Promise<void> {
    if (workspace.length < j.tileFloats) workspace = new Float32Array(j.tileFloats);
    const ws = workspace;
    // A single task (e.g. a 1x1/2 layer with fewer output positions than one GEMM task
    // wants) leaves the other threads nothing to do: run it here rather than wake them.
    // `threads` still counts the slots, so the caller runs every fixed share.
    if (threads <= 1 || !settings.startPool || j.tasks.length <= TASK_STRIDE) {
      drainAsCaller(callerJob, threads, ws);
      return;
    }
    if (!pool) {
      poolStarting ??= settings.startPool(settings.threads - 1);
      pool = await poolStarting;
    }
    stats.threadedJobs++;
    await pool.run(j, () => drainAsCaller(callerJob, threads, ws));
  }

  /**
   * Runs a threaded job whose output (`field`, NCHW) is the chunk `direct` of the array the
   * caller returns. The workers write their tasks into the shared `staged` chunk; the calling
   * thread writes its tasks straight into `direct`, so only the workers' part is copied
   * afterwards. Copying the whole shared chunk out serially (and faulting in the fresh result's
   * pages there) was 10% of the layer G's 2-thread time.
   */
  async function runIntoResult(
    j: Job,
    threads: number,
    field: 'y' | 'dx',
    staged: Float32Array,
    direct: Float32Array,
  ): Promise<void> {
    j[field] = staged;
    j.owners = new Int32Array(new SharedArrayBuffer((j.tasks.length / TASK_STRIDE) * 4));
    await run(j, threads, { ...j, [field]: direct });
    copyWorkerResults(j, staged, direct);
  }

  /**
   * Forward of NCHW chunk `d` into y (fully overwritten), or, given `result` (the chunk of the
   * returned array that y stages for the workers), into `result` (see `runIntoResult`).
   */
  async function forwardChunk(
    d: ConvDescription,
    x: Float32Array,
    w: Float32Array,
    b: Float32Array | null,
    y: Float32Array,
    threads: number,
    cache: Float32Array | null,
    tileBytes: number,
    result: Float32Array | null = null,
  ): Promise<void> {
    const op = usesDirectPath(d) ? Op.forwardDirect : Op.forwardGemm;
    const j = job(op, d, forwardTasks(d, threads), threads, tileBytes);
    j.x = x;
    j.w = w;
    j.b = b;
    j.cache = cache;
    j.fillCache = cache !== null;
    if (result) {
      await runIntoResult(j, threads, 'y', y, result);
      return;
    }
    j.y = y;
    await run(j, threads);
  }

  /** Size of the whole im2col matrix when forward may keep it, else 0. */
  function keptSize(d: ConvDescription): number {
    if (!settings.keepIm2col || usesDirectPath(d) || isPointwise(d)) return 0;
    const size = d.batch * d.groups * d.reductionLength * d.outHeight * d.outWidth;
    return size * 4 <= settings.workspaceBytes ? size : 0;
  }

  return {
    stats,

    async forward(desc, x, w, b) {
      const threads = threadsFor(desc);
      const shared = threads > 1;
      const [get, release] = lease(shared);
      try {
        return await forwardPass(desc, x, w, b, threads, get);
      } finally {
        release();
      }
    },

    async backward(desc, dy, x, w, wanted: Required<Wanted>) {
      const threads = threadsFor(desc);
      const [get, release] = lease(threads > 1);
      try {
        return await backwardPass(desc, dy, x, w, wanted, threads, get);
      } finally {
        release();
      }
    },

    dispose() {
      kept = null;
      workspace = new Float32Array(0);
      arena.clear();
      const p = pool;
      pool = null;
      if (p) p.dispose();
      else if (poolStarting) void poolStarting.then((started) => started.dispose());
      poolStarting = null;
    },
  };

  async function forwardPass(
    desc: ConvDescription,
    x: Float32Array,
    w: Float32Array,
    b: Float32Array | null,
    threads: number,
    get: Buffers,
  ): Promise<Float32Array> {
    const shared = threads > 1;
    const d = desc;
    const y = new Float32Array(d.ySize);
    kept = null; // a new forward replaces what the previous one kept
    const cacheSize = keptSize(d);
    const cache = cacheSize > 0 ? alloc(cacheSize, shared) : null;
    const cacheImage = cacheSize / d.batch;
    // NHWC through GEMM runs natively unless X_hat is kept (backward reads it as NCHW) or
    // not even one row of it fits a thread's workspace share.
    let [tileBytes, stageBytes] = budgets(shared);
    const native =
      d.layout === 'NHWC' &&
      cache === null &&
      !usesDirectPath(d) &&
      nhwcFits(d, Math.max(16, Math.floor(tileBytes / 4 / threads)));
    if (d.layout === 'NHWC' && !native) [tileBytes, stageBytes] = budgets(true);
    // 'NCHW' staging copies or views as is; the native path wants NHWC as is.
    const stageLayout = native ? 'NCHW' : d.layout;
    const xs = new Stage(stageLayout, d.inChannels, d.inHeight, d.inWidth, shared, get, 'x');
    const ys = new Stage(stageLayout, d.outChannels, d.outHeight, d.outWidth, shared, get, 'y');
    const wk = native ? reorderWeights(d, w, get('w', d.wSize)) : share(w, shared, get, 'w');
    const bs = b && share(b, shared, get, 'b');
    const step = imagesPerChunk(d, d.xSize / d.batch + d.ySize / d.batch, stageBytes);
    for (let n0 = 0; n0 < d.batch; n0 += step) {
      const n1 = Math.min(d.batch, n0 + step);
      const cd = withBatch(d, n1 - n0);
      const out = ys.target(y, n0, n1);
      const xc = xs.read(x, n0, n1);
      if (native) {
        const j = job(Op.forwardNhwc, cd, forwardTasks(cd, threads), threads, tileBytes);
        j.x = xc;
        j.w = wk;
        j.b = bs;
        j.y = out;
        await run(j, threads);
        ys.write(y, n0, n1, out);
      } else {
        const view = cache ? cache.subarray(n0 * cacheImage, n1 * cacheImage) : null;
        const result = ys.sharedOnly(y, n0, n1);
        await forwardChunk(cd, xc, wk, bs, out, threads, view, tileBytes, result);
        if (!result) ys.write(y, n0, n1, out);
      }
    }
    if (cache) kept = { x, key: convKey(desc), cache };
    return y;
  }

  async function backwardPass(
    desc: ConvDescription,
    dy: Float32Array,
    x: Float32Array,
    w: Float32Array,
    wanted: Required<Wanted>,
    threads: number,
    get: Buffers,
  ): Promise<Partial<Record<'dx' | 'dw' | 'db', Float32Array>>> {
    const d = desc;
    const shared = threads > 1;
    const transposed = settings.dxMethod === 'transposed';
    const grads: Partial<Record<'dx' | 'dw' | 'db', Float32Array>> = {};
    if (wanted.db) grads.db = biasGrad(d, dy);
    if (!wanted.dw && !wanted.dx) return grads;

    const xImage = d.xSize / d.batch;
    const yImage = d.ySize / d.batch;
    const dys = new Stage(d.layout, d.outChannels, d.outHeight, d.outWidth, shared, get, 'dy');
    const xs = new Stage(d.layout, d.inChannels, d.inHeight, d.inWidth, shared, get, 'x');
    const dxs = new Stage(d.layout, d.inChannels, d.inHeight, d.inWidth, shared, get, 'dx');
    const useKept = kept !== null && kept.x === x && kept.key === convKey(desc);
    const cacheImage = useKept && kept ? kept.cache.length / d.batch : 0;
    const acc = wanted.dw ? get('acc', d.wSize * threads).fill(0) : null;
    const dx = wanted.dx ? new Float32Array(d.xSize) : null;
    const ws = wanted.dx ? share(w, shared, get, 'w') : null;
    const flipped = wanted.dx && transposed ? flipKernel(d, w, get('flip', d.wSize)) : null;
    const upImage = transposed ? transposedDescription(d, 1).xSize : 0;
    let up: Float32Array | null = null;
    if (useKept && acc) stats.im2colReused++;

    const [tileBytes, stageBytes] = budgets(shared || d.layout === 'NHWC' || transposed);
    const step = imagesPerChunk(d, 2 * xImage + yImage + upImage, stageBytes);
    for (let n0 = 0; n0 < d.batch; n0 += step) {
      const n1 = Math.min(d.batch, n0 + step);
      const cd = withBatch(d, n1 - n0);
      const dyc = dys.read(dy, n0, n1);
      if (acc) {
        const direct = usesDirectPath(cd);
        const j = job(
          direct ? Op.weightDirect : Op.weightGemm,
          cd,
          weightTasks(cd, threads),
          threads,
          tileBytes,
        );
        j.x = xs.read(x, n0, n1);
        j.y = dyc;
        j.acc = acc;
        j.stride = threads; // deterministic sums: every run adds the same tasks per slot
        if (useKept && kept && !direct) {
          j.cache = kept.cache.subarray(n0 * cacheImage, n1 * cacheImage);
        }
        await run(j, threads);
      }
      if (dx && ws && !transposed) {
        const op = usesDirectPath(cd) ? Op.inputDirect : Op.inputCol2im;
        const j = job(op, cd, inputTasks(cd, threads), threads, tileBytes);
        j.y = dyc;
        j.w = ws;
        const target = dxs.target(dx, n0, n1);
        target.fill(0); // scatter-add target; a reused staging buffer holds the last chunk
        const result = dxs.sharedOnly(dx, n0, n1); // fresh, so zero too
        if (result) {
          await runIntoResult(j, threads, 'dx', target, result);
        } else {
          j.dx = target;
          await run(j, threads);
          dxs.write(dx, n0, n1, target);
        }
      } else if (dx && flipped) {
        const t = transposedDescription(d, n1 - n0);
        if (!up || up.length < t.xSize) up = get('up', t.xSize);
        const input = up.subarray(0, t.xSize);
        input.fill(0);
        upsamplePad(d, t, dyc, 0, n1 - n0, input);
        const out = dxs.target(dx, n0, n1);
        const tt = threadsFor(t) > 1 ? threads : 1;
        const result = dxs.sharedOnly(dx, n0, n1);
        await forwardChunk(t, input, flipped, null, out, tt, null, tileBytes, result);
        if (!result) dxs.write(dx, n0, n1, out);
      }
    }
    if (acc) grads.dw = reduceSlots(acc, d.wSize, threads);
    if (dx) grads.dx = dx;
    return grads;
  }
}

/** Sums the per-thread dW accumulators into a plain array. */
function reduceSlots(acc: Float32Array, size: number, slots: number): Float32Array {
  const out = new Float32Array(size);
  out.set(acc.subarray(0, size));
  for (let s = 1; s < slots; s++) for (let i = 0, o = s * size; i < size; i++) out[i] += acc[o + i];
  return out;
}

/** db[co] = sum of dY over batch and positions (float64 running sums), either layout. */
function biasGrad(d: ConvDescription, dy: Float32Array): Float32Array {
  const sums = new Float64Array(d.outChannels);
  const P = d.outHeight * d.outWidth;
  const C = d.outChannels;
  if (d.layout === 'NCHW') {
    for (let n = 0; n < d.batch; n++)
      for (let co = 0; co < C; co++) {
        // Four running sums: one would wait on each add's latency (this was 40% of E's dW).
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        const start = (n * C + co) * P;
        let p = start;
        for (const e = start + P - 3; p < e; p += 4) {
          s0 += dy[p];
          s1 += dy[p + 1];
          s2 += dy[p + 2];
          s3 += dy[p + 3];
        }
        for (; p < start + P; p++) s0 += dy[p];
        sums[co] += s0 + s1 + (s2 + s3);
      }
  } else {
    for (let i = 0; i < dy.length; i += C) for (let co = 0; co < C; co++) sums[co] += dy[i + co];
  }
  return Float32Array.from(sums);
}
