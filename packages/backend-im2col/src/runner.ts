import { type ConvDescription, isConv2dError } from '@conv2d/core';
import { copyWorkerResults, type Job, newJob, TASK_STRIDE } from './job.js';
import { drainAsCaller } from './kernels.js';
import type { WorkerPool } from './pool.js';
import type { Steps } from './steps.js';

export interface RunnerSettings {
  threads: number;
  workspaceBytes: number;
  /** Passes with fewer flops run on the calling thread: posting a job costs more. */
  minThreadedFlops: number;
  /** Starts the worker pool (threads - 1 workers); absent where there are no workers. */
  startPool: ((workers: number) => Promise<WorkerPool>) | null;
}

/**
 * Runs jobs on the calling thread and the worker pool (started on first use), with the calling
 * thread's im2col workspace. One per backend, shared by its plans.
 */
export class Runner {
  private pool: WorkerPool | null = null;
  private poolStarting: Promise<WorkerPool> | null = null;
  private workspace = new Float32Array(0);
  /** The pool could not start: every pass runs on the calling thread. */
  private workersFailed = false;

  constructor(
    readonly settings: RunnerSettings,
    /** Counts the jobs that ran on the worker pool. */
    private readonly stats: { threadedJobs: number },
  ) {}

  /** Threads a pass of this convolution runs on. */
  threadsFor(d: ConvDescription): number {
    const s = this.settings;
    return s.startPool && !this.workersFailed && d.flops >= s.minThreadedFlops ? s.threads : 1;
  }

  /**
   * How a pass splits the workspace bound: [im2col tiles, staging]. When tensors are staged
   * (threaded, NHWC, or the upsampled dY of the transposed method) each gets half.
   */
  budgets(staged: boolean): [number, number] {
    const all = this.settings.workspaceBytes;
    return staged ? [all / 2, all / 2] : [all, all];
  }

  /** A job whose threads each get their share of the tile budget. */
  job(op: number, d: ConvDescription, tasks: Int32Array, threads: number, tileBytes: number): Job {
    return newJob(op, d, tasks, threads, Math.max(16, Math.floor(tileBytes / 4 / threads)));
  }

  /**
   * Runs job `j` on `threads` threads: null when it ran on the calling thread alone, else the
   * promise of the workers' part. `callerJob` is what the calling thread runs: `j` itself, or
   * `j` writing into the caller's own arrays (see `runIntoResult`).
   */
  run(j: Job, threads: number, callerJob: Job = j): Promise<void> | null {
    if (this.workspace.length < j.tileFloats) this.workspace = new Float32Array(j.tileFloats);
    const ws = this.workspace;
    const { startPool } = this.settings;
    // A single task (e.g. a 1x1/2 layer with fewer output positions than one GEMM task
    // wants) leaves the other threads nothing to do: run it here rather than wake them.
    // `threads` still counts the slots, so the caller runs every fixed share.
    if (threads <= 1 || !startPool || j.tasks.length <= TASK_STRIDE) {
      drainAsCaller(callerJob, threads, ws);
      return null;
    }
    const local = () => drainAsCaller(callerJob, threads, ws);
    if (this.pool) {
      this.stats.threadedJobs++;
      return this.pool.run(j, local);
    }
    this.poolStarting ??= startPool(this.settings.threads - 1);
    return this.poolStarting.then(
      (pool) => {
        this.pool = pool;
        this.stats.threadedJobs++;
        return pool.run(j, local);
      },
      (e: unknown) => {
        // startPool decides: a typed error fails the call (threads were asked for explicitly);
        // anything else means run on this thread from now on (it has warned)
        if (isConv2dError(e)) throw e;
        this.workersFailed = true;
        local();
      },
    );
  }

  /**
   * Runs a threaded job whose output (`field`, NCHW) is the chunk `direct` of the array the
   * caller returns. The workers write their tasks into the shared `staged` chunk; the calling
   * thread writes its tasks straight into `direct`, so only the workers' part is copied
   * afterwards. Copying the whole shared chunk out serially (and faulting in the fresh result's
   * pages there) was 10% of the layer G's 2-thread time.
   */
  *runIntoResult(
    j: Job,
    threads: number,
    field: 'y' | 'dx',
    staged: Float32Array,
    direct: Float32Array,
  ): Steps {
    j[field] = staged;
    j.owners = new Int32Array(new SharedArrayBuffer((j.tasks.length / TASK_STRIDE) * 4));
    yield this.run(j, threads, { ...j, [field]: direct });
    copyWorkerResults(j, staged, direct);
  }

  dispose(): void {
    this.workspace = new Float32Array(0);
    const p = this.pool;
    this.pool = null;
    if (p) p.dispose();
    else if (this.poolStarting) void this.poolStarting.then((started) => started.dispose());
    this.poolStarting = null;
  }
}
