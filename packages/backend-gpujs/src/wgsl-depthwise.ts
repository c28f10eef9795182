import type { ConvDescription } from '@conv2d/core';
import { activationDims } from './sources.js';
import { hosted, MAX_GROUPS, range, sizes, type WgslKernelSource } from './wgsl-sources.js';

/**
 * Forward of a depthwise convolution (one input channel per group) in WGSL, for the `tiled`
 * family: a matrix product would be one column wide, so instead a thread computes a 4x4 block of
 * one output channel, loading each input value it needs once into a register (3x3, stride 1:
 * 36 loads for 144 products) and its channel's weights once.
 */

/** Output rows and columns per thread. */
const BLOCK = 4;
/** Threads per workgroup side. */
const THREADS = 8;
/** Registers of input values above which the kernel is not generated (shader size). */
const MAX_LOADS = 128;

export function forwardDepthwiseSource(d: ConvDescription): WgslKernelSource | null {
  if (d.inChannelsPerGroup !== 1) return null;
  const s = sizes(d);
  const offsets = (stride: number, dilation: number, taps: number) => [
    ...new Set(range(BLOCK).flatMap((i) => range(taps).map((k) => i * stride + k * dilation))),
  ];
  const rows = offsets(d.strideHeight, d.dilationHeight, d.kernelHeight);
  const cols = offsets(d.strideWidth, d.dilationWidth, d.kernelWidth);
  const groups: [number, number, number] = [
    Math.ceil(d.outWidth / BLOCK / THREADS),
    Math.ceil(d.outHeight / BLOCK / THREADS),
    d.batch * d.outChannels,
  ];
  if (rows.length * cols.length > MAX_LOADS || groups.some((n) => n > MAX_GROUPS)) return null;
  const input = (r: number, c: number) => `x_${r}_${c}`;
  const loads = rows.flatMap((r) =>
    cols.map(
      // A select, not a branch (WGSL clamps the access; see wgsl-sources.ts's Operand.load).
      (
        c,
      ) => `let ${input(r, c)} = select(0.0, user_x[${s.xAt('n', 'ci', `ih0 + ${r}`, `iw0 + ${c}`)}],
    (ih0 + ${r} >= 0) & (ih0 + ${r} < ${d.inHeight}) & (iw0 + ${c} >= 0) & (iw0 + ${c} < ${d.inWidth}));`,
    ),
  );
  const weights = range(s.taps).map((t) => `let w${t} = user_wt[co * ${s.taps} + ${t}];`);
  const outputs = range(BLOCK).flatMap((i) =>
    range(BLOCK).map((j) => {
      const products = range(d.kernelHeight).flatMap((kh) =>
        range(d.kernelWidth).map(
          (kw) =>
            `${input(i * d.strideHeight + kh * d.dilationHeight, j * d.strideWidth + kw * d.dilationWidth)} * w${kh * d.kernelWidth + kw}`,
        ),
      );
      return `if (oh0 + ${i} < ${d.outHeight} && ow0 + ${j} < ${d.outWidth}) {
    result[${s.yAt('n', 'co', `oh0 + ${i}`, `ow0 + ${j}`)}] = ${products.join(' + ')}${d.hasBias ? ' + user_b[co]' : ''};
  }`;
    }),
  );
  const body = `@compute @workgroup_size(${THREADS}, ${THREADS}, 1)
fn main(@builtin(global_invocation_id) gid : vec3<u32>) {
  let ow0 = i32(gid.x) * ${BLOCK};
  let oh0 = i32(gid.y) * ${BLOCK};
  if (ow0 >= ${d.outWidth} || oh0 >= ${d.outHeight}) { return; }
  let n = i32(gid.z) / ${d.outChannels};
  let co = i32(gid.z) % ${d.outChannels};
  let ci = co / ${s.cog};
  let ih0 = oh0 * ${d.strideHeight} - ${d.padTop};
  let iw0 = ow0 * ${d.strideWidth} - ${d.padLeft};
  ${weights.join('\n  ')}
  ${loads.join('\n  ')}
  ${outputs.join('\n  ')}
}
`;
  const output = activationDims(d, d.outChannels, d.outHeight, d.outWidth);
  return hosted(d.hasBias ? 'x, wt, b' : 'x, wt', output, {
    body,
    workgroupSize: [THREADS, THREADS, 1],
    groups,
  });
}
