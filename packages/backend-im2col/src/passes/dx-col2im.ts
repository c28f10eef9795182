import type { ConvDescription } from '@conv2d/core';
import type { Stage } from '../buffers.js';
import { usesDirectPath } from '../direct.js';
import { Op } from '../job.js';
import type { Runner } from '../runner.js';
import type { Steps } from '../steps.js';
import { inputTasks } from '../tasks.js';

/**
 * Images [n0, n1) of dx (the caller's layout, through `dxs`) from the NCHW dY chunk of `d`:
 * dX_hat = W_hatᵀ · dY_hat per tile, scatter-added back (col2im), or the direct loops' adjoint
 * for thin groups.
 */
export function* col2imChunk(
  runner: Runner,
  d: ConvDescription,
  dy: Float32Array,
  w: Float32Array,
  dx: Float32Array,
  n0: number,
  n1: number,
  dxs: Stage,
  threads: number,
  tileBytes: number,
): Steps {
  const op = usesDirectPath(d) ? Op.inputDirect : Op.inputCol2im;
  const j = runner.job(op, d, inputTasks(d, threads), threads, tileBytes);
  j.y = dy;
  j.w = w;
  const target = dxs.target(dx, n0, n1);
  target.fill(0); // a scatter-add target: a reused staging buffer or out holds old values
  const result = dxs.sharedOnly(dx, n0, n1);
  if (result) {
    result.fill(0);
    yield* runner.runIntoResult(j, threads, 'dx', target, result);
    return;
  }
  j.dx = target;
  yield runner.run(j, threads);
  dxs.write(dx, n0, n1, target);
}
