import type { Wanted } from '@conv2d/core';
import { Stage } from '../buffers.js';
import { usesDirectPath } from '../direct.js';
import type { Steps } from '../steps.js';
import { transposedDescription } from '../transposed.js';
import type { Weights } from '../weights.js';
import { imagesPerChunk, type PassContext, withBatch } from './context.js';
import { biasGrad } from './db.js';
import { reduceSlots, weightGradChunk } from './dw.js';
import { col2imChunk } from './dx-col2im.js';
import { transposedChunk } from './dx-transposed.js';

export type DxMethod = 'col2im' | 'transposed';

/** What backward reads of forward's input: x itself (caller's layout), or X_hat (NCHW). */
export interface BackwardInput {
  x: Float32Array | null;
  xhat: Float32Array | null;
}

export type GradientTargets = Partial<Record<'dx' | 'dw' | 'db', Float32Array>>;

/**
 * The wanted gradients into `out` (each of its arrays written in place; the missing ones
 * allocated), a batch chunk at a time within the workspace bound: dY is staged once per chunk
 * for both dW and dX.
 */
export function* backwardPass(
  ctx: PassContext,
  dy: Float32Array,
  input: BackwardInput,
  weights: Weights,
  wanted: Required<Wanted>,
  dxMethod: DxMethod,
  out: GradientTargets,
): Steps<GradientTargets> {
  const { runner, d, threads, get } = ctx;
  const shared = threads > 1;
  const transposed = dxMethod === 'transposed';
  const grads: GradientTargets = {};
  // The direct dW sums db from the dY planes it stages (E: 0.25 ms less than a pass of its own).
  const fusedDb = wanted.db && wanted.dw && usesDirectPath(d);
  if (wanted.db && !fusedDb) grads.db = biasGrad(d, dy, out.db ?? new Float32Array(d.outChannels));
  if (!wanted.dw && !wanted.dx) return grads;
  const dbAcc = fusedDb ? float64s(d.outChannels * threads, shared) : null;

  const xImage = d.xSize / d.batch;
  const yImage = d.ySize / d.batch;
  const dys = new Stage(d.layout, d.outChannels, d.outHeight, d.outWidth, shared, get, 'dy');
  const xs = new Stage(d.layout, d.inChannels, d.inHeight, d.inWidth, shared, get, 'x');
  const dxs = new Stage(d.layout, d.inChannels, d.inHeight, d.inWidth, shared, get, 'dx');
  const { x, xhat } = input;
  const xhatImage = xhat ? xhat.length / d.batch : 0;
  // One thread accumulates dW straight into the result; threads each into their own slot.
  const dwOut = wanted.dw ? (out.dw ?? new Float32Array(d.wSize)) : null;
  const acc = dwOut && (shared ? get('acc', d.wSize * threads) : dwOut);
  acc?.fill(0);
  const dx = wanted.dx ? (out.dx ?? new Float32Array(d.xSize)) : null;
  const fresh = out.dx === undefined;
  const wk = dx ? weights.get(transposed ? 'flipped' : 'plain') : null;
  const packed = dx ? weights.packedGroups(transposed ? 'transposed' : 'col2im') : null;
  const upImage = transposed ? transposedDescription(d, 1).xSize : 0;

  const [tileBytes, stageBytes] = runner.budgets(shared || d.layout === 'NHWC' || transposed);
  const step = imagesPerChunk(d, 2 * xImage + yImage + upImage, stageBytes);
  for (let n0 = 0; n0 < d.batch; n0 += step) {
    const n1 = Math.min(d.batch, n0 + step);
    const cd = withBatch(d, n1 - n0);
    const dyc = dys.read(dy, n0, n1);
    if (acc) {
      const xc = xhat ? null : xs.read(x as Float32Array, n0, n1);
      const xhatc = xhat ? xhat.subarray(n0 * xhatImage, n1 * xhatImage) : null;
      yield* weightGradChunk(runner, cd, xc, dyc, acc, xhatc, threads, tileBytes, dbAcc);
    }
    if (dx && wk) {
      const chunk = { ctx, d: cd, dy: dyc, w: wk, dx, fresh, n0, n1, dxs, tileBytes, packed };
      yield* (transposed ? transposedChunk : col2imChunk)(chunk);
    }
  }
  if (dwOut && acc) grads.dw = reduceSlots(acc, d.wSize, threads, dwOut);
  if (dbAcc) grads.db = sumSlots(dbAcc, d.outChannels, out.db ?? new Float32Array(d.outChannels));
  if (dx) grads.dx = dx;
  return grads;
}

/** Zeroed float64s, shared with the workers when the pass is threaded. */
function float64s(size: number, shared: boolean): Float64Array {
  return shared ? new Float64Array(new SharedArrayBuffer(size * 8)) : new Float64Array(size);
}

/** out[i] = the sum over slots of acc[slot * size + i] (float64, rounded once). */
function sumSlots(acc: Float64Array, size: number, out: Float32Array): Float32Array {
  for (let i = 0; i < size; i++) {
    let s = 0;
    for (let o = i; o < acc.length; o += size) s += acc[o];
    out[i] = s;
  }
  return out;
}
