import { usesDirectPath } from '../direct.js';
import { Op } from '../job.js';
import type { Steps } from '../steps.js';
import { inputTasks } from '../tasks.js';
import type { DxChunk } from './context.js';

/**
 * A chunk of dX by col2im: dX_hat = W_hatᵀ · dY_hat per tile, scatter-added back, or the
 * direct loops' adjoint for thin groups.
 */
export function* col2imChunk(c: DxChunk): Steps {
  const { ctx, d, dy, w, dx, fresh, n0, n1, dxs, tileBytes, packed } = c;
  const { runner, threads } = ctx;
  const op = usesDirectPath(d) ? Op.inputDirect : Op.inputCol2im;
  const j = runner.job(op, d, inputTasks(d, threads), threads, tileBytes);
  j.y = dy;
  j.w = w;
  j.packed = packed;
  const target = dxs.target(dx, n0, n1);
  target.fill(0); // a scatter-add target: a reused staging buffer or out holds old values
  const result = dxs.sharedOnly(dx, n0, n1);
  if (result) {
    if (!fresh) result.fill(0); // the calling thread adds its tasks straight onto it
    yield* runner.runIntoResult(j, threads, 'dx', target, result);
    return;
  }
  j.dx = target;
  yield runner.run(j, threads);
  dxs.write(dx, n0, n1, target);
}
