import type { Worker } from 'node:worker_threads';
import { gemmImplementation, type WasmKernelName, wasmKernel } from '@conv2d/gemm';
import { abandon, type Job, workerBusy } from './kernels.js';

/** What a worker is sent for one job; `slot` is its dW accumulator (the caller has 0). */
export interface JobMessage {
  id: number;
  job: Job;
  slot: number;
  gemm: string;
  /** The caller's Wasm build (setWasmRelaxedSimd), so every thread rounds alike. */
  wasm: WasmKernelName | null;
}

export type JobReply = { id: number; ok: true } | { id: number; ok: false; error: string };

/** The worker script sits next to the bundle; from sources (tests) it is the built one. */
function workerUrl(): URL {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return new URL('../dist/worker.js', here);
  return new URL(here.endsWith('.cjs') ? './worker.cjs' : './worker.js', here);
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * A fixed set of worker threads that run jobs together with the calling thread. A job is
 * posted once per worker; the threads then share its tasks through atomics in a
 * SharedArrayBuffer, so no per-task messages are exchanged. The caller waits only for
 * workers that actually took part: one the OS has not scheduled yet finds the job done when
 * it wakes and just answers (replies carry the job id, so a late answer is never taken for
 * the next job's). Workers are unref'd between jobs, so an idle pool never keeps a process
 * alive, and terminated on dispose.
 */
export class WorkerPool {
  private readonly workers: Worker[];
  private readonly waiting: Map<number, Waiter>[];
  private broken: Error | null = null;
  private nextId = 1;

  private constructor(workers: Worker[]) {
    this.workers = workers;
    this.waiting = workers.map(() => new Map());
    workers.forEach((w, i) => {
      w.unref();
      const waiting = this.waiting[i];
      w.on('message', (reply: JobReply) => {
        const waiter = waiting.get(reply.id);
        waiting.delete(reply.id);
        if (!waiter) return;
        if (reply.ok) waiter.resolve();
        else waiter.reject(new Error(`backend-im2col worker: ${reply.error}`));
      });
      const fail = (e: Error) => {
        this.broken ??= e;
        for (const waiter of waiting.values()) waiter.reject(e);
        waiting.clear();
      };
      w.on('error', fail);
      w.on('exit', (code) => fail(new Error(`backend-im2col worker exited with code ${code}`)));
    });
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
    const id = this.nextId++;
    const gemm = gemmImplementation();
    const wasm = gemm === 'wasm-simd' ? wasmKernel() : null;
    const replies = this.workers.map(
      (w, i) =>
        new Promise<void>((resolve, reject) => {
          this.waiting[i].set(id, { resolve, reject });
          w.ref();
          const message: JobMessage = { id, job, slot: i + 1, gemm, wasm };
          w.postMessage(message);
        }),
    );
    let localError: unknown = null;
    try {
      local(job);
    } catch (e) {
      localError = e;
      abandon(job, this.workers.length + 1);
    }
    const needed = replies.filter((_, i) => localError !== null || workerBusy(job, i + 1));
    for (const r of replies) r.catch(() => {}); // the ones not awaited may fail unobserved
    try {
      await Promise.all(needed);
    } finally {
      for (const w of this.workers) w.unref();
    }
    if (localError) throw localError;
  }

  dispose(): void {
    for (const w of this.workers) void w.terminate();
  }
}
