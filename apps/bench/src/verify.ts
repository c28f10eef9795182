import { compare, describeMismatch, errorBounds } from '@conv2d/conformance/runner';
import type { Conv2dBackend, Conv2dOptions, Tensor } from '@conv2d/core';
import { generateBlock4 } from './data.js';
import { concat } from './engines/types.js';
import { type Layer, layerOptions, layerShapes } from './layers.js';
import { describeLayer, type Pass } from './passes.js';
import { type Slice, weightInRange } from './slice.js';

export {
  describeSlice,
  extractSlice,
  isWhole,
  planSlice,
  planSlices,
  type Slice,
  sliceFlops,
} from './slice.js';

export interface Reference {
  slice: Slice;
  want: Float32Array;
  bound: Float64Array;
  /** Milliseconds the naive oracle took for the reference pass (a rate estimate for naive). */
  oracleMs: number;
}

function sliceTensors(l: Layer, s: Slice) {
  const full = layerShapes(l);
  const d = describeLayer(l);
  const x = generateBlock4('x', full.x, s.batch, s.inChannels);
  const w = generateBlock4('w', full.w, s.outChannels, weightInRange(l, s));
  const b = generateBlock4('b', [1, l.outChannels, 1, 1], [0, 1], s.outChannels);
  const dy = generateBlock4('dy', d.yShape, s.batch, s.outChannels);
  const bias: Tensor = { shape: [b.data.length], data: b.data };
  return { x, w, b: bias, dy };
}

/** Computes the naive oracle's result on the slice and its per-element error bounds. */
export async function computeReference(
  oracle: Conv2dBackend,
  l: Layer,
  pass: Pass,
  s: Slice,
): Promise<Reference> {
  const t = sliceTensors(l, s);
  const options: Conv2dOptions = { ...layerOptions(l), groups: s.groups };
  const start = performance.now();
  let want: Float32Array;
  if (pass === 'forward') want = (await oracle.forward(t.x, t.w, t.b, options)).data;
  else if (pass === 'dx') {
    const g = await oracle.backward(t.dy, t.x, t.w, options, { dx: true, dw: false, db: false });
    want = (g.dx as Tensor).data;
  } else {
    const g = await oracle.backward(t.dy, t.x, t.w, options, { dx: false, dw: true, db: true });
    want = concat((g.dw as Tensor).data, (g.db as Tensor).data);
  }
  const oracleMs = performance.now() - start;
  const bounds = await errorBounds(t.x, t.w, t.b, t.dy, options);
  const bound =
    pass === 'forward'
      ? bounds.y
      : pass === 'dx'
        ? bounds.dx
        : Float64Array.from([...bounds.dw, ...bounds.db]);
  return { slice: s, want, bound, oracleMs };
}

/** null when the engine's slice is within bounds, else what is wrong. */
export function checkAgainst(ref: Reference, got: Float32Array, pass: Pass): string | null {
  const m = compare(got, ref.want, ref.bound);
  return m ? describeMismatch(pass === 'dw' ? 'dw|db' : pass === 'dx' ? 'dx' : 'y', m) : null;
}
