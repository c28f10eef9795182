import { block4, type Range } from './data.js';
import type { Layer } from './layers.js';
import { describeLayer, type Pass } from './passes.js';

/**
 * A sub-problem whose results are an exact part of the layer's: a range of images, of input
 * and of output channels (whole groups for grouped layers). Forward needs every input channel
 * of an output channel, dX every output channel, dW and db every image, so each pass only
 * shrinks the other axes. Spatial axes are always whole.
 */
export interface Slice {
  batch: Range;
  inChannels: Range;
  outChannels: Range;
  /** Groups in the slice (1 for ungrouped layers). */
  groups: number;
}

const len = (r: Range) => r[1] - r[0];

export function sliceFlops(l: Layer, s: Slice): number {
  const d = describeLayer(l);
  const perImage = d.outHeight * d.outWidth * l.kernel * l.kernel;
  return 2 * len(s.batch) * len(s.outChannels) * (len(s.inChannels) / s.groups) * perImage;
}

export function isWhole(l: Layer, s: Slice): boolean {
  return (
    len(s.batch) === l.batch &&
    len(s.inChannels) === l.inChannels &&
    len(s.outChannels) === l.outChannels
  );
}

/**
 * The largest slice of `pass` whose naive reference costs at most `maxFlops` (halving the
 * largest free axis), at the start (`head`) or at the end (`tail`) of each axis: the tail
 * catches what goes wrong in an engine's last tile, image or channel block.
 */
export function planSlice(
  l: Layer,
  pass: Pass,
  maxFlops: number,
  end: 'head' | 'tail' = 'head',
): Slice {
  const cpg = l.inChannels / l.groups;
  const opg = l.outChannels / l.groups;
  const size = {
    batch: l.batch,
    inChannels: l.inChannels,
    outChannels: l.outChannels,
    groups: l.groups,
  };
  const slice = (): Slice => {
    const at = (n: number, full: number): Range => (end === 'head' ? [0, n] : [full - n, full]);
    return {
      batch: at(size.batch, l.batch),
      inChannels: at(size.inChannels, l.inChannels),
      outChannels: at(size.outChannels, l.outChannels),
      groups: size.groups,
    };
  };
  const shrinkBatch = pass !== 'dw';
  for (;;) {
    const s = slice();
    if (sliceFlops(l, s) <= maxFlops) return s;
    if (l.groups > 1) {
      // grouped: keep whole groups; shrink the batch first, then the groups
      if (shrinkBatch && size.batch > 1) size.batch = Math.ceil(size.batch / 2);
      else if (size.groups > 1) {
        size.groups = Math.ceil(size.groups / 2);
        size.inChannels = size.groups * cpg;
        size.outChannels = size.groups * opg;
      } else return s;
      continue;
    }
    const free: ('batch' | 'inChannels' | 'outChannels')[] =
      pass === 'forward'
        ? ['batch', 'outChannels']
        : pass === 'dx'
          ? ['batch', 'inChannels']
          : ['inChannels', 'outChannels'];
    const axis = free.filter((a) => size[a] > 1).sort((a, b) => size[b] - size[a])[0];
    if (!axis) return s;
    size[axis] = Math.ceil(size[axis] / 2);
  }
}

/** The slices a pass is checked on: head and tail, or the whole layer when it is cheap. */
export function planSlices(l: Layer, pass: Pass, maxFlops: number): Slice[] {
  const head = planSlice(l, pass, maxFlops, 'head');
  return isWhole(l, head) ? [head] : [head, planSlice(l, pass, maxFlops, 'tail')];
}

/** Input-channel range of the weights' second axis: the slice's own, or all of a group's. */
export function weightInRange(l: Layer, s: Slice): Range {
  return l.groups > 1 ? [0, l.inChannels / l.groups] : s.inChannels;
}

/** The slice's part of an engine's full result (NCHW for y and dx, OIHW for dw, then db). */
export function extractSlice(l: Layer, pass: Pass, s: Slice, result: Float32Array): Float32Array {
  const d = describeLayer(l);
  if (pass === 'forward') return block4(result, d.yShape, s.batch, s.outChannels);
  if (pass === 'dx') return block4(result, d.xShape, s.batch, s.inChannels);
  // dw result: dw (OIHW) followed by db
  const dw = block4(result, d.wShape, s.outChannels, weightInRange(l, s));
  const out = new Float32Array(dw.length + len(s.outChannels));
  out.set(dw);
  out.set(result.subarray(d.wSize + s.outChannels[0], d.wSize + s.outChannels[1]), dw.length);
  return out;
}

export function describeSlice(s: Slice): string {
  const r = (name: string, [a, b]: Range) => `${name}${a}-${b - 1}`;
  return [r('n', s.batch), r('ci', s.inChannels), r('co', s.outChannels)].join(' ');
}
