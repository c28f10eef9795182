import type { Steps } from '../steps.js';
import { transposedDescription, upsamplePad } from '../transposed.js';
import type { DxChunk } from './context.js';
import { forwardChunk } from './forward.js';

/**
 * A chunk of dX as a transposed convolution: dY upsampled and padded into a buffer of role
 * 'up', then the forward code with the flipped kernel (`w`), stride 1, no bias.
 */
export function* transposedChunk(c: DxChunk): Steps {
  const { ctx, d, dy, w, dx, n0, n1, dxs, tileBytes, packed } = c;
  const { runner, threads, get } = ctx;
  const t = transposedDescription(d, n1 - n0);
  const input = get('up', t.xSize);
  input.fill(0);
  upsamplePad(d, t, dy, 0, n1 - n0, input);
  const out = dxs.target(dx, n0, n1);
  const tt = runner.threadsFor(t) > 1 ? threads : 1;
  const result = dxs.sharedOnly(dx, n0, n1);
  yield* forwardChunk(runner, t, input, w, null, out, tt, null, tileBytes, result, packed);
  if (!result) dxs.write(dx, n0, n1, out);
}
