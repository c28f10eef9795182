import type { BackendKernels, ConvDescription, Wanted } from '@conv2d/core';
import { Arena, alloc, type Buffers, share } from './buffers.js';
import { ConvPlan, type EngineStats } from './conv-plan.js';
import type { DxMethod } from './passes/backward.js';
import { Runner, type RunnerSettings } from './runner.js';

export type { EngineStats } from './conv-plan.js';
export type { DxMethod } from './passes/backward.js';

export interface EngineSettings extends RunnerSettings {
  dxMethod: DxMethod;
}

export interface Engine extends BackendKernels {
  readonly stats: EngineStats;
}

/**
 * The im2col engine: every call runs through a `ConvPlan`. A user's plan (`backend.plan`) owns
 * its buffers and prepared weights; a one-shot call makes a plan for itself, on buffers leased
 * from the engine (kept from call to call, so repeated calls do not page-fault fresh memory).
 */
export function createEngine(settings: EngineSettings): Engine {
  const stats: EngineStats = { threadedJobs: 0, weightPacks: 0, im2colReused: 0 };
  const runner = new Runner(settings, stats);
  const parts = {
    runner,
    workspaceBytes: settings.workspaceBytes,
    dxMethod: settings.dxMethod,
    stats,
  };
  const arenas = [new Arena(false), new Arena(true)];

  /**
   * Runs `task` on a plan made for one call, with the engine's arena of the right kind (fresh
   * arrays when a call that overlaps this one holds it). A single-threaded call runs to the end
   * before returning (see steps.ts); a threaded one first copies the activations it is given
   * into shared memory, which its workers need anyway, so a caller that changes them while the
   * call runs does not change the result.
   */
  function oneShot<T>(
    desc: ConvDescription,
    task: (plan: ConvPlan, own: (a: Float32Array, role: string) => Float32Array) => T,
  ): T {
    const threads = runner.threadsFor(desc);
    const arena = arenas[threads > 1 ? 1 : 0];
    const leased = !arena.busy;
    const get: Buffers = leased ? arena.get : (_role, size) => alloc(size, threads > 1);
    const own = (a: Float32Array, role: string) => share(a, threads > 1, get, role);
    arena.busy = true;
    const release = () => {
      if (leased) arena.busy = false;
    };
    try {
      // packing W costs more than the GEMM's own per-tile packing saves in a single call
      const result = task(new ConvPlan(parts, desc, threads, { get }, false), own);
      if (result instanceof Promise) return result.finally(release) as T;
      release();
      return result;
    } catch (e) {
      release();
      throw e;
    }
  }

  return {
    stats,

    // The one-shot calls have read their inputs when they return (see `oneShot`), so core
    // hands them the caller's arrays, not copies.
    readsInputsAtCall: true,

    forward: (desc, x, w, b, out) =>
      oneShot(desc, (plan, own) => {
        plan.setWeights(w, b);
        const request = { save: false, resident: false, out: out ?? null };
        const r = plan.forward(own(x, 'call-x'), request);
        return r instanceof Promise ? r.then(({ y }) => y) : r.y;
      }),

    backward: (desc, dy, x, w, wanted: Required<Wanted>, out = {}) =>
      oneShot(desc, (plan, own) => {
        plan.setWeights(w, null);
        const saved = plan.save(wanted.dw ? own(x, 'call-x') : x); // only dW reads x
        return plan.backward(own(dy, 'call-dy'), saved, { wanted, resident: false, out });
      }),

    plan(desc) {
      const threads = runner.threadsFor(desc);
      return new ConvPlan(parts, desc, threads, new Arena(threads > 1));
    },

    dispose() {
      for (const arena of arenas) arena.clear();
      runner.dispose();
    },
  };
}
