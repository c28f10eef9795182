import type { ConvDescription } from '@conv2d/core';
import type { PackedA } from '@conv2d/gemm';
import { Stage } from '../buffers.js';
import { usesDirectPath } from '../direct.js';
import { Op } from '../job.js';
import { nhwcFits } from '../nhwc.js';
import type { Runner } from '../runner.js';
import type { Steps } from '../steps.js';
import { forwardTasks } from '../tasks.js';
import type { Weights } from '../weights.js';
import { imagesPerChunk, type PassContext, withBatch } from './context.js';

/**
 * Forward of NCHW chunk `d` into y (fully overwritten), or, given `result` (the chunk of the
 * returned array that y stages for the workers), into `result` (see `Runner.runIntoResult`).
 * With `cache`, the im2col tiles are built there (the whole X_hat of the chunk) for backward.
 * `packed`: W packed per group for the Wasm GEMM, or null. The transposed dX runs here too.
 */
export function* forwardChunk(
  runner: Runner,
  d: ConvDescription,
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  y: Float32Array,
  threads: number,
  cache: Float32Array | null,
  tileBytes: number,
  result: Float32Array | null,
  packed: PackedA[] | null,
): Steps {
  const op = usesDirectPath(d) ? Op.forwardDirect : Op.forwardGemm;
  const j = runner.job(op, d, forwardTasks(d, threads), threads, tileBytes);
  j.x = x;
  j.w = w;
  j.packed = packed;
  j.b = b;
  j.cache = cache;
  j.fillCache = cache !== null;
  if (result) {
    yield* runner.runIntoResult(j, threads, 'y', y, result);
    return;
  }
  j.y = y;
  yield runner.run(j, threads);
}

/**
 * y (the caller's layout, fully overwritten) = the convolution of x, a batch chunk at a time
 * within the workspace bound. With `cache` (NCHW X_hat of the whole batch), fills it.
 */
export function* forwardPass(
  ctx: PassContext,
  x: Float32Array,
  weights: Weights,
  y: Float32Array,
  cache: Float32Array | null,
): Steps {
  const { runner, d, threads, get } = ctx;
  const shared = threads > 1;
  const cacheImage = cache ? cache.length / d.batch : 0;
  // NHWC through GEMM runs natively unless X_hat is kept (backward reads it as NCHW) or
  // not even one row of it fits a thread's workspace share.
  let [tileBytes, stageBytes] = runner.budgets(shared);
  const native =
    d.layout === 'NHWC' &&
    cache === null &&
    !usesDirectPath(d) &&
    nhwcFits(d, Math.max(16, Math.floor(tileBytes / 4 / threads)));
  if (d.layout === 'NHWC' && !native) [tileBytes, stageBytes] = runner.budgets(true);
  // 'NCHW' staging copies or views as is; the native path wants NHWC as is.
  const stageLayout = native ? 'NCHW' : d.layout;
  const xs = new Stage(stageLayout, d.inChannels, d.inHeight, d.inWidth, shared, get, 'x');
  const ys = new Stage(stageLayout, d.outChannels, d.outHeight, d.outWidth, shared, get, 'y');
  const wk = weights.get(native ? 'nhwc' : 'plain');
  const bs = weights.bias();
  const packed = native ? null : weights.packedGroups('forward');
  const step = imagesPerChunk(d, d.xSize / d.batch + d.ySize / d.batch, stageBytes);
  for (let n0 = 0; n0 < d.batch; n0 += step) {
    const n1 = Math.min(d.batch, n0 + step);
    const cd = withBatch(d, n1 - n0);
    const out = ys.target(y, n0, n1);
    const xc = xs.read(x, n0, n1);
    if (native) {
      const j = runner.job(Op.forwardNhwc, cd, forwardTasks(cd, threads), threads, tileBytes);
      j.x = xc;
      j.w = wk;
      j.b = bs;
      j.y = out;
      yield runner.run(j, threads);
      ys.write(y, n0, n1, out);
    } else {
      const view = cache ? cache.subarray(n0 * cacheImage, n1 * cacheImage) : null;
      const result = ys.sharedOnly(y, n0, n1);
      yield* forwardChunk(runner, cd, xc, wk, bs, out, threads, view, tileBytes, result, packed);
      if (!result) ys.write(y, n0, n1, out);
    }
  }
}
