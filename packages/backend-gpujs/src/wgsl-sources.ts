import type { ConvDescription } from '@conv2d/core';
import { activationDims, type KernelSource, weightDims } from './sources.js';
import { sumSource } from './split-sources.js';

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
const DEPTH = 32;
const THREADS = 8;
/** Rows (or columns) of C one thread computes. */
const BLOCK = TILE / THREADS;
/** Threads per workgroup. */
const LOCAL = THREADS * THREADS;
/** Most stride phases (sh·sw) one dX shader holds: a branch each. */
const MAX_PHASES = 16;
/** WebGPU's guaranteed limit on workgroups per dispatch dimension. */
export const MAX_GROUPS = 65535;
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
  /**
   * The operand at the thread's fixed index and the digits' k: `at` read where `ok` holds, else 0,
   * after the statements of `prelude`. Branchless (a select: WGSL clamps an access out of range),
   * since SwiftShader runs both sides of every branch its SIMD lanes might take.
   */
  readonly load: { readonly prelude?: string; readonly ok: string; readonly at: string };
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

/** Statements adding 1 to the digits, carrying (with selects: no branch, see Operand.load). */
function advance({ names, radices }: Digits): string {
  const last = names.length - 1;
  const carries = range(last)
    .map((j) => last - j)
    .map(
      (i) =>
        `let c${i} = select(0, 1, ${names[i]} == ${radices[i]}); ${names[i]} = ${names[i]} - c${i} * ${radices[i]}; ${names[i - 1]} = ${names[i - 1]} + c${i};`,
    );
  return `{ ${names[last]} = ${names[last]} + 1; ${carries.join(' ')} }`;
}

/**
 * Digits named `prefix` + name, leaving out those of radix 1 or 0 (always 0), and `at(name)`: a
 * digit's variable, or `0` where it was left out.
 */
function counter(prefix: string, parts: [string, number][]) {
  const kept = parts.filter(([, r], i) => i === 0 || r > 1);
  const names = kept.map(([n]) => prefix + n);
  return {
    digits: { names, radices: kept.map(([, r]) => r) } as Digits,
    at: (name: string) => (names.includes(prefix + name) ? prefix + name : '0'),
  };
}

/** One matrix product of a pass (dX has one per stride phase, the others one). */
interface GemmPart {
  readonly rows: number;
  /** The reduction's length. */
  readonly depth: number;
  readonly a: Operand;
  readonly b: Operand;
  /** Stores `v`, C at (m, n) (both checked to lie inside C); `split` is the reduction's chunk. */
  readonly store: (m: string, n: string) => string;
}

interface Gemm {
  readonly cols: number;
  readonly parts: readonly GemmPart[];
  /** Groups of the convolution. */
  readonly groups: number;
  /** Chunks each reduction is split into (their sums are stored apart, and added up later). */
  readonly splits: number;
}

export const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** `a && b && ...` as `(a) & (b) & ...`: WGSL's `&&` may branch, `&` on booleans does not. */
const conjunction = (all: string) =>
  all
    .split('&&')
    .map((c) => `(${c.trim()})`)
    .join(' & ');

