import type { ConvDescription } from '@conv2d/core';
import { eachRow, type RowChunks, type RowReduction } from './split-sources.js';
import type { WgslProgram } from './wgsl-sources.js';

/**
 * gpu.js kernel sources, generated per convolution description with every size written in as a
 * literal. Literal loop bounds compile to fixed loops on every backend, so no reduction is cut at
 * `loopMaxIterations`, and a kernel never needs `setConstants`/`setOutput` after its first call.
 *
 * Activations are passed as 3-D inputs whose three indexes each stay small
 * (NCHW: [W, H, N*C], NHWC: [W*C, H, N]); gpu.js turns them into one index in integer
 * arithmetic, so the kernel never builds a flat float index that loses exactness at 2^24.
 * Integer division is written `Math.floor((a + 0.5) / d)`: in float arithmetic the quotient is
 * then at least 0.5/d away from an integer, so rounding cannot push it across one.
 *
 * Where the channel count allows, a thread computes 4 consecutive channels (a gpu.js Array(4)
 * result: one RGBA texel in GL modes) and reuses each value it loads for all four, so the kernels
 * are not one multiply per load.
 */

/** A gpu.js output size, [x, y, z] (x varies fastest). */
export type OutputSize = [number] | [number, number, number];

export interface KernelSource {
  /** JavaScript function source in the gpu.js kernel dialect. */
  readonly source: string;
  readonly output: OutputSize;
  /** The longest loop, for `loopMaxIterations` (belt and braces: every bound is a literal). */
  readonly longestLoop: number;
  /**
   * Values per thread (a gpu.js Array(n) result for n > 1): 1, 4 consecutive channels, or (the
   * block kernels of block-sources.ts) up to 4 consecutive elements along x.
   */
  readonly lanes: ResultLanes;
  /** With several lanes: the output axis (0 = x, 1 = y, 2 = z) whose elements they are. */
  readonly laneAxis: 0 | 1 | 2;
  /** webgpu only: a hand-written shader that replaces the one gpu.js makes of `source`. */
  readonly wgsl?: WgslProgram;
  /** A reduction over dY's rows that can be split across threads (dW, db; split-sources.ts). */
  readonly rows?: RowReduction;
  /**
   * A second kernel that `TextureConv` runs on this one's result (its only argument) and whose
   * result is the pass's: e.g. adding up partial sums. In webgpu a multi-lane result reaches it
   * viewed as one lane (`oneLane`: its lanes must lie along x).
   */
  readonly sum?: KernelSource;
}

/**
 * The output size of a result of `lanes` values per element along x, viewed as one value per
 * element (webgpu's multi-lane buffers, whose lanes lie along x, chain that way: `oneLane`).
 */
export function oneLaneOutput(output: readonly number[], lanes: number): OutputSize {
  return output.map((n, i) => (i === 0 ? n * lanes : n)) as OutputSize;
}

/** Channels per thread: 1, or 4 where the channel count allows. */
export type Lanes = 1 | 4;
/** Values a kernel thread returns. */
export type ResultLanes = 1 | 2 | 3 | 4;

/** 4 channels per thread when `most` allows it and `count` (channels of one group) splits into fours. */
export function lanesFor(count: number, most: Lanes = 4): Lanes {
  return most === 4 && count % 4 === 0 ? 4 : 1;
}

/** gpu.js input dimensions ([x, y, z]) of an activation tensor with `c` channels. */
export function activationDims(
  desc: ConvDescription,
  c: number,
  h: number,
  w: number,
): [number, number, number] {
  return desc.layout === 'NCHW' ? [w, h, desc.batch * c] : [w * c, h, desc.batch];
}

/** Weights OIHW [Cout, Cin/g, Kh, Kw] as gpu.js dims: wt[co][ci][m*Kw + q]. */
export function weightDims(desc: ConvDescription): [number, number, number] {
  return [desc.kernelHeight * desc.kernelWidth, desc.inChannelsPerGroup, desc.outChannels];
}

/** The output axis along which an activation's channels run. */
function channelAxis(desc: ConvDescription): 0 | 2 {
  return desc.layout === 'NCHW' ? 2 : 0;
}

/**
 * Statements that decode this.thread into n, c, h, w of an activation with `channels` channels
 * (with 4 lanes, `channels` counts groups of 4 and c is the group).
 */
function decodeActivation(desc: ConvDescription, channels: number): string {
  return desc.layout === 'NCHW'
    ? `const w = this.thread.x;
  const h = this.thread.y;
  const n = Math.floor((this.thread.z + 0.5) / ${channels});
  const c = this.thread.z - n * ${channels};`
    : `const w = Math.floor((this.thread.x + 0.5) / ${channels});
  const c = this.thread.x - w * ${channels};
  const h = this.thread.y;
  const n = this.thread.z;`;
}

