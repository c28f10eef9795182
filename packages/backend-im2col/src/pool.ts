import type { Worker } from 'node:worker_threads';
import { gemmImplementation } from '@conv2d/gemm';
import type { Job } from './kernels.js';

/** What a worker is sent for one job; `slot` is its dW accumulator (the caller has 0). */
export interface JobMessage {
  job: Job;
  slot: number;
  gemm: string;
}

export type JobReply = { ok: true } | { ok: false; error: string };

/** The worker script sits next to the bundle; from sources (tests) it is the built one. */
function workerUrl(): URL {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return new URL('../dist/worker.js', here);
  return new URL(here.endsWith('.cjs') ? './worker.cjs' : './worker.js', here);
}

/**
 * A fixed set of worker threads that run jobs together with the calling thread. Workers are
 * unref'd between jobs, so an idle pool never keeps a process alive, and terminated on
 * dispose. A job is posted once per worker; the workers and the caller then share its tasks
 * through an atomic counter, so no per-task messages are exchanged.
 */
export class WorkerPool {
  private readonly workers: Worker[];
  private broken: Error | null = null;

  private constructor(workers: Worker[]) {
    this.workers = workers;
    for (const w of workers) {
      w.unref();
      w.on('error', (e) => {
        this.broken = e;
      });
    }
  }

  /** Starts `size` workers (the caller is the extra thread). */
  static async create(size: number): Promise<WorkerPool> {
    const { Worker } = await import('node:worker_threads');
    const url = workerUrl();
    // Workers inherit the process's flags; --input-type (node -e scripts) makes them fail.
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
    const workers = Array.from({ length: size }, () => new Worker(url, { execArgv }));
    return new WorkerPool(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Runs the job on every worker and, meanwhile, `local` on the calling thread. */
  async run(job: Job, local: (job: Job) => void): Promise<void> {
    if (this.broken) throw this.broken;
    const gemm = gemmImplementation();
    const replies = this.workers.map(
      (w, i) =>
        new Promise<void>((resolve, reject) => {
          const onMessage = (reply: JobReply) => {
            off();
            if (reply.ok) resolve();
            else reject(new Error(`backend-im2col worker: ${reply.error}`));
          };
          const onExit = (code: number) => {
            off();
            reject(this.broken ?? new Error(`backend-im2col worker exited with code ${code}`));
          };
          const onError = (e: Error) => {
            off();
            reject(e);
          };
          const off = () => {
            w.off('message', onMessage);
            w.off('exit', onExit);
            w.off('error', onError);
          };
          w.on('message', onMessage);
          w.on('exit', onExit);
          w.on('error', onError);
          w.ref();
          const message: JobMessage = { job, slot: i + 1, gemm };
          w.postMessage(message);
        }),
    );
    let localError: unknown = null;
    try {
      local(job);
    } catch (e) {
      localError = e;
      // Stop the workers from starting further tasks.
      Atomics.store(job.counter, 0, 0x3fffffff);
    }
    const settled = await Promise.allSettled(replies);
    for (const w of this.workers) w.unref();
    if (localError) throw localError;
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
  }

  dispose(): void {
    for (const w of this.workers) void w.terminate();
  }
}
