import type { Worker } from 'node:worker_threads';
import { Conv2dError } from '@conv2d/core';
import { gemmImplementation, type WasmKernelName, wasmKernel } from '@conv2d/gemm';
import { abandon, type Job, workerBusy } from './job.js';
import { WORKER_READY } from './worker-ready.js';

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

/** The bundled worker script, inlined by the build (tsup.config.ts); absent in the sources. */
declare const __IM2COL_WORKER_SOURCE__: string | undefined;

/**
 * The worker's code: inlined in the built index, so no file has to sit next to it (an app
 * bundle moves the index, not its neighbours); from the sources (tests) the built script.
 */
async function workerSource(): Promise<string> {
  if (typeof __IM2COL_WORKER_SOURCE__ === 'string') return __IM2COL_WORKER_SOURCE__;
  const { readFileSync } = await import('node:fs');
  return readFileSync(new URL('../dist/worker.cjs', import.meta.url), 'utf8');
}

/** Resolves when the worker has loaded; rejects with why it could not start. */
function started(worker: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error: Error | null) => {
      worker.off('message', message).off('error', settle).off('exit', exit);
      if (error) reject(error);
      else resolve();
    };
    const message = (m: unknown) => {
      if (m === WORKER_READY) settle(null);
    };
    const exit = (code: number) => settle(new Error(`the worker exited with code ${code}`));
    worker.on('message', message).on('error', settle).on('exit', exit);
  });
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
 * the next job's). A worker is ref'd exactly while it owes a reply (jobs overlap when calls
 * are not awaited in turn, so that is a count, not a flag): an idle pool never keeps a process
 * alive, and a busy one never lets it end under a call that still waits. Terminated on dispose.
 */
export class WorkerPool {
  private readonly workers: Worker[];
  /** Per worker: the jobs posted to it whose reply has not come, by job id. */
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
        if (!waiter) return;
        this.settled(i, reply.id);
        if (reply.ok) waiter.resolve();
        else waiter.reject(new Error(`backend-im2col worker: ${reply.error}`));
      });
      const fail = (e: Error) => {
        this.broken ??= e;
        this.abandon(i, e);
      };
      w.on('error', fail);
      w.on('exit', (code) => fail(new Error(`backend-im2col worker exited with code ${code}`)));
    });
  }

  /**
   * Starts `size` workers (the caller is the extra thread) and waits until each has loaded;
   * rejects, with every worker terminated, when one cannot start.
   */
  static async create(size: number): Promise<WorkerPool> {
    const { Worker } = await import('node:worker_threads');
    const source = await workerSource();
    // Workers inherit the process's flags; --input-type (node -e scripts) makes them fail.
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
    const workers = Array.from(
      { length: size },
      () => new Worker(source, { eval: true, execArgv }),
    );
    try {
      await Promise.all(workers.map(started));
    } catch (e) {
      for (const w of workers) void w.terminate();
      throw e;
    }
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
          const waiting = this.waiting[i];
          if (waiting.size === 0) w.ref();
          waiting.set(id, { resolve, reject });
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
    await Promise.all(needed);
    if (localError) throw localError;
  }

  /** Job `id`'s reply from worker `i` came: the worker holds the process only while it owes one. */
  private settled(i: number, id: number): void {
    const waiting = this.waiting[i];
    waiting.delete(id);
    if (waiting.size === 0) this.workers[i].unref();
  }

  /** Rejects every reply worker `i` still owes; it no longer holds the process. */
  private abandon(i: number, e: Error): void {
    const owed = [...this.waiting[i].values()];
    this.waiting[i].clear();
    this.workers[i].unref();
    for (const waiter of owed) waiter.reject(e);
  }

  /** Calls still waiting on a worker, and any later ones, reject with code `disposed`. */
  dispose(): void {
    const disposed = new Conv2dError('disposed', {
      argument: 'backend',
      value: 'im2col',
      expected: 'a backend that is not disposed while its calls run',
    });
    this.broken = disposed;
    this.workers.forEach((w, i) => {
      this.abandon(i, disposed);
      void w.terminate();
    });
  }
}
