import type { ConvDescription } from '@conv2d/core';
import { activationDims, type KernelSource, weightDims } from './sources.js';
import { eachRow, type RowChunks } from './split-sources.js';

/**
 * The `block` kernel family: a thread computes a block of outputs that lie next to each other in
 * the tensor, and reuses each value it loads for several of them.
 *
 * - forward and dX: 4 consecutive columns (w) of one output row, returned as a gpu.js Array(4).
 *   gpu.js stores an Array(n) result as n consecutive floats per element, x fastest, so with the
 *   lanes along x (NCHW's w) the result is already in tensor order: no unpacking on readback, and
 *   on webgpu the buffer is a tensor-order tensor as it is (see `TextureConv`). Each weight is
 *   loaded once for 4 products, and an input row is loaded once for all kernel columns and lanes
 *   (stride 1, 3 columns: 6 loads for 12 products, against 24 loads in the gather kernels).
 * - dW: a thread sums the Kw weights of one kernel row (Kw <= 4, an Array(Kw)), so one dY value
 *   serves Kw products; [Kh, Cin/g, Cout] elements of Kw lanes are OIHW order as they are.
 *
 * The loops over channels and kernel rows keep literal bounds; the kernel columns and lanes are
 * unrolled. A pass whose shape does not fit (NHWC, a width not a multiple of 4, wide kernels)
 * returns null and the engine runs the gather kernel of sources.ts instead.
 */

/** Unrolled loads per row above which the block kernels are not generated (shader size). */
const MAX_ROW_LOADS = 32;

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const lanesOf = (n: number) => range(n);
/** `[e0, e1, ...]`, or the bare expression for one lane. */
const returned = (terms: string[]) => (terms.length === 1 ? terms[0] : `[${terms.join(', ')}]`);
/** gpu.js reads a name starting with a digit or a minus badly: offsets become suffixes. */
const suffix = (o: number) => (o < 0 ? `m${-o}` : `${o}`);

/**
 * One kernel row's weights (w0, w1, ...) and the products of each lane: lane l adds
 * term(l, q) * wq over the kernel's columns q (none where term is null: a tap the stride skips).
 */
function rowProducts(
  d: ConvDescription,
  term: (l: number, q: number) => string | null,
  m: string,
  indent: string,
) {
  const kw = d.kernelWidth;
  const weights = range(kw).map((q) => `const w${q} = wt[co][ci][${m} * ${kw} + ${q}];`);
  const products = lanesOf(4).flatMap((l) => {
    const taps = range(kw).flatMap((q) => {
      const t = term(l, q);
      return t === null ? [] : [`${t} * w${q}`];
    });
    return taps.length ? [`s${l} += ${taps.join(' + ')};`] : [];
  });
  return [...weights, ...products].join(`\n${indent}`);
}

/**
 * Per thread, before any loop: for each column offset o, whether `base + o` lies in [0, width)
 * (`k<o>`, 1 or 0) and the column itself (`i<o>`), so the loops test a flag instead of redoing
 * the bounds arithmetic for every channel.
 */
function columnFlags(offsets: number[], base: string, width: number) {
  return offsets
    .map((o) => {
      const s = suffix(o);
      return `const i${s} = ${base} + ${o};
  let k${s} = 0;
  if (i${s} >= 0 && i${s} < ${width}) {
    k${s} = 1;
  }`;
    })
    .join('\n  ');
}

/** `r<o> = row[i<o>]`, or 0 where `k<o>` says the column is outside: one load per column. */
function rowLoads(offsets: number[], row: string, indent: string) {
  return offsets
    .map(
      (o) => `let r${suffix(o)} = 0;
${indent}if (k${suffix(o)} > 0) {
${indent}  r${suffix(o)} = ${row}[i${suffix(o)}];
${indent}}`,
    )
    .join(`\n${indent}`);
}

/** Kernel rows unrolled in the forward and dX block kernels (a taller kernel runs gather). */
const MAX_KERNEL_ROWS = 8;

/**
 * How a block kernel finds the input row of kernel row m (`m` is a literal, or the loop's `m`):
 * `decl` declares `y<m>`, `valid` says whether that row exists, `read` is the row to load from.
 */
