import type { ConvDescription } from '@conv2d/core';
import { activationDims, type KernelSource, weightDims } from './sources.js';

/**
 * The `tiled` kernel family (webgpu only): each pass is a matrix product tiled through workgroup
 * memory, written in WGSL, because gpu.js 2.24.1's JavaScript dialect has no workgroup memory, no
 * barriers and at most 4 results per thread (see the README). gpu.js still hosts each shader
 * (buffers, bindings, pipeline results, reads): `wgsl-kernel.ts` swaps the shader it generates
 * for this one.
 *
 * One implicit GEMM per pass and group, C[m][n] = sum over k of A[m][k] * B[k][n], with A and B
 * gathered from the tensors as the tiles are loaded (no im2col buffer):
 * - forward: m = output position (n, oh, ow), n = output channel, k = (ci, kh, kw);
 * - dX (the transposed convolution): m = input position, n = input channel, k = (co, kh, kw),
 *   A = dY at the output position whose window put tap (kh, kw) on this input (0 where none);
 * - dW: m = output channel, n = (ci, kh, kw), k = output position (the reduction over N·Hout·Wout).
 * A workgroup of 8x8 threads computes a 32x32 tile of C, each thread a 4x4 block; every step
 * loads a 32x16 slice of A and a 16x32 slice of B into workgroup memory once for all 64 threads.
 * Every size is a literal, so each convolution compiles its own shaders.
 */

/** Rows and columns of C per workgroup, reduction steps per tile load, threads per side. */
const TILE = 32;
const DEPTH = 16;
const THREADS = 8;
/** Rows (or columns) of C one thread computes. */
const BLOCK = TILE / THREADS;
/** Threads per workgroup. */
const LOCAL = THREADS * THREADS;
/** WebGPU's guaranteed limit on workgroups per dispatch dimension. */
const MAX_GROUPS = 65535;
/**
 * Smallest output-channel (forward, dW) or input-channel (dX) count per group for which a tile of
 * 32 columns pays: below it most of each tile would be zeros, and the block kernels run instead.
 */
export const MIN_TILED_COLUMNS = 16;

/** A hand-written shader in place of the one gpu.js would generate from `source`. */
export interface WgslProgram {
  /** Everything after gpu.js's bindings (`user_<argument>` storage arrays and `result`). */
  readonly body: string;
  readonly workgroupSize: readonly [number, number, number];
  /** Workgroups per dispatch. */
  readonly groups: readonly [number, number, number];
}

export interface WgslKernelSource extends KernelSource {
  readonly wgsl: WgslProgram;
}

/**
 * A reduction index as mixed-radix digits (the first unbounded), e.g. k = (ci, kh, kw) with radices
 * (-, Kh, Kw): a thread loads a run of consecutive k, so it divides once per run and then counts
 * up with carries instead of dividing for every value.
 */
interface Digits {
  readonly names: readonly string[];
  readonly radices: readonly number[];
}

/** WGSL statements that gather one value of A or B. */
interface Operand {
  /** Once per thread, for the row (A) or column (B) it loads: `fixed` is that index. */
  readonly setup: (fixed: string) => string;
  /** The reduction index k as the digits `load` reads. */
  readonly digits: Digits;
  /** Sets `v` to the operand at the thread's fixed index and the digits' k (k is in range). */
  readonly load: string;
}

/** `var` statements setting the digits to those of `k`. */
function decode({ names, radices }: Digits, k: string): string {
  return names
    .map((name, i) => {
      const below = radices.slice(i + 1).reduce((p, r) => p * r, 1);
      const quotient = below === 1 ? k : `${k} / ${below}`;
      return i === 0
        ? `var ${name} = ${quotient};`
        : `var ${name} = (${quotient}) % ${radices[i]};`;
    })
    .join(' ');
}

/** Statements adding 1 to the digits, carrying. */
function advance({ names, radices }: Digits): string {
  const step = (i: number): string =>
    i === 0
      ? `${names[0]} = ${names[0]} + 1;`
      : `${names[i]} = ${names[i]} + 1; if (${names[i]} == ${radices[i]}) { ${names[i]} = 0; ${step(i - 1)} }`;
  return step(names.length - 1);
}

/** Digits named `prefix` + name, leaving out those whose radix is 1 (always 0). */
function digits(prefix: string, parts: [string, number][]): Digits {
  const kept = parts.filter(([, r], i) => i === 0 || r > 1);
  return { names: kept.map(([n]) => prefix + n), radices: kept.map(([, r]) => r) };
}

