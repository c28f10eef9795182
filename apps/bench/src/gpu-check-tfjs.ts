import { compare, describeMismatch } from '@conv2d/conformance/runner';
import type { Tensor } from '@conv2d/core';
import { type Tf, tfjsAdapter } from './engines/tfjs-adapter.js';
import { concat, type EngineAdapter, type PassInputs, type PreparedPass } from './engines/types.js';
import type { Layer } from './layers.js';
import type { Pass } from './passes.js';
import { median } from './stats.js';

/**
 * tfjs-webgpu (`@tensorflow/tfjs-backend-webgpu`) in Node on Dawn, beside gpujs:webgpu in the
 * GPU check: the backend registers itself only when `navigator.gpu` exists when it is
 * imported, so it is loaded after gpu.js's webgpu mode has set `navigator.gpu` from the
 * `webgpu` package. Returns the adapter, or why tfjs-webgpu cannot run here.
 */
export async function loadTfjsWebgpu(): Promise<EngineAdapter | string> {
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (!nav?.gpu) return 'no navigator.gpu (gpu.js webgpu mode did not start Dawn)';
  try {
    const tf = (await import('@tensorflow/tfjs-core')) as Tf;
    await import('@tensorflow/tfjs-backend-webgpu');
    tf.enableProdMode();
    if (!(await tf.setBackend('webgpu'))) return 'tf.setBackend("webgpu") returned false';
    await tf.ready();
    return tfjsAdapter(tf, 'webgpu', 'async');
  } catch (e) {
    return `did not start: ${(e as Error).message}`;
  }
}

/** The oracle's answer for one pass, in the adapter's result order (dw then db). */
export interface PassWant {
  want: Float32Array;
  bound: Float64Array;
}

export interface TfjsRow {
  medianMs?: number;
  gflops?: number;
  firstCallMs?: number;
  check?: string;
  status?: 'failed' | 'absent';
  reason?: string;
}

/**
 * One pass on resident tensors (inputs uploaded once, the result read back inside the timed
 * call, as the bench does): a first call, checked against `want` when given, then `reps`
 * timed calls.
 */
export async function timeTfjsPass(
  adapter: EngineAdapter,
  layer: Layer,
  pass: Pass,
  inputs: PassInputs,
  reps: number,
  flops: number,
  want: PassWant | null,
): Promise<TfjsRow> {
  const absent = adapter.absent(layer, pass);
  if (absent) return { status: 'absent', reason: absent };
  try {
    const prepared = await adapter.prepare(layer, pass, inputs, 'plan');
    try {
      return await timePrepared(prepared, reps, flops, (result) => {
        if (!want) return undefined;
        const m = compare(result, want.want, want.bound);
        return m ? describeMismatch(pass, m) : 'ok';
      });
    } finally {
      prepared.release();
    }
  } catch (e) {
    return { status: 'failed', reason: (e as Error).message };
  }
}

/**
 * A prepared pass's first call (compiling; its result given to `check`), then `reps` timed
 * calls: the median, GFLOP/s and the first call's time.
 */
export async function timePrepared(
  prepared: PreparedPass,
  reps: number,
  flops: number,
  check: (result: Float32Array) => string | undefined = () => undefined,
): Promise<TfjsRow> {
  let t = performance.now();
  await prepared.run();
  const firstCallMs = performance.now() - t;
  const verdict = check(prepared.result());
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    t = performance.now();
    await prepared.run();
    times.push(performance.now() - t);
  }
  const medianMs = median(times);
  return {
    medianMs,
    gflops: flops / medianMs / 1e6,
    firstCallMs,
    ...(verdict ? { check: verdict } : {}),
  };
}

export function passWants(
  y: Tensor,
  grads: { dx?: Tensor | null; dw?: Tensor | null; db?: Tensor | null },
  bounds: { y: Float64Array; dx: Float64Array; dw: Float64Array; db: Float64Array },
): Record<Pass, PassWant> {
  return {
    forward: { want: y.data, bound: bounds.y },
    dx: { want: (grads.dx as Tensor).data, bound: bounds.dx },
    dw: {
      want: concat((grads.dw as Tensor).data, (grads.db as Tensor).data),
      bound: Float64Array.from([...bounds.dw, ...bounds.db]),
    },
  };
}