/** The statements of one part: load tiles, multiply, store; `g`, `split`, m0, n0 are known. */
function gemmPart(part: GemmPart, cols: number, splits: number): string {
  const { rows, depth, a, b } = part;
  // Each thread loads `run` consecutive k of one row of A (one column of B) per step.
  const run = (TILE * DEPTH) / LOCAL;
  const chunk = Math.ceil(depth / splits / DEPTH) * DEPTH;
  // Chunks are whole steps, so a step passes the end of its chunk only where the reduction
  // itself ends mid-step: the one case that needs a k range test.
  const inRange = (e: number) => (depth % DEPTH !== 0 ? `k0 + lk + ${e} < kEnd && ` : '');
  const fill = (tile: string, op: Operand) => `{
      ${decode(op.digits, '(k0 + lk)')}
      ${range(run)
        .map(
          (e) => `{
        ${op.load.prelude ?? ''}
        let ok = ${conjunction(`${inRange(e)}${op.load.ok}`)};
        ${tile}[(lk + ${e}) * ${TILE} + lt] = select(0.0, ${op.load.at}, ok);
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
      ${part.store('mc', 'nc')}
    }
  }`,
      ),
    )
    .join('\n  ');
  return `let am = m0 + lt;
  ${a.setup('am')}
  ${b.setup('bn')}
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  let kEnd = min(split * ${chunk} + ${chunk}, ${depth});
  for (var k0 = split * ${chunk}; k0 < kEnd; k0 = k0 + ${DEPTH}) {
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
  ${stores}`;
}

/**
 * The shader of a tiled GEMM: workgroup z = (split, group), x and y the tiles of C. A workgroup
 * runs its tile of every part in turn (dX's stride phases: the same work for every workgroup,
 * where a phase per workgroup left SwiftShader's threads a phase each, all of one layer D's work
 * on one of them). Its branches depend on the workgroup only: barriers in uniform control flow.
 */
function gemmShader(gemm: Gemm): WgslProgram {
  const { cols, parts, groups, splits } = gemm;
  const run = (TILE * DEPTH) / LOCAL;
  const branches = parts
    .map(
      (part) => `if (m0 < ${part.rows}) {
    ${gemmPart(part, cols, splits)}
  }`,
    )
    .join('\n  ');
  const body = `var<workgroup> tileA : array<f32, ${TILE * DEPTH}>;
var<workgroup> tileB : array<f32, ${TILE * DEPTH}>;

@compute @workgroup_size(${THREADS}, ${THREADS}, 1)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) li : u32) {
  let tid = i32(li);
  let tx = tid % ${THREADS};
  let ty = tid / ${THREADS};
  let z = i32(wg.z);
  let g = z % ${groups};
  let split = z / ${groups};
  let m0 = i32(wg.x) * ${TILE};
  let n0 = i32(wg.y) * ${TILE};
  // The row of A and the column of B this thread loads (the same at every step), from k0 + lk.
  let lt = tid % ${TILE};
  let lk = (tid / ${TILE}) * ${run};
  let bn = n0 + lt;
  ${branches}
}
`;
  const most = Math.max(...parts.map((p) => p.rows));
  return {
    body,
    workgroupSize: [THREADS, THREADS, 1],
    groups: [Math.ceil(most / TILE), Math.ceil(cols / TILE), splits * groups],
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
export function sizes(d: ConvDescription) {
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

/** A reduction over output positions (n, oh, ow), as dW's runs over them. */
const positions = (d: ConvDescription, prefix: string) =>
  counter(prefix, [
    ['n', 0],
    ['oh', d.outHeight],
    ['ow', d.outWidth],
  ]);

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

/**
 * Chunks to split dW's reduction into: enough workgroups to fill a GPU (about 256: a product of
 * few tiles, such as 32 filters of 5x5 taps, would otherwise run on one), each chunk at least 4
 * steps of the tile depth, and at most 256 chunks to add up.
 */
function reductionSplits(tiles: number, depth: number): number {
  const wanted = Math.ceil(256 / tiles);
  return Math.max(1, Math.min(wanted, 256, Math.floor(depth / (4 * DEPTH))));
}

/** gpu.js's kernel: only its arguments and output matter, the shader is `wgsl`. */
export function hosted(
  args: string,
  output: KernelSource['output'],
  wgsl: WgslProgram,
): WgslKernelSource {
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
  const k = counter('a', [
    ['ci', 0],
    ['kh', d.kernelHeight],
    ['kw', d.kernelWidth],
  ]);
  const a: Operand = {
    setup: (m) => `${splitOutput(d, m, 'A')}
  let ihA = ohA * ${d.strideHeight} - ${d.padTop};
  let iwA = owA * ${d.strideWidth} - ${d.padLeft};
  let rowA = ${m} < ${rows};`,
    digits: k.digits,
    load: {
      prelude: `let ih = ihA + ${k.at('kh')} * ${d.dilationHeight};
        let iw = iwA + ${k.at('kw')} * ${d.dilationWidth};`,
      ok: `rowA && ih >= 0 && ih < ${d.inHeight} && iw >= 0 && iw < ${d.inWidth}`,
      at: `user_x[${s.xAt('nA', `g * ${s.cig} + ${k.at('ci')}`, 'ih', 'iw')}]`,
    },
  };
  const b: Operand = {
    // OIHW weights: k runs along a filter's (ci, kh, kw), contiguous.
    setup: (n) => `let colB = ${n} < ${s.cog};
  let wB = (g * ${s.cog} + ${n}) * ${depth};`,
    digits: counter('b', [['k', 0]]).digits,
    load: { ok: 'colB', at: 'user_wt[wB + bk]' },
  };
  const store = (m: string, n: string) => `${splitOutput(d, m)}
      let co = g * ${s.cog} + ${n};
      result[${s.yAt('n', 'co', 'oh', 'ow')}] = v${d.hasBias ? ' + user_b[co]' : ''};`;
  const wgsl = gemmShader({
    cols: s.cog,
    parts: [{ rows, depth, a, b, store }],
    groups: d.groups,
    splits: 1,
  });
  const output = activationDims(d, d.outChannels, d.outHeight, d.outWidth);
  return hosted(d.hasBias ? 'x, wt, b' : 'x, wt', output, wgsl);
}

/**
 * The taps of one kernel axis that reach inputs of one stride phase, an arithmetic sequence:
 * input i (i + pad ≡ phase mod stride) meets tap k of output (i + pad - k·dilation) / stride, which
 * exists only where k·dilation ≡ phase (mod stride). Its inputs are first, first + stride, ...
 */
function phaseOf(
  phase: number,
  stride: number,
  dilation: number,
  taps: number,
  pad: number,
  size: number,
) {
  const reaching = range(taps).filter((k) => (k * dilation - phase) % stride === 0);
  const first = (((phase - pad) % stride) + stride) % stride;
  return {
    firstTap: reaching[0] ?? 0,
    tapStep: reaching.length > 1 ? reaching[1] - reaching[0] : 1,
    tapCount: reaching.length,
    first,
    count: first < size ? Math.ceil((size - first) / stride) : 0,
  };
}

/**
 * dX as a transposed convolution, one GEMM per stride phase (the inputs sharing (ih + pt) mod sh
 * and (iw + pl) mod sw): each phase reduces over the taps that reach it only, so a stride's
 * inserted zeros are neither stored nor multiplied. Stride 1 has one phase and every tap.
 */
export function dxTiledSource(d: ConvDescription): WgslKernelSource | null {
  const s = sizes(d);
  if (!fits(d.batch * s.inPlane, s.cig, d.groups, MIN_TILED_COLUMNS)) return null;
  if (d.strideHeight * d.strideWidth > MAX_PHASES) return null;
  const parts: GemmPart[] = [];
  for (const ph of range(d.strideHeight)) {
    for (const pw of range(d.strideWidth)) {
      const h = phaseOf(ph, d.strideHeight, d.dilationHeight, d.kernelHeight, d.padTop, d.inHeight);
      const w = phaseOf(pw, d.strideWidth, d.dilationWidth, d.kernelWidth, d.padLeft, d.inWidth);
      const plane = h.count * w.count;
      if (plane === 0) continue;
      const rows = d.batch * plane;
      // k = (co, jh, jw): the jh-th and jw-th of the taps reaching this phase.
      const taps = (prefix: string) =>
        counter(prefix, [
          ['co', 0],
          ['jh', h.tapCount],
          ['jw', w.tapCount],
        ]);
      const ka = taps('a');
      const kb = taps('b');
      const tapH = (k: typeof ka) => `${h.firstTap} + ${k.at('jh')} * ${h.tapStep}`;
      const tapW = (k: typeof ka) => `${w.firstTap} + ${k.at('jw')} * ${w.tapStep}`;
      /** Statements giving the input (nX, ihX, iwX) of row `m` of this phase. */
      const inputOf = (
        m: string,
        x: string,
      ) => `let n${x} = ${m} / ${plane}; let r${x} = ${m} % ${plane};
  let ih${x} = ${h.first} + (r${x} / ${w.count}) * ${d.strideHeight};
  let iw${x} = ${w.first} + (r${x} % ${w.count}) * ${d.strideWidth};`;
      parts.push({
        rows,
        depth: s.cog * h.tapCount * w.tapCount,
        a: {
          setup: (m) => `${inputOf(m, 'A')}
  let rowA = ${m} < ${rows};`,
          digits: ka.digits,
          // (ih + pt - kh·dh) divides by sh here: only its range is left to check.
          load: {
            prelude: `let oh = (ihA + ${d.padTop} - (${tapH(ka)}) * ${d.dilationHeight}) / ${d.strideHeight};
          let ow = (iwA + ${d.padLeft} - (${tapW(ka)}) * ${d.dilationWidth}) / ${d.strideWidth};`,
            ok: `rowA && ihA + ${d.padTop} >= (${tapH(ka)}) * ${d.dilationHeight} && oh < ${d.outHeight}
              && iwA + ${d.padLeft} >= (${tapW(ka)}) * ${d.dilationWidth} && ow < ${d.outWidth}`,
            at: `user_dy[${s.yAt('nA', `g * ${s.cog} + ${ka.at('co')}`, 'oh', 'ow')}]`,
          },
        },
        b: {
          setup: (n) => `let colB = ${n} < ${s.cig};`,
          digits: kb.digits,
          // w[g·Cog + co][ci][kh][kw]
          load: {
            ok: 'colB',
            at: `user_wt[((g * ${s.cog} + ${kb.at('co')}) * ${s.cig} + bn) * ${s.taps} + (${tapH(kb)}) * ${d.kernelWidth} + ${tapW(kb)}]`,
          },
        },
        store: (m, n) => `${inputOf(m, 'S')}
      result[${s.xAt('nS', `g * ${s.cig} + ${n}`, 'ihS', 'iwS')}] = v;`,
      });
    }
  }
  const wgsl = gemmShader({ cols: s.cig, parts, groups: d.groups, splits: 1 });
  if (wgsl.groups[2] > MAX_GROUPS) return null;
  return hosted('dy, wt', activationDims(d, d.inChannels, d.inHeight, d.inWidth), wgsl);
}

export function dwTiledSource(d: ConvDescription): WgslKernelSource | null {
  const s = sizes(d);
  const cols = s.cig * s.taps;
  const depth = d.batch * s.outPlane;
  if (!fits(s.cog, cols, d.groups, 1) || s.cog < MIN_TILED_COLUMNS) return null;
  const pa = positions(d, 'a');
  const pb = positions(d, 'p');
  const a: Operand = {
    setup: (m) => `let rowA = ${m} < ${s.cog};
  let coA = g * ${s.cog} + ${m};`,
    digits: pa.digits,
    load: {
      ok: 'rowA',
      at: `user_dy[${s.yAt(pa.at('n'), 'coA', pa.at('oh'), pa.at('ow'))}]`,
    },
  };
  const b: Operand = {
    setup: (n) => `let colB = ${n} < ${cols};
  let ciB = g * ${s.cig} + ${n} / ${s.taps};
  let tB = ${n} % ${s.taps};
  let khB = tB / ${d.kernelWidth}; let kwB = tB % ${d.kernelWidth};
  let offH = khB * ${d.dilationHeight} - ${d.padTop};
  let offW = kwB * ${d.dilationWidth} - ${d.padLeft};`,
    digits: pb.digits,
    load: {
      prelude: `let ih = ${pb.at('oh')} * ${d.strideHeight} + offH;
        let iw = ${pb.at('ow')} * ${d.strideWidth} + offW;`,
      ok: `colB && ih >= 0 && ih < ${d.inHeight} && iw >= 0 && iw < ${d.inWidth}`,
      at: `user_x[${s.xAt(pb.at('n'), 'ciB', 'ih', 'iw')}]`,
    },
  };
  // OIHW: filter g·Cog + m, then (ci, kh, kw) = n; chunk `split` of the sums Cout filters on.
  const store = (m: string, n: string) =>
    `result[((split * ${d.outChannels}) + g * ${s.cog} + ${m}) * ${cols} + ${n}] = v;`;
  const splits = reductionSplits(
    Math.ceil(s.cog / TILE) * Math.ceil(cols / TILE) * d.groups,
    depth,
  );
  const wgsl = gemmShader({
    cols,
    parts: [{ rows: s.cog, depth, a, b, store }],
    groups: d.groups,
    splits,
  });
  if (wgsl.groups[2] > MAX_GROUPS) return null;
  const whole = hosted('dy, x', weightDims(d), wgsl);
  if (splits === 1) return whole;
  // Chunk k of the sums at z = k·Cout + co of a [Kh·Kw, Cin/g, Cout·chunks] result.
  const [taps, cig, cout] = weightDims(d);
  const partial = hosted('dy, x', [taps, cig, cout * splits], wgsl);
  return { ...partial, sum: sumSource(whole, partial, splits, false) };
}
