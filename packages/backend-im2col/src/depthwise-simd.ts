import type { ConvDescription } from '@conv2d/core';
import { type DepthwisePlanes, depthwisePlanes } from '@conv2d/gemm';
import type { ForwardArgs, InputGradArgs, WeightGradArgs } from './direct-args.js';
import { forwardGeometry, inputGradGeometry } from './plane-geometry.js';

/**
 * The direct path at stride 1 on `@conv2d/gemm`'s WebAssembly SIMD planes (any kernel size,
 * dilation and padding; 4 output columns per f32x4), one group per call. Each function returns
 * false, doing nothing, where it does not apply (a stride, planes too large to stage, or no
 * Wasm SIMD in this runtime): the scalar loops in direct.ts then run.
 */

/** The Wasm memory one group may stage (floats): the engine's default workspace, 64 MiB. */
const MAX_STAGED_FLOATS = 1 << 24;

/**
 * What one group stages, with room to spare (floats): its input planes, the bordered copy and
 * its output planes (rows padded to 4 columns), for forward and dW; dX swaps the two sides.
 */
function stagedFloats(d: ConvDescription): number {
  const border = (d.kernelHeight + 1) * d.dilationHeight + (d.kernelWidth + 4) * d.dilationWidth;
  const plane =
    Math.max(d.inHeight, d.outHeight + border) * Math.max(d.inWidth, d.outWidth + border);
  return (d.inChannelsPerGroup + d.outChannelsPerGroup + 1) * plane;
}

function planesFor(d: ConvDescription): DepthwisePlanes | null {
  if (d.strideHeight !== 1 || d.strideWidth !== 1) return null;
  return stagedFloats(d) <= MAX_STAGED_FLOATS ? depthwisePlanes() : null;
}

/**
 * Group g of image n: where its first input plane, first output plane and first kernel start
 * (its planes and kernels are consecutive), and how many input and output channels it has.
 */
interface GroupAt {
  cig: number;
  cog: number;
  /** The group's first output channel. */
  co: number;
  xAt: number;
  yAt: number;
  wAt: number;
}

/**
 * Runs `visit` on the Wasm planes for each group [g0, g1) of image n; false, visiting nothing,
 * where the planes do not apply (see `planesFor`).
 */
function eachGroup(
  d: ConvDescription,
  n: number,
  g0: number,
  g1: number,
  visit: (planes: DepthwisePlanes, at: GroupAt) => void,
): boolean {
  const planes = planesFor(d);
  if (planes === null) return false;
  const cig = d.inChannelsPerGroup;
  const cog = d.outChannelsPerGroup;
  for (let g = g0; g < g1; g++) {
    visit(planes, {
      cig,
      cog,
      co: g * cog,
      xAt: (n * d.inChannels + g * cig) * d.inHeight * d.inWidth,
      yAt: (n * d.outChannels + g * cog) * d.outHeight * d.outWidth,
      wAt: g * cog * cig * d.kernelHeight * d.kernelWidth,
    });
  }
  return true;
}

/** Forward for image n, groups [g0, g1): y = bias + the convolution (as `directForward`). */
export function simdForward(...[d, x, w, b, y, n, g0, g1]: ForwardArgs): boolean {
  const c = forwardGeometry(d);
  return eachGroup(d, n, g0, g1, (planes, { cig, cog, co, xAt, yAt, wAt }) =>
    planes.correlate(c, cig, cog, x, xAt, w, wAt, b, co, y, yAt),
  );
}

/** dX for image n, groups [g0, g1) (writes those planes of dx; as `directInputGrad`). */
export function simdInputGrad(...[d, dy, w, dx, n, g0, g1]: InputGradArgs): boolean {
  const c = inputGradGeometry(d);
  const KK = d.kernelHeight * d.kernelWidth;
  // The group's kernels flipped, with inputs and outputs swapped: [ic][oc][KK], reversed taps.
  const flipped = new Float32Array(d.inChannelsPerGroup * d.outChannelsPerGroup * KK);
  return eachGroup(d, n, g0, g1, (planes, { cig, cog, xAt, yAt, wAt }) => {
    for (let oc = 0; oc < cog; oc++)
      for (let ic = 0; ic < cig; ic++) {
        const src = wAt + (oc * cig + ic) * KK;
        const dst = (ic * cog + oc) * KK;
        for (let t = 0; t < KK; t++) flipped[dst + t] = w[src + KK - 1 - t];
      }
    planes.correlate(c, cog, cig, dy, yAt, flipped, 0, null, 0, dx, xAt);
  });
}

/** dW for image n, groups [g0, g1), added into acc at accBase (as `directWeightGrad`). */
export function simdWeightGrad(
  ...[d, dy, x, acc, accBase, n, g0, g1, db, dbBase]: WeightGradArgs
): boolean {
  const c = forwardGeometry(d);
  return eachGroup(d, n, g0, g1, (planes, { cig, cog, co, xAt, yAt, wAt }) =>
    planes.tapSums(c, cig, cog, x, xAt, dy, yAt, acc, accBase + wAt, db, dbBase + co),
  );
}