interface Gemm {
  readonly rows: number;
  readonly cols: number;
  /** The reduction's length (over all splits). */
  readonly depth: number;
  readonly a: Operand;
  readonly b: Operand;
  /** Stores `v`, C at (m, n), after checking both are inside C. */
  readonly store: (m: string, n: string) => string;
  /** Groups of the convolution: the dispatch's z. */
  readonly groups: number;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The shader of one tiled GEMM; `g` (the group) is known to operands and stores. */
function gemmShader(gemm: Gemm): WgslProgram {
  const { rows, cols, depth, a, b } = gemm;
  // Each thread loads RUN consecutive k of one row of A (one column of B) per step.
  const run = (TILE * DEPTH) / LOCAL;
  const fill = (tile: string, op: Operand) => `{
      ${decode(op.digits, '(k0 + lk)')}
      ${range(run)
        .map(
          (e) => `{
        var v = 0.0;
        if (k0 + lk + ${e} < ${depth}) {
          ${op.load}
        }
        ${tile}[(lk + ${e}) * ${TILE} + lt] = v;
      }${e < run - 1 ? `\n      ${advance(op.digits)}` : ''}`,
        )
        .join('\n      ')}
    }`;
  const accumulate = range(BLOCK)
    .map((j) => `acc${j} = acc${j} + a * tileB[kk * ${TILE} + ty * ${BLOCK} + ${j}];`)
    .join('\n      ');
  const stores = range(BLOCK)
    .flatMap((j) =>
      range(BLOCK).map(
        (i) => `{
    let mc = m0 + tx + ${i * THREADS};
    let nc = n0 + ty * ${BLOCK} + ${j};
    let v = acc${j}[${i}];
    if (mc < ${rows} && nc < ${cols}) {
      ${gemm.store('mc', 'nc')}
    }
  }`,
      ),
    )
    .join('\n  ');
  const body = `var<workgroup> tileA : array<f32, ${TILE * DEPTH}>;
var<workgroup> tileB : array<f32, ${TILE * DEPTH}>;

@compute @workgroup_size(${THREADS}, ${THREADS}, 1)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) li : u32) {
  let tid = i32(li);
  let tx = tid % ${THREADS};
  let ty = tid / ${THREADS};
  let g = i32(wg.z);
  let m0 = i32(wg.x) * ${TILE};
  let n0 = i32(wg.y) * ${TILE};
  // The row of A and the column of B this thread loads (the same at every step), from k0 + lk.
  let lt = tid % ${TILE};
  let lk = (tid / ${TILE}) * ${run};
  let am = m0 + lt;
  let bn = n0 + lt;
  ${a.setup('am')}
  ${b.setup('bn')}
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0; k0 < ${depth}; k0 = k0 + ${DEPTH}) {
    ${fill('tileA', a)}
    ${fill('tileB', b)}
    workgroupBarrier();
    for (var kk = 0; kk < ${DEPTH}; kk = kk + 1) {
      // Rows tx, tx + 8, ...: neighbouring threads read neighbouring words (one vector load
      // where the GPU is a CPU's SIMD lanes, as on SwiftShader).
      let r = kk * ${TILE} + tx;
      let a = vec4<f32>(tileA[r], tileA[r + ${THREADS}], tileA[r + ${2 * THREADS}], tileA[r + ${3 * THREADS}]);
      ${accumulate}
    }
    workgroupBarrier();
  }
  ${stores}
}
`;
  return {
    body,
    workgroupSize: [THREADS, THREADS, 1],
    groups: [Math.ceil(rows / TILE), Math.ceil(cols / TILE), gemm.groups],
  };
}

/** Index arithmetic of an activation tensor (n, c, h, w) in the description's layout. */
function activationIndex(d: ConvDescription, c: number, h: number, w: number) {
  return (n: string, ch: string, y: string, x: string) =>
    d.layout === 'NCHW'
      ? `((${n} * ${c} + ${ch}) * ${h} + ${y}) * ${w} + ${x}`
      : `((${n} * ${h} + ${y}) * ${w} + ${x}) * ${c} + ${ch}`;
}

/** The description's sizes under short names. */
function sizes(d: ConvDescription) {
  return {
    taps: d.kernelHeight * d.kernelWidth,
    outPlane: d.outHeight * d.outWidth,
    inPlane: d.inHeight * d.inWidth,
    cig: d.inChannelsPerGroup,
    cog: d.outChannelsPerGroup,
    xAt: activationIndex(d, d.inChannels, d.inHeight, d.inWidth),
    yAt: activationIndex(d, d.outChannels, d.outHeight, d.outWidth),
  };
}

/** A reduction over (channel, kh, kw): digits `<prefix><channel>`, `<prefix>kh`, `<prefix>kw`. */
const tapDigits = (d: ConvDescription) => (prefix: string, channel: string) =>
  digits(prefix, [
    [channel, 0],
    ['kh', d.kernelHeight],
    ['kw', d.kernelWidth],
  ]);

/** A digit of `digits(prefix, ...)`, or 0 where its radix 1 left it out. */
const digitOf = (prefix: string, name: string, radix: number) => (radix > 1 ? prefix + name : '0');

/** A tap digit of `tapDigits(d)(prefix, ...)`. */
const tapOf = (d: ConvDescription, prefix: string, name: 'kh' | 'kw') =>
  digitOf(prefix, name, name === 'kh' ? d.kernelHeight : d.kernelWidth);

/** A reduction over output positions (n, oh, ow): digits `<prefix>n`, `<prefix>oh`, `<prefix>ow`. */
const positions = (d: ConvDescription, prefix: string) =>
  digits(prefix, [
    ['n', 0],
    ['oh', d.outHeight],
    ['ow', d.outWidth],
  ]);
const position = (d: ConvDescription, prefix: string, name: 'oh' | 'ow') =>
  digitOf(prefix, name, name === 'oh' ? d.outHeight : d.outWidth);

/** Statements splitting output position `p` into n, oh, ow (suffixed). */
const splitOutput = (d: ConvDescription, p: string, s = '') =>
  `let n${s} = ${p} / ${d.outHeight * d.outWidth}; let r${s} = ${p} % ${d.outHeight * d.outWidth};
  let oh${s} = r${s} / ${d.outWidth}; let ow${s} = r${s} % ${d.outWidth};`;

/** Whether a shape is too small or too large for the tiles (then the block kernels run). */
function fits(rows: number, cols: number, groups: number, minCols: number) {
  return (
    cols >= minCols &&
    Math.ceil(rows / TILE) <= MAX_GROUPS &&
    Math.ceil(cols / TILE) <= MAX_GROUPS &&
    groups <= MAX_GROUPS
  );
}

/** gpu.js's kernel: only its arguments and output matter, the shader is `wgsl`. */
function hosted(args: string, output: KernelSource['output'], wgsl: WgslProgram): WgslKernelSource {
  return {
    source: `function(${args}) {\n  return 0;\n}`,
    output,
    longestLoop: 1,
    lanes: 1,
    laneAxis: 0,
    wgsl,
  };
}

export function forwardTiledSource(d: ConvDescription): WgslKernelSource | null {
  const s = sizes(d);
  const rows = d.batch * s.outPlane;
  const depth = s.cig * s.taps;
  if (!fits(rows, s.cog, d.groups, MIN_TILED_COLUMNS)) return null;
  const taps = tapDigits(d);
  const tap = (prefix: string, name: 'kh' | 'kw') => tapOf(d, prefix, name);
  const a: Operand = {
    setup: (m) => `${splitOutput(d, m, 'A')}
  let ihA = ohA * ${d.strideHeight} - ${d.padTop};
  let iwA = owA * ${d.strideWidth} - ${d.padLeft};
  let rowA = ${m} < ${rows};`,
    digits: taps('a', 'ci'),
    load: `let ih = ihA + ${tap('a', 'kh')} * ${d.dilationHeight};
          let iw = iwA + ${tap('a', 'kw')} * ${d.dilationWidth};
          if (rowA && ih >= 0 && ih < ${d.inHeight} && iw >= 0 && iw < ${d.inWidth}) {
            v = user_x[${s.xAt('nA', `g * ${s.cig} + aci`, 'ih', 'iw')}];
          }`,
  };
  const b: Operand = {
    // OIHW weights: k runs along a filter's (ci, kh, kw), contiguous.
    setup: (n) => `let colB = ${n} < ${s.cog};
  let wB = (g * ${s.cog} + ${n}) * ${depth};`,
    digits: digits('b', [['k', 0]]),
    load: 'if (colB) { v = user_wt[wB + bk]; }',
  };
  const store = (m: string, n: string) => `${splitOutput(d, m)}
      let co = g * ${s.cog} + ${n};
      result[${s.yAt('n', 'co', 'oh', 'ow')}] = v${d.hasBias ? ' + user_b[co]' : ''};`;
  const wgsl = gemmShader({ rows, cols: s.cog, depth, a, b, store, groups: d.groups });
  const output = activationDims(d, d.outChannels, d.outHeight, d.outWidth);
  return hosted(d.hasBias ? 'x, wt, b' : 'x, wt', output, wgsl);
}

export function dxTiledSource(d: ConvDescription): WgslKernelSource | null {
  const s = sizes(d);
  const rows = d.batch * s.inPlane;
  const depth = s.cog * s.taps;
  if (!fits(rows, s.cig, d.groups, MIN_TILED_COLUMNS)) return null;
  // The output position whose window put tap (kh, kw) on input (ih, iw): oh = (ih + pt - kh·dh)
  // / sh where that divides, so a stride skips the taps it never used (the inserted zeros).
  const on = (axis: 'h' | 'w', stride: number, size: number) => {
    const reach = `t${axis} >= 0${stride > 1 ? ` && t${axis} % ${stride} == 0` : ''}`;
    const at = stride > 1 ? `t${axis} / ${stride}` : `t${axis}`;
    return { reach, at, size };
  };
  const h = on('h', d.strideHeight, d.outHeight);
  const w = on('w', d.strideWidth, d.outWidth);
  const taps = tapDigits(d);
  const tap = (prefix: string, name: 'kh' | 'kw') => tapOf(d, prefix, name);
  const a: Operand = {
    setup: (m) => `let nA = ${m} / ${s.inPlane}; let rA = ${m} % ${s.inPlane};
  let thA = rA / ${d.inWidth} + ${d.padTop};
  let twA = rA % ${d.inWidth} + ${d.padLeft};
  let rowA = ${m} < ${rows};`,
    digits: taps('a', 'co'),
    load: `let th = thA - ${tap('a', 'kh')} * ${d.dilationHeight};
          let tw = twA - ${tap('a', 'kw')} * ${d.dilationWidth};
          if (rowA && ${h.reach} && ${w.reach}) {
            let oh = ${h.at};
            let ow = ${w.at};
            if (oh < ${h.size} && ow < ${w.size}) {
              v = user_dy[${s.yAt('nA', `g * ${s.cog} + aco`, 'oh', 'ow')}];
            }
          }`,
  };
  const b: Operand = {
    setup: (n) => `let colB = ${n} < ${s.cig};`,
    // w[g·Cog + co][ci][kh][kw] with k = co·taps + t.
    digits: digits('b', [
      ['co', 0],
      ['t', s.taps],
    ]),
    load: `if (colB) { v = user_wt[((g * ${s.cog} + bco) * ${s.cig} + bn) * ${s.taps} + ${s.taps > 1 ? 'bt' : '0'}]; }`,
  };
  const store = (
    m: string,
    n: string,
  ) => `let nb = ${m} / ${s.inPlane}; let r = ${m} % ${s.inPlane};
      let ih = r / ${d.inWidth}; let iw = r % ${d.inWidth};
      result[${s.xAt('nb', `g * ${s.cig} + ${n}`, 'ih', 'iw')}] = v;`;
  const wgsl = gemmShader({ rows, cols: s.cig, depth, a, b, store, groups: d.groups });
  return hosted('dy, wt', activationDims(d, d.inChannels, d.inHeight, d.inWidth), wgsl);
}

export function dwTiledSource(d: ConvDescription): WgslKernelSource | null {
  const s = sizes(d);
  const cols = s.cig * s.taps;
  const depth = d.batch * s.outPlane;
  if (!fits(s.cog, cols, d.groups, 1) || s.cog < MIN_TILED_COLUMNS) return null;
  const a: Operand = {
    setup: (m) => `let rowA = ${m} < ${s.cog};
  let coA = g * ${s.cog} + ${m};`,
    digits: positions(d, 'a'),
    load: `if (rowA) { v = user_dy[${s.yAt('an', 'coA', position(d, 'a', 'oh'), position(d, 'a', 'ow'))}]; }`,
  };
  const b: Operand = {
    setup: (n) => `let colB = ${n} < ${cols};
  let ciB = g * ${s.cig} + ${n} / ${s.taps};
  let tB = ${n} % ${s.taps};
  let khB = tB / ${d.kernelWidth}; let kwB = tB % ${d.kernelWidth};
  let offH = khB * ${d.dilationHeight} - ${d.padTop};
  let offW = kwB * ${d.dilationWidth} - ${d.padLeft};`,
    digits: positions(d, 'p'),
    load: `let ih = ${position(d, 'p', 'oh')} * ${d.strideHeight} + offH;
          let iw = ${position(d, 'p', 'ow')} * ${d.strideWidth} + offW;
          if (colB && ih >= 0 && ih < ${d.inHeight} && iw >= 0 && iw < ${d.inWidth}) {
            v = user_x[${s.xAt('pn', 'ciB', 'ih', 'iw')}];
          }`,
  };
  // OIHW: filter g·Cog + m, then (ci, kh, kw) = n.
  const store = (m: string, n: string) => `result[(g * ${s.cog} + ${m}) * ${cols} + ${n}] = v;`;
  const wgsl = gemmShader({ rows: s.cog, cols, depth, a, b, store, groups: d.groups });
  return hosted('dy, x', weightDims(d), wgsl);
}