/** Expression reading activation `t` (with `channels` channels) at n, c, h, w. */
function readActivation(
  desc: ConvDescription,
  t: string,
  channels: number,
  n: string,
  c: string,
  h: string,
  w: string,
): string {
  return desc.layout === 'NCHW'
    ? `${t}[${n} * ${channels} + ${c}][${h}][${w}]`
    : `${t}[${n}][${h}][${w} * ${channels} + ${c}]`;
}

const range = (lanes: number) => Array.from({ length: lanes }, (_, l) => l);
/** `let s0 = 0; let s1 = 0; ...` */
const sums = (lanes: number) =>
  range(lanes)
    .map((l) => `let s${l} = 0;`)
    .join(' ');
/** `s0 += f(0); s1 += f(1); ...` */
const accumulate = (lanes: number, term: (l: number) => string) =>
  range(lanes)
    .map((l) => `s${l} += ${term(l)};`)
    .join('\n            ');
/** The value a thread returns: one sum, or an Array(4). */
const result = (lanes: number, term: (l: number) => string) =>
  lanes === 1 ? term(0) : `[${range(lanes).map(term).join(', ')}]`;
const plus = (base: string, l: number) => (l === 0 ? base : `${base} + ${l}`);

/** Forward: y(n, co, i, j) = b[co] + sum over ci, m, q of x(...) * wt[co][ci][m, q]. */
export function forwardSource(desc: ConvDescription, most: Lanes = 4): KernelSource {
  const d = desc;
  const lanes = lanesFor(d.outChannelsPerGroup, most);
  const xAt = readActivation(d, 'x', d.inChannels, 'n', 'c0 + ci', 'ih', 'iw');
  const source = `function(x, wt${d.hasBias ? ', b' : ''}) {
  ${decodeActivation(d, d.outChannels / lanes)}
  const co = c * ${lanes};
  const c0 = Math.floor((co + 0.5) / ${d.outChannelsPerGroup}) * ${d.inChannelsPerGroup};
  ${sums(lanes)}
  for (let ci = 0; ci < ${d.inChannelsPerGroup}; ci++) {
    for (let m = 0; m < ${d.kernelHeight}; m++) {
      const ih = h * ${d.strideHeight} + m * ${d.dilationHeight} - ${d.padTop};
      if (ih >= 0 && ih < ${d.inHeight}) {
        for (let q = 0; q < ${d.kernelWidth}; q++) {
          const iw = w * ${d.strideWidth} + q * ${d.dilationWidth} - ${d.padLeft};
          if (iw >= 0 && iw < ${d.inWidth}) {
            const v = ${xAt};
            const t = m * ${d.kernelWidth} + q;
            ${accumulate(lanes, (l) => `v * wt[${plus('co', l)}][ci][t]`)}
          }
        }
      }
    }
  }
  return ${result(lanes, (l) => (d.hasBias ? `s${l} + b[${plus('co', l)}]` : `s${l}`))};
}`;
  return {
    source,
    output: activationDims(d, d.outChannels / lanes, d.outHeight, d.outWidth),
    longestLoop: Math.max(d.inChannelsPerGroup, d.kernelHeight, d.kernelWidth),
    lanes,
    laneAxis: channelAxis(d),
  };
}

/**
 * dX by gathering: dx(n, c, h, w) sums dy(n, co, oh, ow) * wt[co][ci][m, q] over the outputs whose
 * window touched (h, w), i.e. oh*S + m*D - P = h. This is the transposed convolution with the
 * inserted zeros skipped instead of multiplied.
 */
export function dxSource(desc: ConvDescription, most: Lanes = 4): KernelSource {
  const d = desc;
  const lanes = lanesFor(d.inChannelsPerGroup, most);
  const dyAt = readActivation(d, 'dy', d.outChannels, 'n', 'co', 'oh', 'ow');
  const source = `function(dy, wt) {
  ${decodeActivation(d, d.inChannels / lanes)}
  const c0 = c * ${lanes};
  const g = Math.floor((c0 + 0.5) / ${d.inChannelsPerGroup});
  const ci = c0 - g * ${d.inChannelsPerGroup};
  ${sums(lanes)}
  for (let k = 0; k < ${d.outChannelsPerGroup}; k++) {
    const co = g * ${d.outChannelsPerGroup} + k;
    for (let m = 0; m < ${d.kernelHeight}; m++) {
      const th = h + ${d.padTop} - m * ${d.dilationHeight};
      const oh = Math.floor((th + 0.5) / ${d.strideHeight});
      if (th >= 0 && oh < ${d.outHeight} && oh * ${d.strideHeight} === th) {
        for (let q = 0; q < ${d.kernelWidth}; q++) {
          const tw = w + ${d.padLeft} - q * ${d.dilationWidth};
          const ow = Math.floor((tw + 0.5) / ${d.strideWidth});
          if (tw >= 0 && ow < ${d.outWidth} && ow * ${d.strideWidth} === tw) {
            const v = ${dyAt};
            const t = m * ${d.kernelWidth} + q;
            ${accumulate(lanes, (l) => `v * wt[co][${plus('ci', l)}][t]`)}
          }
        }
      }
    }
  }
  return ${result(lanes, (l) => `s${l}`)};
}`;
  return {
    source,
    output: activationDims(d, d.inChannels / lanes, d.inHeight, d.inWidth),
    longestLoop: Math.max(d.outChannelsPerGroup, d.kernelHeight, d.kernelWidth),
    lanes,
    laneAxis: channelAxis(d),
  };
}

