import { prefix4 } from './data.js';
import type { Layer } from './layers.js';
import { describeLayer, type Pass } from './passes.js';

/**
 * A sub-problem whose results are an exact part of the layer's: the first `batch` images,
 * the first `inChannels` input and `outChannels` output channels (whole groups for grouped
 * layers). Forward needs every input channel of an output channel, dX every output channel,
 * dW and db every image, so each pass only shrinks the other axes.
 */
export interface Slice {
  batch: number;
  inChannels: number;
  outChannels: number;
  groups: number;
}

export function sliceFlops(l: Layer, s: Slice): number {
  const d = describeLayer(l);
  return (
    2 *
    s.batch *
    s.outChannels *
    d.outHeight *
    d.outWidth *
    (s.inChannels / s.groups) *
    l.kernel *
    l.kernel
  );
}

export function isWhole(l: Layer, s: Slice): boolean {
  return s.batch === l.batch && s.inChannels === l.inChannels && s.outChannels === l.outChannels;
}

/** The largest slice of `pass` whose naive reference costs at most `maxFlops` (halving axes). */
export function planSlice(l: Layer, pass: Pass, maxFlops: number): Slice {
  const s: Slice = {
    batch: l.batch,
    inChannels: l.inChannels,
    outChannels: l.outChannels,
    groups: l.groups,
  };
  const cpg = l.inChannels / l.groups;
  const opg = l.outChannels / l.groups;
  const canShrinkBatch = pass !== 'dw';
  for (;;) {
    if (sliceFlops(l, s) <= maxFlops) return s;
    if (l.groups > 1) {
      // grouped: keep whole groups; shrink the batch first, then the groups
      if (canShrinkBatch && s.batch > 1) s.batch = Math.ceil(s.batch / 2);
      else if (s.groups > 1) {
        s.groups = Math.ceil(s.groups / 2);
        s.inChannels = s.groups * cpg;
        s.outChannels = s.groups * opg;
      } else return s;
      continue;
    }
    // the free axes of this pass, the largest halved first
    const free: ('batch' | 'inChannels' | 'outChannels')[] =
      pass === 'forward'
        ? ['batch', 'outChannels']
        : pass === 'dx'
          ? ['batch', 'inChannels']
          : ['inChannels', 'outChannels'];
    const axis = free.filter((a) => s[a] > 1).sort((a, b) => s[b] - s[a])[0];
    if (!axis) return s;
    s[axis] = Math.ceil(s[axis] / 2);
  }
}

/** The slice's part of an engine's full result (NCHW for y and dx, OIHW for dw, then db). */
export function extractSlice(l: Layer, pass: Pass, s: Slice, result: Float32Array): Float32Array {
  const d = describeLayer(l);
  if (pass === 'forward') return prefix4(result, d.yShape, s.batch, s.outChannels);
  if (pass === 'dx') return prefix4(result, d.xShape, s.batch, s.inChannels);
  // dw result: dw (OIHW) followed by db
  const dw = prefix4(result, d.wShape, s.outChannels, s.inChannels / s.groups);
  const out = new Float32Array(dw.length + s.outChannels);
  out.set(dw);
  out.set(result.subarray(d.wSize, d.wSize + s.outChannels), dw.length);
  return out;
}
