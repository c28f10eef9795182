import type { ConvDescription } from '@conv2d/core';
import { type KernelSource, type OutputSize, oneLaneOutput } from './sources.js';

/**
 * dW and db split across threads, then summed.
 *
 * One dW (or db) thread sums N·Hout·Wout terms. Mesa's llvmpipe (headless-gl's GL where there is
 * no GPU) ends a shader invocation's loops after 65535 passes of their loop tests in all: every
 * loop of the invocation, nested or one after the other, draws on the same count, and a loop of k
 * iterations passes k + 1 times (the last pass exits). Measured under `xvfb-run -a` with gpu.js
 * kernels that add 1 per innermost iteration: one loop of 100000 returned 65535; two loops of
 * 40000 one after the other 65534 (40001 + 25534 passes); 400 x 250 nested 65015 (260 outer
 * iterations of 252 passes each, then 15); 216 x 300 nested (65233 passes) the whole 64800; 218 x
 * 300 (65837) 65101. A loop that an `if` skips costs nothing. Past the count a sum comes back
 * short, silently (bench layer G's dW: 75.7 for 709.9).
 *
 * So where a thread's loops would pass more than MAX_LOOP_PASSES times, the reduction runs as two
 * kernels: the first gives each chunk of dY rows (n, oh) its own threads, writing partial sums
 * [chunks x the result] (chunk k at z = k·Z + z, Z the result's z extent), and a `sum` kernel adds
 * the chunks up into the result in the layout the single kernel returns. Smaller reductions keep
 * the single kernel.
 */

/** Half of llvmpipe's 65535: the most loop passes a thread of a dW or db kernel makes. */
export const MAX_LOOP_PASSES = 32768;

/** A split of the N·Hout rows of dY: `rows` rows per chunk (the last may have fewer). */
export interface RowChunks {
  readonly rows: number;
  readonly chunks: number;
}

/** A kernel summing over the rows (n, oh) of dY, which can sum one chunk of them instead. */
export interface RowReduction {
  /** Loop passes per row, the row loop's own included. */
  readonly passesPerRow: number;
  /** The kernel of the partial sums: each chunk's threads sum its rows only. */
  chunked(chunks: RowChunks): KernelSource;
}

/** The most loop passes per row of any dW or db kernel (block dW: Wout + 3 column loops, + 1). */
const MOST_PASSES_PER_ROW_OVER_WIDTH = 4;

/** The chunks of a reduction whose single kernel would pass its loops too often, else null. */
export function rowChunks(desc: ConvDescription, passesPerRow: number): RowChunks | null {
  const rows = desc.batch * desc.outHeight;
  if (rows * passesPerRow + 1 <= MAX_LOOP_PASSES) return null;
  const most = Math.max(1, Math.floor((MAX_LOOP_PASSES - 1) / passesPerRow));
  const chunks = Math.ceil(rows / most);
  return { rows: Math.ceil(rows / chunks), chunks };
}

/**
 * Why a dW or db reduction of `desc` cannot be kept within MAX_LOOP_PASSES by splitting its rows
 * (one row alone passes too often, or there are too many chunks to add up), or null.
 */
export function unsplittableReduction(desc: ConvDescription): string | null {
  const perRow = desc.outWidth + MOST_PASSES_PER_ROW_OVER_WIDTH;
  if (perRow + 1 > MAX_LOOP_PASSES) {
    return `Wout + ${MOST_PASSES_PER_ROW_OVER_WIDTH} = ${perRow} < ${MAX_LOOP_PASSES} loop passes per row of dY`;
  }
  const chunks = rowChunks(desc, perRow)?.chunks ?? 1;
  if (chunks + 1 > MAX_LOOP_PASSES) {
    return `at most ${MAX_LOOP_PASSES - 1} chunks of dY rows to add up (N·Hout·(Wout + ${MOST_PASSES_PER_ROW_OVER_WIDTH}) = ${desc.batch * desc.outHeight * perRow} makes ${chunks})`;
  }
  return null;
}

/**
 * Source that runs `perRow` for each row (n, oh) a thread sums, `perImage` first where n
 * changes: every row, or (with `chunks`) the rows of chunk `chunk`, an expression of the kernel.
 */
export function eachRow(
  desc: ConvDescription,
  chunks: RowChunks | null,
  chunk: string,
  perImage: string,
  perRow: string,
): string {
  const d = desc;
  if (!chunks) {
    return `for (let n = 0; n < ${d.batch}; n++) {
    ${perImage}
    for (let oh = 0; oh < ${d.outHeight}; oh++) {
      ${perRow}
    }
  }`;
  }
  return `const r0 = ${chunk} * ${chunks.rows};
  for (let i = 0; i < ${chunks.rows}; i++) {
    const r = r0 + i;
    if (r < ${d.batch * d.outHeight}) {
      const n = Math.floor((r + 0.5) / ${d.outHeight});
      const oh = r - n * ${d.outHeight};
      ${perImage}
      ${perRow}
    }
  }`;
}

/**
 * The kernel adding up the `chunks` partial results of `partial` into the result `whole` would
 * have given. `oneLane`: a multi-lane partial reaches it viewed as one lane (webgpu, whose
 * kernels refuse multi-lane buffers; its lanes must lie along x), and it returns one lane.
 */
export function sumSource(
  whole: KernelSource,
  partial: KernelSource,
  chunks: number,
  oneLane: boolean,
): KernelSource {
  const lanes = oneLane ? 1 : partial.lanes;
  if (oneLane && partial.laneAxis !== 0) throw new Error('a one-lane view needs lanes along x');
  const out = whole.output;
  const output: OutputSize = out.length === 1 || !oneLane ? out : oneLaneOutput(out, partial.lanes);
  const at =
    out.length === 1
      ? 'p[k][0][this.thread.x]'
      : `p[k * ${out[2]} + this.thread.z][this.thread.y][this.thread.x]`;
  const ls = Array.from({ length: lanes }, (_, l) => l);
  const add = lanes === 1 ? 's0 += v;' : ls.map((l) => `s${l} += v[${l}];`).join(' ');
  const source = `function(p) {
  ${ls.map((l) => `let s${l} = 0;`).join(' ')}
  for (let k = 0; k < ${chunks}; k++) {
    const v = ${at};
    ${add}
  }
  return ${lanes === 1 ? 's0' : `[${ls.map((l) => `s${l}`).join(', ')}]`};
}`;
  return {
    source,
    output,
    longestLoop: chunks,
    lanes: lanes as KernelSource['lanes'],
    laneAxis: lanes === 1 ? 0 : whole.laneAxis,
  };
}

/**
 * `ks`, or where its reduction must be split (`chunksOf`: rowChunks unless a test says) the
 * kernel of its partial sums carrying the kernel that adds them up as `sum`.
 */
export function splitRows(
  ks: KernelSource,
  desc: ConvDescription,
  oneLane: boolean,
  chunksOf: (desc: ConvDescription, passesPerRow: number) => RowChunks | null = rowChunks,
): KernelSource {
  const chunks = ks.rows && chunksOf(desc, ks.rows.passesPerRow);
  if (!ks.rows || !chunks) return ks;
  const partial = ks.rows.chunked(chunks);
  return {
    ...partial,
    sum: sumSource(ks, partial, chunks.chunks, oneLane && partial.lanes > 1),
  };
}
