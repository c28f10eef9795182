import { type ConvDescription, describeConv, type Wanted } from '@conv2d/core';
import { type Layer, layerOptions, layerShapes } from './layers.js';

/**
 * The timed passes. `dw` computes the weight and the bias gradient together (one backward
 * call with `{ dx: false, dw: true, db: true }`); `dx` computes the input gradient alone.
 */
export type Pass = 'forward' | 'dx' | 'dw';
export const PASSES: readonly Pass[] = ['forward', 'dx', 'dw'];

/**
 * How an engine is driven. `call`: one-shot `forward` / `backward` on plain arrays, every call
 * validating, packing and allocating anew. `plan`: prepared once (`backend.plan`, weights set
 * once with `setWeights`), forward with `save`, backward from the saved state, results into
 * reused buffers or kept resident: how a training loop or a served model runs. Peers run the
 * way their users run them, which is `plan`.
 */
export type Mode = 'call' | 'plan';
export const MODES: readonly Mode[] = ['call', 'plan'];

export const WANTED: Record<Exclude<Pass, 'forward'>, Required<Wanted>> = {
  dx: { dx: true, dw: false, db: false },
  dw: { dx: false, dw: true, db: true },
};

export function describeLayer(l: Layer): ConvDescription {
  const s = layerShapes(l);
  return describeConv(s.x, s.w, s.b, layerOptions(l));
}

/**
 * FLOPs of one pass: core's `2·N·Cout·Hout·Wout·(Cin/groups)·Kh·Kw`, the same for forward,
 * dX and dW (each is a GEMM of that size); the bias sums of dW's row are not counted.
 */
export function passFlops(l: Layer, _pass: Pass): number {
  return describeLayer(l).flops;
}

/** GFLOP/s of `flops` done in `ms` milliseconds. */
export function gflops(flops: number, ms: number): number {
  return flops / (ms * 1e6);
}