/** dW: dw[co][ci][m, q] sums dy(n, co, oh, ow) * x(n, g*Cin/g + ci, ih, iw) over n, oh, ow. */
export function dwSource(desc: ConvDescription, most: Lanes = 4): KernelSource {
  const lanes = lanesFor(desc.inChannelsPerGroup, most);
  // Per row of dY: the column loop's passes, and the row loop's.
  const passesPerRow = desc.outWidth + 2;
  const chunked = (c: RowChunks) => dwGather(desc, lanes, c);
  return { ...dwGather(desc, lanes, null), rows: { passesPerRow, chunked } };
}

/** dwSource, or with `chunks` its partial sums (chunk k of the rows at z = k·Cout + co). */
function dwGather(desc: ConvDescription, lanes: Lanes, chunks: RowChunks | null): KernelSource {
  const d = desc;
  const dyAt = readActivation(d, 'dy', d.outChannels, 'n', 'co', 'oh', 'ow');
  const xAt = (l: number) => readActivation(d, 'x', d.inChannels, 'n', plus('c', l), 'ih', 'iw');
  const co = chunks
    ? `const k = Math.floor((this.thread.z + 0.5) / ${d.outChannels});
  const co = this.thread.z - k * ${d.outChannels};`
    : 'const co = this.thread.z;';
  const row = `const ih = oh * ${d.strideHeight} + m * ${d.dilationHeight} - ${d.padTop};
      if (ih >= 0 && ih < ${d.inHeight}) {
        for (let ow = 0; ow < ${d.outWidth}; ow++) {
          const iw = ow * ${d.strideWidth} + q * ${d.dilationWidth} - ${d.padLeft};
          if (iw >= 0 && iw < ${d.inWidth}) {
            const v = ${dyAt};
            ${accumulate(lanes, (l) => `v * ${xAt(l)}`)}
          }
        }
      }`;
  const source = `function(dy, x) {
  const m = Math.floor((this.thread.x + 0.5) / ${d.kernelWidth});
  const q = this.thread.x - m * ${d.kernelWidth};
  ${co}
  const c = Math.floor((co + 0.5) / ${d.outChannelsPerGroup}) * ${d.inChannelsPerGroup} + this.thread.y * ${lanes};
  ${sums(lanes)}
  ${eachRow(d, chunks, 'k', '', row)}
  return ${result(lanes, (l) => `s${l}`)};
}`;
  const [kk, cin, cout] = weightDims(d);
  return {
    source,
    output: [kk, cin / lanes, cout * (chunks?.chunks ?? 1)],
    longestLoop: Math.max(d.batch, d.outHeight, d.outWidth, chunks?.rows ?? 0),
    lanes,
    laneAxis: 1,
  };
}

/** db[co] sums dy over n, oh, ow. */
export function dbSource(desc: ConvDescription): KernelSource {
  const chunked = (c: RowChunks) => dbRows(desc, c);
  return { ...dbRows(desc, null), rows: { passesPerRow: desc.outWidth + 2, chunked } };
}

/** dbSource, or with `chunks` its partial sums ([Cout, 1, chunks]: chunk k at z = k). */
function dbRows(desc: ConvDescription, chunks: RowChunks | null): KernelSource {
  const d = desc;
  const dyAt = readActivation(d, 'dy', d.outChannels, 'n', 'this.thread.x', 'oh', 'ow');
  const row = `for (let ow = 0; ow < ${d.outWidth}; ow++) {
        sum += ${dyAt};
      }`;
  const source = `function(dy) {
  let sum = 0;
  ${eachRow(d, chunks, 'this.thread.z', '', row)}
  return sum;
}`;
  return {
    source,
    output: chunks ? [d.outChannels, 1, chunks.chunks] : [d.outChannels],
    longestLoop: Math.max(d.batch, d.outHeight, d.outWidth, chunks?.rows ?? 0),
    lanes: 1,
    laneAxis: 0,
  };
}