interface Rows {
  decl(m: string): string;
  valid(m: string): string;
  read(m: string): string;
}

/**
 * The kernel rows of a forward or dX block kernel: `perThread` goes before the channel loop,
 * `body` inside it. Unrolled (GL modes), each row's position and existence are worked out once
 * per thread and the loop tests a flag per row; otherwise (webgpu, where SwiftShader ran the
 * unrolled shader slower) a loop over the rows recomputes them.
 */
function kernelRows(
  d: ConvDescription,
  offsets: number[],
  rows: Rows,
  term: (l: number, q: number) => string | null,
  unroll: boolean,
) {
  const indent = '      ';
  const row = (m: string) => `${rowLoads(offsets, rows.read(m), indent)}
${indent}${rowProducts(d, term, m, indent)}`;
  if (!unroll) {
    return {
      perThread: '',
      body: `for (let m = 0; m < ${d.kernelHeight}; m++) {
      ${rows.decl('m')}
      if (${rows.valid('m')}) {
      ${row('m')}
      }
    }`,
    };
  }
  const ms = range(d.kernelHeight).map(String);
  return {
    perThread: ms
      .map(
        (m) => `${rows.decl(m)}
  let v${m} = 0;
  if (${rows.valid(m)}) {
    v${m} = 1;
  }`,
      )
      .join('\n  '),
    body: ms
      .map(
        (m) => `if (v${m} > 0) {
${indent}${row(m)}
    }`,
      )
      .join('\n    '),
  };
}

/** A kernel whose threads return 4 consecutive x elements of an activation of `dims`. */
function rowBlock(
  source: string,
  dims: [number, number, number],
  longestLoop: number,
): KernelSource {
  return { source, output: [dims[0] / 4, dims[1], dims[2]], longestLoop, lanes: 4, laneAxis: 0 };
}

/** Forward of 4 consecutive output columns per thread (NCHW, outWidth a multiple of 4). */
export function forwardBlockSource(desc: ConvDescription, unroll = true): KernelSource | null {
  const d = desc;
  if (d.layout !== 'NCHW' || d.outWidth % 4 !== 0 || d.kernelHeight > MAX_KERNEL_ROWS) return null;
  const offsets = [
    ...new Set(
      lanesOf(4).flatMap((l) =>
        range(d.kernelWidth).map((q) => l * d.strideWidth + q * d.dilationWidth),
      ),
    ),
  ].sort((a, b) => a - b);
  if (offsets.length > MAX_ROW_LOADS) return null;
  const { perThread, body } = kernelRows(
    d,
    offsets,
    {
      decl: (m) =>
        `const y${m} = h * ${d.strideHeight} + ${m} * ${d.dilationHeight} - ${d.padTop};`,
      valid: (m) => `y${m} >= 0 && y${m} < ${d.inHeight}`,
      read: (m) => `x[xz][y${m}]`,
    },
    (l, q) => `r${suffix(l * d.strideWidth + q * d.dilationWidth)}`,
    unroll,
  );
  const source = `function(x, wt${d.hasBias ? ', b' : ''}) {
  const iw0 = this.thread.x * ${4 * d.strideWidth} - ${d.padLeft};
  const h = this.thread.y;
  const n = Math.floor((this.thread.z + 0.5) / ${d.outChannels});
  const co = this.thread.z - n * ${d.outChannels};
  const c0 = n * ${d.inChannels} + Math.floor((co + 0.5) / ${d.outChannelsPerGroup}) * ${d.inChannelsPerGroup};
  ${columnFlags(offsets, 'iw0', d.inWidth)}
  ${perThread}
  let s0 = 0; let s1 = 0; let s2 = 0; let s3 = 0;
  for (let ci = 0; ci < ${d.inChannelsPerGroup}; ci++) {
    const xz = c0 + ci;
    ${body}
  }
  return ${returned(lanesOf(4).map((l) => (d.hasBias ? `s${l} + b[co]` : `s${l}`)))};
}`;
  const dims = activationDims(d, d.outChannels, d.outHeight, d.outWidth);
  return rowBlock(source, dims, Math.max(d.inChannelsPerGroup, d.kernelHeight));
}

