import type { ConvDescription } from '@conv2d/core';
import { usesDirectPath } from '../direct.js';
import { Op } from '../job.js';
import type { Runner } from '../runner.js';
import type { Steps } from '../steps.js';
import { weightTasks } from '../tasks.js';

/**
 * acc (one wSize slot per thread) += dW of NCHW chunk `d`: dY_hat · X_hatᵀ through GEMM, or the
 * direct loops for thin groups, which also add db into `db` (one outChannels slot per thread)
 * when given: they have each dY plane at hand. `xhat`: the chunk's X_hat kept by forward (GEMM path), read
 * instead of rebuilt from x. Each thread adds a fixed share of the tasks into its own slot, so
 * the sums come out the same on every run.
 */
export function* weightGradChunk(
  runner: Runner,
  d: ConvDescription,
  x: Float32Array | null,
  dy: Float32Array,
  acc: Float32Array,
  xhat: Float32Array | null,
  threads: number,
  tileBytes: number,
  db: Float64Array | null,
): Steps {
  const direct = usesDirectPath(d);
  const op = direct ? Op.weightDirect : Op.weightGemm;
  const j = runner.job(op, d, weightTasks(d, threads), threads, tileBytes);
  j.x = x;
  j.y = dy;
  j.acc = acc;
  j.db = direct ? db : null;
  j.stride = threads;
  if (xhat && !direct) j.cache = xhat;
  yield runner.run(j, threads);
}

/** out = the sum of the per-thread dW slots of acc. */
export function reduceSlots(
  acc: Float32Array,
  size: number,
  slots: number,
  out: Float32Array,
): Float32Array {
  if (out !== acc) out.set(acc.subarray(0, size));
  for (let s = 1; s < slots; s++) for (let i = 0, o = s * size; i < size; i++) out[i] += acc[o + i];
  return out;
}
