import type { ConvDescription } from '@conv2d/core';
import type { Buffers, Stage } from '../buffers.js';
import type { Runner } from '../runner.js';
import type { Steps } from '../steps.js';
import { transposedDescription, upsamplePad } from '../transposed.js';
import { forwardChunk } from './forward.js';

/**
 * Images [n0, n1) of dx (through `dxs`) as a transposed convolution of the NCHW dY chunk:
 * dY upsampled and padded into a buffer of role 'up', then the forward code with the flipped
 * kernel, stride 1, no bias.
 */
export function* transposedChunk(
  runner: Runner,
  d: ConvDescription,
  dy: Float32Array,
  flipped: Float32Array,
  dx: Float32Array,
  n0: number,
  n1: number,
  dxs: Stage,
  threads: number,
  tileBytes: number,
  get: Buffers,
): Steps {
  const t = transposedDescription(d, n1 - n0);
  const input = get('up', t.xSize);
  input.fill(0);
  upsamplePad(d, t, dy, 0, n1 - n0, input);
  const out = dxs.target(dx, n0, n1);
  const tt = runner.threadsFor(t) > 1 ? threads : 1;
  const result = dxs.sharedOnly(dx, n0, n1);
  yield* forwardChunk(runner, t, input, flipped, null, out, tt, null, tileBytes, result);
  if (!result) dxs.write(dx, n0, n1, out);
}