/**
 * dX of 4 consecutive input columns per thread (NCHW, inWidth a multiple of 4), gathering as
 * sources.ts's dxSource does: the transposed convolution with its inserted zeros skipped in the
 * index math. With stride 1 a dY row is loaded once for every lane and kernel column.
 */
export function dxBlockSource(desc: ConvDescription, unroll = true): KernelSource | null {
  const d = desc;
  if (d.layout !== 'NCHW' || d.inWidth % 4 !== 0 || d.kernelHeight > MAX_KERNEL_ROWS) return null;
  const kw = d.kernelWidth;
  // Lane l, kernel column q reads dY column (4x + l + P - q*D) / S, where the division is exact;
  // with S dividing 4 whether it is depends on (l, q) alone, so the skipped taps are dropped here
  // and the rest read dY at ow0 + a fixed offset. Other strides run the gather kernel.
  const s = d.strideWidth;
  if (4 % s !== 0) return null;
  const tap = (l: number, q: number) => {
    const t = l + d.padLeft - q * d.dilationWidth;
    return ((t % s) + s) % s === 0 ? t / s : null;
  };
  const offsets = [
    ...new Set(lanesOf(4).flatMap((l) => range(kw).flatMap((q) => tap(l, q) ?? []))),
  ].sort((a, b) => a - b);
  if (offsets.length > MAX_ROW_LOADS) return null;
  const flags = columnFlags(offsets, 'ow0', d.outWidth);
  const term = (l: number, q: number) => {
    const o = tap(l, q);
    return o === null ? null : `r${suffix(o)}`;
  };
  // Kernel row m reads dY row (h + P - m*D) / S, where the division is exact.
  const sh = d.strideHeight;
  const at = (m: string) => `h + ${d.padTop} - ${m} * ${d.dilationHeight}`;
  const { perThread, body } = kernelRows(
    d,
    offsets,
    sh === 1
      ? {
          decl: (m) => `const y${m} = ${at(m)};`,
          valid: (m) => `y${m} >= 0 && y${m} < ${d.outHeight}`,
          read: (m) => `dy[yz][y${m}]`,
        }
      : {
          decl: (m) => `const t${m} = ${at(m)};
      const y${m} = Math.floor((t${m} + 0.5) / ${sh});`,
          valid: (m) => `t${m} >= 0 && y${m} < ${d.outHeight} && y${m} * ${sh} === t${m}`,
          read: (m) => `dy[yz][y${m}]`,
        },
    term,
    unroll,
  );
  const source = `function(dy, wt) {
  const ow0 = this.thread.x * ${4 / s};
  const h = this.thread.y;
  const n = Math.floor((this.thread.z + 0.5) / ${d.inChannels});
  const c = this.thread.z - n * ${d.inChannels};
  const g = Math.floor((c + 0.5) / ${d.inChannelsPerGroup});
  const ci = c - g * ${d.inChannelsPerGroup};
  ${flags}
  ${perThread}
  let s0 = 0; let s1 = 0; let s2 = 0; let s3 = 0;
  for (let k = 0; k < ${d.outChannelsPerGroup}; k++) {
    const co = g * ${d.outChannelsPerGroup} + k;
    const yz = n * ${d.outChannels} + co;
    ${body}
  }
  return [s0, s1, s2, s3];
}`;
  const dims = activationDims(d, d.inChannels, d.inHeight, d.inWidth);
  return rowBlock(source, dims, Math.max(d.outChannelsPerGroup, d.kernelHeight));
}

/**
 * The output columns whose window lies inside the input for every kernel column, [lo, hi):
 * their dW loop needs no bounds checks.
 */
function interiorColumns(d: ConvDescription): [number, number] {
  const lo = Math.min(Math.ceil(d.padLeft / d.strideWidth), d.outWidth);
  const last = d.inWidth - 1 + d.padLeft - (d.kernelWidth - 1) * d.dilationWidth;
  const hi = last < 0 ? 0 : Math.min(Math.floor(last / d.strideWidth) + 1, d.outWidth);
  return [lo, Math.max(lo, hi)];
}

