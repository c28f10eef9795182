import type { Tensor } from '@conv2d/core';
import type { Layer } from '../layers.js';
import type { Mode, Pass } from '../passes.js';

/** How a child process builds an engine: plain data, sent over IPC. */
export type EngineDef =
  | {
      name: string;
      kind: 'conv2d';
      spec: string;
      options?: Record<string, unknown>;
      peer: false;
      /** Its tensors live on a device (GPU memory): its plan mode keeps them resident. */
      resident?: boolean;
    }
  | { name: string; kind: 'tfjs'; backend: 'cpu' | 'wasm'; peer: true }
  | { name: string; kind: 'onnxruntime'; threads: number; peer: true };

/** The layer's tensors in NCHW / OIHW, as generated for every engine. */
export interface PassInputs {
  x: Tensor;
  w: Tensor;
  b: Tensor;
  dy: Tensor;
}

/** One pass of one layer, ready to run: native tensors built, outside the timed region. */
export interface PreparedPass {
  /** The timed work: the pass, its result materialised in a Float32Array. */
  run(): Promise<void>;
  /** The last run's result in NCHW (y, dx) or OIHW dw followed by db, for the check. */
  result(): Float32Array;
  release(): void;
}

export interface EngineAdapter {
  /** null when the engine has the pass for this layer, else why it is absent. */
  absent(layer: Layer, pass: Pass): string | null;
  /** Builds the pass, driven in `mode` (an engine runs only the modes `modesOf` gives it). */
  prepare(layer: Layer, pass: Pass, inputs: PassInputs, mode: Mode): Promise<PreparedPass>;
  dispose(): void;
}

export function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * A pass's result in the form the check reads: y or dx, or dw followed by db. Empty before
 * the first run.
 */
export function passResult(
  pass: Pass,
  y: Float32Array | undefined,
  dx: Float32Array | undefined,
  dw: Float32Array | undefined,
  db: Float32Array | undefined,
): Float32Array {
  const empty = new Float32Array(0);
  if (pass === 'forward') return y ?? empty;
  if (pass === 'dx') return dx ?? empty;
  return dw && db ? concat(dw, db) : empty;
}