/**
 * dW of one kernel row (Kw <= 4 lanes) per thread (NCHW). The columns are summed in three
 * loops with literal bounds: the edges with bounds checks, the interior without; with stride 1
 * and no dilation the interior keeps the row's last Kw inputs in registers (one load per
 * column instead of Kw).
 */
export function dwBlockSource(desc: ConvDescription): KernelSource | null {
  if (desc.layout !== 'NCHW' || desc.kernelWidth > 4) return null;
  // Per row of dY: the passes of its column loops (Wout + one exit each), and the row loop's.
  const passesPerRow = desc.outWidth + 4;
  const chunked = (c: RowChunks) => dwBlock(desc, c);
  return { ...dwBlock(desc, null), rows: { passesPerRow, chunked } };
}

/** dwBlockSource, or with `chunks` its partial sums (chunk k of the rows at z = k·Cout + co). */
function dwBlock(desc: ConvDescription, chunks: RowChunks | null): KernelSource {
  const d = desc;
  const kw = d.kernelWidth;
  const [lo, hi] = interiorColumns(d);
  const at = (q: number) => `iw0 + ${q * d.dilationWidth}`;
  const checked = range(kw)
    .map(
      (q) => `if (${at(q)} >= 0 && ${at(q)} < ${d.inWidth}) {
              s${q} += v * x[xz][ih][${at(q)}];
            }`,
    )
    .join('\n            ');
  const edge = (from: number, to: number) =>
    from >= to
      ? ''
      : `for (let ow = ${from}; ow < ${to}; ow++) {
          const v = dy[yz][oh][ow];
          const iw0 = ow * ${d.strideWidth} - ${d.padLeft};
            ${checked}
        }`;
  const rolling = d.strideWidth === 1 && d.dilationWidth === 1;
  let interior = '';
  if (lo < hi && rolling) {
    const last = kw - 1;
    interior = `${range(last)
      .map((q) => `let a${q} = x[xz][ih][${lo - d.padLeft + q}];`)
      .join('\n        ')}
        for (let ow = ${lo}; ow < ${hi}; ow++) {
          const v = dy[yz][oh][ow];
          const a${last} = x[xz][ih][ow + ${last - d.padLeft}];
          ${range(kw)
            .map((q) => `s${q} += v * a${q};`)
            .join(' ')}
          ${range(last)
            .map((q) => `a${q} = a${q + 1};`)
            .join(' ')}
        }`;
  } else if (lo < hi) {
    interior = `for (let ow = ${lo}; ow < ${hi}; ow++) {
          const v = dy[yz][oh][ow];
          const iw0 = ow * ${d.strideWidth} - ${d.padLeft};
          ${range(kw)
            .map((q) => `s${q} += v * x[xz][ih][${at(q)}];`)
            .join('\n          ')}
        }`;
  }
  const co = chunks
    ? `const k = Math.floor((this.thread.z + 0.5) / ${d.outChannels});
  const co = this.thread.z - k * ${d.outChannels};`
    : 'const co = this.thread.z;';
  const image = `const yz = n * ${d.outChannels} + co;
    const xz = n * ${d.inChannels} + c;`;
  const row = `const ih = oh * ${d.strideHeight} + m * ${d.dilationHeight} - ${d.padTop};
      if (ih >= 0 && ih < ${d.inHeight}) {
        ${edge(0, lo)}
        ${interior}
        ${edge(hi, d.outWidth)}
      }`;
  const source = `function(dy, x) {
  const m = this.thread.x;
  ${co}
  const c = Math.floor((co + 0.5) / ${d.outChannelsPerGroup}) * ${d.inChannelsPerGroup} + this.thread.y;
  ${range(kw)
    .map((q) => `let s${q} = 0;`)
    .join(' ')}
  ${eachRow(d, chunks, 'k', image, row)}
  return ${returned(range(kw).map((q) => `s${q}`))};
}`;
  const [, cin, cout] = weightDims(d);
  return {
    source,
    output: [d.kernelHeight, cin, cout * (chunks?.chunks ?? 1)],
    longestLoop: Math.max(d.batch, d.outHeight, d.outWidth, chunks?.rows ?? 0),
    lanes: kw as 1 | 2 | 3 | 4,
    laneAxis: 0,
  };
}
