import { gemmRelaxedWasmBase64 } from './generated/gemm-relaxed-wasm.js';
import { gemmWasmBase64 } from './generated/gemm-wasm.js';
import type { ResidentSgemmArgs, Sgemm, SgemmArgs } from './types.js';
import { checkSgemmArgs, scaleC } from './validate.js';

// Cache blocks for the Wasm kernel (its tile is 4 x 8): a B micro-panel of KC x 8 floats (8 KiB)
// stays in L1; the packed A block (MC x KC, 128 KiB) and the packed B block (KC x NC, 512 KiB)
// both fit in a 1 MiB L2 (NC = 4096, leaving B to the shared L3, measured slower on conv shapes).
const MR = 4;
const NR = 8;
const MC = 128;
const KC = 256;
const NC = 512;

// (func (result v128) f32.const 0 f32x4.splat): validates only where Wasm SIMD is supported.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7b, 3, 2, 1, 0, 10, 11, 1, 9, 0, 0x43, 0, 0,
  0, 0, 0xfd, 0x13, 0x0b,
]);

// (func (param v128 v128 v128) (result v128) local.get 0..2 f32x4.relaxed_madd): validates only
// where relaxed SIMD is enabled.
const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 0x60, 3, 0x7b, 0x7b, 0x7b, 1, 0x7b, 3, 2, 1, 0, 10, 13, 1,
  11, 0, 0x20, 0, 0x20, 1, 0x20, 2, 0xfd, 0x85, 0x02, 0x0b,
]);

/**
 * The two builds of the Wasm kernel: `wasm-relaxed-simd` fuses each multiply-add
 * (`f32x4.relaxed_madd`, an FMA on x64 and arm64), `wasm-simd` uses `f32x4.mul` + `f32x4.add`.
 */
export type WasmKernelName = 'wasm-relaxed-simd' | 'wasm-simd';

interface Kernel {
  name: WasmKernelName;
  memory: WebAssembly.Memory;
  heapBase: number;
  sgemm: (
    transA: number,
    transB: number,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    beta: number,
    c: number,
    ldc: number,
    packA: number,
    packB: number,
    mcBlock: number,
    kcBlock: number,
    ncBlock: number,
    packedRows: number,
    packedRow0: number,
  ) => void;
  patches: (...args: number[]) => void;
  /** Length of the resident region (see `wasmResident`) in this instance's memory. */
  residentFloats: number;
  /**
   * Packed operands kept in this instance's memory across calls (`PackedA.id` -> float offset
   * from the heap start) and the floats they take there, before the resident region.
   */
  pinned: Map<string, number>;
  pinnedFloats: number;
}

// Per build: absent, not tried yet; null, unavailable in this runtime.
const instances = new Map<WasmKernelName, Kernel | null>();
// The build in use: undefined until first use (or after setWasmRelaxedSimd); null: none runs.
let kernel: Kernel | null | undefined;
// Set by setWasmRelaxedSimd; undefined: the environment decides (see relaxedSimdWanted).
let relaxedChoice: boolean | undefined;
let heap = new Float32Array(0);

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** What the package reads of Node's `process` (absent in browsers). */
interface NodeProcess {
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (id: string) => unknown;
}
const nodeProcess = (globalThis as { process?: NodeProcess }).process;

/** Relaxed SIMD is used unless CONV2D_RELAXED_SIMD=0 (or setWasmRelaxedSimd(false)). */
const relaxedSimdWanted = (): boolean =>
  relaxedChoice ?? nodeProcess?.env?.CONV2D_RELAXED_SIMD !== '0';

/**
 * Whether relaxed SIMD validates here. Node 20 (V8 11.3) implements it behind a flag that is
 * read at validation time, so this turns the flag on (process-wide, workers included) when the
 * runtime lacks it; newer Node and browsers ship relaxed SIMD enabled.
 */
function relaxedSimdValidates(): boolean {
  if (WebAssembly.validate(RELAXED_SIMD_PROBE)) return true;
  const v8 = nodeProcess?.getBuiltinModule?.('node:v8') as
    | { setFlagsFromString?: (flags: string) => void }
    | undefined;
  v8?.setFlagsFromString?.('--experimental-wasm-relaxed-simd');
  return WebAssembly.validate(RELAXED_SIMD_PROBE);
}

/** Compiles and instantiates one build on first use (synchronously: each is under 4 KiB). */
function instance(name: WasmKernelName): Kernel | null {
  const cached = instances.get(name);
  if (cached !== undefined) return cached;
  let result: Kernel | null = null;
  try {
    if (
      typeof WebAssembly === 'object' &&
      WebAssembly.validate(SIMD_PROBE) &&
      (name === 'wasm-simd' || relaxedSimdValidates())
    ) {
      const base64 = name === 'wasm-simd' ? gemmWasmBase64 : gemmRelaxedWasmBase64;
      const module = new WebAssembly.Module(decodeBase64(base64));
      const exports = new WebAssembly.Instance(module, {}).exports as unknown as {
        memory: WebAssembly.Memory;
        heapBase: () => number;
        sgemm: Kernel['sgemm'];
        patches: Kernel['patches'];
      };
      result = {
        name,
        memory: exports.memory,
        heapBase: exports.heapBase(),
        sgemm: exports.sgemm,
        patches: exports.patches,
        residentFloats: 0,
        pinned: new Map(),
        pinnedFloats: 0,
      };
    }
  } catch {
    result = null;
  }
  instances.set(name, result);
  return result;
}

/** The build in use: relaxed SIMD where it runs and is wanted, else plain SIMD, else null. */
function loadKernel(): Kernel | null {
  if (kernel === undefined) {
    kernel = (relaxedSimdWanted() ? instance('wasm-relaxed-simd') : null) ?? instance('wasm-simd');
  }
  return kernel;
}

/** The kernel, or an error saying this runtime has no WebAssembly SIMD. */
function requireKernel(): Kernel {
  const kern = loadKernel();
  if (kern === null) {
    throw new Error('sgemm: the WebAssembly SIMD kernel is not available in this runtime');
  }
  return kern;
}

/** Whether this runtime can run the WebAssembly SIMD kernel (either build). */
export function wasmSimdAvailable(): boolean {
  return loadKernel() !== null;
}

/**
 * Whether the relaxed-SIMD build can run here. In Node 20 this enables V8's
 * `--experimental-wasm-relaxed-simd` flag, unless CONV2D_RELAXED_SIMD=0.
 */
export function wasmRelaxedSimdAvailable(): boolean {
  return relaxedSimdWanted() && instance('wasm-relaxed-simd') !== null;
}

/** The Wasm build in use, or null where Wasm SIMD is unavailable. */
export function wasmKernel(): WasmKernelName | null {
  return loadKernel()?.name ?? null;
}

/**
 * Chooses the Wasm build from now on: relaxed SIMD (the default where it runs) or plain SIMD
 * (bit-for-bit the same results on every machine; relaxed_madd may or may not fuse). Each build
 * is its own instance with its own memory, so a resident region reserved before a switch is not
 * seen after it. Throws when `enabled` and the relaxed build cannot run here.
 */
export function setWasmRelaxedSimd(enabled: boolean): void {
  if (enabled && !(typeof WebAssembly === 'object' && instance('wasm-relaxed-simd'))) {
    throw new Error(
      'setWasmRelaxedSimd: relaxed WebAssembly SIMD is not available in this runtime',
    );
  }
  relaxedChoice = enabled;
  kernel = undefined;
}

/** Makes the kernel's memory at least `floats` long and refreshes the view after a grow. */
function ensureHeap(kern: Kernel, floats: number): Float32Array {
  const bytes = floats * 4;
  const have = kern.memory.buffer.byteLength;
  if (bytes > have) {
    try {
      kern.memory.grow(Math.ceil((bytes - have) / 65536));
    } catch {
      throw new RangeError(`sgemm: the Wasm kernel could not grow its memory to ${bytes} bytes`);
    }
  }
  if (heap.buffer !== kern.memory.buffer) heap = new Float32Array(kern.memory.buffer);
  return heap;
}

const align16 = (floats: number): number => Math.ceil(floats / 16) * 16;

// The kernel's memory holds one host block of A, B and C at a time (about `stage` floats each,
// or one cache block where a single row or column is longer), so it stays bounded, ~16 MiB,
// whatever the problem size, and each copied block is still in cache when the kernel packs it.
let stage = 1 << 20;

/** Sets the host block size in floats (internal, not exported by the package: tests use it). */
export function setStageFloats(floats: number): number {
  const previous = stage;
  stage = floats;
  return previous;
}

/**
 * Copies a stored rows x cols matrix (row stride ld) to dst[at...] and returns the row stride
 * it has there: ld, in one piece, when the gaps between rows are small, else a dense cols.
 */
function copyIn(
  dst: Float32Array,
  at: number,
  src: Float32Array,
  offset: number,
  ld: number,
  rows: number,
  cols: number,
): number {
  const span = (rows - 1) * ld + cols;
  if (ld === cols || span <= rows * cols * 1.25) {
    dst.set(src.subarray(offset, offset + span), at);
    return ld;
  }
  for (let r = 0; r < rows; r++) {
    const s = offset + r * ld;
    dst.set(src.subarray(s, s + cols), at + r * cols);
  }
  return cols;
}

/** Floats to reserve for any block copied by `copyIn` with at most rows x cols elements. */
const copyInRoom = (rows: number, cols: number): number => align16(Math.ceil(rows * cols * 1.25));

/** Copies the m x n window of C to a dense block at dst[at...], or back (`back`). Never touches
 * C's gaps between rows: other threads may own them. */
function copyC(
  mem: Float32Array,
  at: number,
  c: Float32Array,
  offset: number,
  ldc: number,
  rows: number,
  cols: number,
  back: boolean,
): void {
  if (ldc === cols) {
    if (back) c.set(mem.subarray(at, at + rows * cols), offset);
    else mem.set(c.subarray(offset, offset + rows * cols), at);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const s = offset + r * ldc;
    const d = at + r * cols;
    if (back) c.set(mem.subarray(d, d + cols), s);
    else mem.set(c.subarray(s, s + cols), d);
  }
}

/** Where the kernel's memory is free for this package's blocks (floats): after the operand region. */
const heapStart = (kern: Kernel): number => align16(Math.ceil(kern.heapBase / 4));

/** Where the resident region starts (floats): after the pinned packed operands. */
const regionStart = (kern: Kernel): number => heapStart(kern) + kern.pinnedFloats;

/**
 * Most floats of packed operands kept in one instance's memory (16 MiB): past it, all are
 * dropped and pinned again as they are used (a plan's weights stay pinned while it runs).
 */
let pinnedBudget = 1 << 22;

/** Sets the pinned operands' budget in floats (internal, not exported by the package: tests). */
export function setPinnedFloats(floats: number): number {
  const previous = pinnedBudget;
  pinnedBudget = floats;
  return previous;
}

/** Moves the resident region (its reserved floats) so that it starts `by` floats later. */
function shiftRegion(kern: Kernel, by: number): void {
  const from = regionStart(kern);
  const mem = ensureHeap(kern, from + by + align16(kern.residentFloats));
  mem.copyWithin(from + by, from, from + kern.residentFloats);
  kern.pinnedFloats += by;
}

/**
 * Where a packed operand lies in the kernel's memory (floats), copied in on its first use and
 * kept there, ahead of the resident region (which moves up, its contents with it); null when it
 * is too large to keep.
 */
function pin(kern: Kernel, packed: PackedA): number | null {
  const at = kern.pinned.get(packed.id);
  if (at !== undefined) return heapStart(kern) + at;
  const floats = align16(packed.data.length);
  if (floats > pinnedBudget) return null;
  if (kern.pinnedFloats + floats > pinnedBudget) {
    shiftRegion(kern, -kern.pinnedFloats); // drop them all
    kern.pinned.clear();
  }
  const offset = kern.pinnedFloats;
  shiftRegion(kern, floats);
  kern.pinned.set(packed.id, offset);
  ensureHeap(kern, 0).set(packed.data, heapStart(kern) + offset);
  return heapStart(kern) + offset;
}

/**
 * Reserves the first `floats` floats of the kernel's memory as the resident region and returns
 * a view of it. There a caller keeps operands across calls (e.g. an image and its im2col tiles)
 * and names them by offset in `sgemmWasmResident`, so they are written once, where the kernel
 * reads them, instead of copied in per call. Only `sgemmWasm` (which uses the whole memory for its own blocks) overwrites
 * the contents; a new reservation keeps what it still covers. A call that grows the memory
 * detaches earlier views: take a new one to read or write after calling into this module.
 */
export function wasmResident(floats: number): Float32Array {
  const kern = requireKernel();
  if (!Number.isInteger(floats) || floats < 0) {
    throw new RangeError(`wasmResident: floats must be a non-negative integer, got ${floats}`);
  }
  kern.residentFloats = floats;
  const at = regionStart(kern);
  return ensureHeap(kern, at + align16(floats)).subarray(at, at + floats);
}

/**
 * sgemm where B and/or C lie in the resident region: pass null for `b` or `c`, and its offset
 * (in floats) within the region as bOffset / cOffset; otherwise as `sgemmWasm`. A resident C is
 * written in place (nothing is copied out). Throws when `wasmSimdAvailable()` is false.
 */
export function sgemmWasmResident(...args: ResidentSgemmArgs): void {
  const kern = requireKernel();
  validateResident(kern, args);
  blocked(kern, null, ...args);
}

/** Checks resident-call arguments: a null B or C is validated as an array over the region. */
function validateResident(kern: Kernel, args: ResidentSgemmArgs): void {
  const [, transB, m, n, k, , , , , b, bOffset, ldb, , c, cOffset, ldc] = args;
  // A resident operand is validated as a Float32Array over the region.
  const region = new Float32Array(kern.memory.buffer, regionStart(kern) * 4, kern.residentFloats);
  const checked = [...args] as SgemmArgs;
  checked[9] = b ?? region;
  checked[13] = c ?? region;
  checkSgemmArgs(...checked);
  const bEnd = bOffset + (transB ? n : k) * ldb;
  if (c === null && b === null && bOffset < cOffset + m * ldc && cOffset < bEnd) {
    throw new RangeError('sgemm: a resident C must not overlap a resident B');
  }
}

/** Sizes of one convolution for `wasmIm2col` (an image group in NCHW, the kernel's window). */
export interface Im2colGeometry {
  inHeight: number;
  inWidth: number;
  outWidth: number;
  kernelHeight: number;
  kernelWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
}

/**
 * A tile of an image group's im2col matrix in the resident region: the geometry, the image's
 * float offset and channel count there, rows [k0, k1) x columns [p0, p1), and the tile's float
 * offset and row stride there.
 */
export type PatchTile = [
  g: Im2colGeometry,
  xAt: number,
  channels: number,
  k0: number,
  k1: number,
  p0: number,
  p1: number,
  at: number,
  ld: number,
];

/**
 * Largest geometry value `wasmIm2col`/`wasmCol2im` take: the kernel indexes in i32, and sums
 * of two such values (a padded position plus a stride) must not wrap.
 */
export const MAX_PATCH_GEOMETRY = 2 ** 30;

/**
 * The fields of `Im2colGeometry`, checked by name: callers pass wider objects (a convolution's
 * whole description, with its layout and shapes), which are fine as long as these are.
 */
const GEOMETRY_FIELDS: readonly (keyof Im2colGeometry)[] = [
  'inHeight',
  'inWidth',
  'outWidth',
  'kernelHeight',
  'kernelWidth',
  'strideHeight',
  'strideWidth',
  'dilationHeight',
  'dilationWidth',
  'padTop',
  'padLeft',
];

/** Runs the kernel's `patches` (im2col, or col2im when scatter) on the resident region. */
function patches(scatter: boolean, ...[g, xAt, channels, k0, k1, p0, p1, at, ld]: PatchTile): void {
  for (const name of GEOMETRY_FIELDS) {
    const value = g[name]; // no allocation: this runs once per tile
    if (!(Number.isInteger(value) && value >= 0 && value <= MAX_PATCH_GEOMETRY)) {
      throw new RangeError(
        `wasmIm2col/wasmCol2im: ${name} must be an integer in [0, ${MAX_PATCH_GEOMETRY}], got ${value}`,
      );
    }
  }
  const kern = requireKernel();
  const KK = g.kernelHeight * g.kernelWidth;
  const xEnd = xAt + channels * g.inHeight * g.inWidth;
  const tileEnd = at + (k1 - k0) * ld;
  if (
    !(xAt >= 0 && k0 >= 0 && k0 <= k1 && k1 <= channels * KK && p0 >= 0 && p0 <= p1) ||
    !(ld >= p1 - p0 && at >= 0 && xEnd <= kern.residentFloats && tileEnd <= kern.residentFloats) ||
    (at < xEnd && xAt < tileEnd)
  ) {
    throw new RangeError(
      'wasmIm2col/wasmCol2im: the image or the tile lies outside the resident region, or they overlap',
    );
  }
  if (k0 === k1 || p0 === p1) return;
  const base = regionStart(kern);
  kern.patches(
    (base + xAt) * 4,
    g.inHeight,
    g.inWidth,
    g.outWidth,
    g.kernelWidth,
    KK,
    g.strideHeight,
    g.strideWidth,
    g.dilationHeight,
    g.dilationWidth,
    g.padTop,
    g.padLeft,
    k0,
    k1,
    p0,
    p1,
    (base + at) * 4,
    ld,
    scatter ? 1 : 0,
  );
}

/**
 * Writes rows [k0, k1) x columns [p0, p1) of an im2col matrix inside the resident region, at
 * float offset `at` with row stride `ld`, from `channels` NCHW planes of an image already there
 * (at float offset `xAt`): row k = (ci*Kh + m)*Kw + q, column p = i*Wout + j, padding read as
 * zero. Convolution code uses it to give `sgemmWasmResident` its patch matrix without building
 * it in JavaScript (several times faster: SIMD row copies, no bounds checks).
 */
export const wasmIm2col = (...tile: PatchTile): void => patches(false, ...tile);

/**
 * The adjoint of `wasmIm2col`: adds each entry of the tile at `at` to the image element (at
 * `xAt`, in the resident region) it would have been read from; entries on padding are dropped.
 */
export const wasmCol2im = (...tile: PatchTile): void => patches(true, ...tile);

/**
 * sgemm on the WebAssembly SIMD kernel (see `Sgemm`); alpha and beta are rounded to float32
 * as in BLAS sgemm. Throws when `wasmSimdAvailable()` is false.
 */
export const sgemmWasm: Sgemm = (...args) => {
  const kern = requireKernel();
  checkSgemmArgs(...args);
  blocked(kern, null, ...args);
};

/**
 * op(A) packed once for the Wasm kernel (`packOperandA`), as the kernel packs it for itself on
 * every call: for each 256-deep block of the depth in turn, the rows in panels of 4 (the last
 * one zero-padded), each panel depth-major. A caller that multiplies by the same A many times
 * (a convolution's weights) packs it once and passes windows of it to `sgemmWasmPacked`.
 */
export interface PackedA {
  /** `packedASize(rows, depth)` floats (may be shared with worker threads). */
  readonly data: Float32Array;
  readonly rows: number;
  readonly depth: number;
  /**
   * Names this packing (unique across threads, kept by worker threads that get it in a
   * message): the Wasm kernel keeps a packed operand in its memory by id, so its data must not
   * change afterwards (pack again, for a new id).
   */
  readonly id: string;
}

/** This thread's part of packing ids, and its count of packings. */
const packer = Math.random().toString(36).slice(2);
let packings = 0;

const paddedRows = (rows: number): number => Math.ceil(rows / MR) * MR;

/** Floats of a packed op(A) of rows x depth. */
export const packedASize = (rows: number, depth: number): number => paddedRows(rows) * depth;

/**
 * Packs op(A) (rows x depth; with transA, A is stored depth x rows) from a[aOffset...] (row
 * stride lda) into `out` (default: a new array). Plain JavaScript: done once per weights.
 */
export function packOperandA(
  transA: boolean,
  rows: number,
  depth: number,
  a: Float32Array,
  aOffset: number,
  lda: number,
  out: Float32Array = new Float32Array(packedASize(rows, depth)),
): PackedA {
  checkSgemmArgs(transA, false, rows, 0, depth, 1, a, aOffset, lda, out, 0, 0, 0, out, 0, 0);
  const padded = paddedRows(rows);
  if (out.length < padded * depth) {
    throw new RangeError(`packOperandA: out has ${out.length} floats, needs ${padded * depth}`);
  }
  for (let p0 = 0; p0 < depth; p0 += KC) {
    const kc = Math.min(KC, depth - p0);
    const block = p0 * padded;
    for (let r = 0; r < padded; r++) {
      // row r of op(A) goes to lane r % MR of its panel, one float per depth step
      const at = block + (r - (r % MR)) * kc + (r % MR);
      for (let p = 0; p < kc; p++) {
        const v =
          r >= rows ? 0 : transA ? a[aOffset + (p0 + p) * lda + r] : a[aOffset + r * lda + p0 + p];
        out[at + p * MR] = v;
      }
    }
  }
  packings += 1;
  return { data: out, rows, depth, id: `${packer}:${packings}` };
}

/**
 * Rows [row0, row0 + m) x depth [k0, k0 + k) of a packed op(A): the part of it one product
 * reads. It must start on a panel (row0 a multiple of 4) and on a depth block (k0 a multiple of
 * 256), and end at the depth's end or on a block boundary (see `packedWindowFits`).
 */
export interface PackedWindow {
  packed: PackedA;
  row0: number;
  k0: number;
}

/** Whether `sgemmWasmPacked` takes this window of `packed` for an m x k op(A). */
export function packedWindowFits(
  packed: Pick<PackedA, 'rows' | 'depth'>,
  row0: number,
  m: number,
  k0: number,
  k: number,
): boolean {
  return (
    row0 >= 0 &&
    row0 % MR === 0 &&
    row0 + m <= packed.rows &&
    k0 >= 0 &&
    k0 % KC === 0 &&
    (k0 + k === packed.depth || (k % KC === 0 && k0 + k < packed.depth))
  );
}

/**
 * `sgemmWasmResident` with op(A) a window of a packed operand (see `PackedA`): the same
 * products in the same order, so the same results bit for bit, without copying and packing A
 * on every call (one contiguous copy of the window instead). Arguments as
 * `sgemmWasmResident`'s, with transA, a, aOffset and lda replaced by the window.
 */
export function sgemmWasmPacked(
  window: PackedWindow,
  ...[transB, m, n, k, alpha, b, bOffset, ldb, beta, c, cOffset, ldc]: PackedSgemmArgs
): void {
  const { packed, row0, k0 } = window;
  if (!packedWindowFits(packed, row0, m, k0, k)) {
    throw new RangeError(
      `sgemmWasmPacked: rows ${row0}..${row0 + m} x depth ${k0}..${k0 + k} is not a window of a packed ${packed.rows} x ${packed.depth} operand (rows from a multiple of ${MR}, depth from a multiple of ${KC} to its end or a multiple of ${KC})`,
    );
  }
  const args: ResidentSgemmArgs = [
    false,
    transB,
    m,
    n,
    k,
    alpha,
    packed.data,
    0,
    k,
    b,
    bOffset,
    ldb,
    beta,
    c,
    cOffset,
    ldc,
  ];
  validateResident(requireKernel(), args);
  blocked(requireKernel(), window, ...args);
}

/** The arguments of `sgemmWasmPacked` after the window: `ResidentSgemmArgs` less op(A)'s. */
export type PackedSgemmArgs = [
  transB: ResidentSgemmArgs[1],
  m: number,
  n: number,
  k: number,
  alpha: number,
  b: ResidentSgemmArgs[9],
  bOffset: number,
  ldb: number,
  beta: number,
  c: ResidentSgemmArgs[13],
  cOffset: number,
  ldc: number,
];

/**
 * The validated product on the kernel. B is copied in block by block from `b`, or, when `b` is
 * null, read in place from the resident region (at bOffset there); C likewise is staged densely
 * and copied back, or, when `c` is null, updated in place in the region (at cOffset).
 */
function blocked(
  kern: Kernel,
  packed: PackedWindow | null,
  ...[
    transA,
    transB,
    m,
    n,
    k,
    alpha,
    a,
    aOffset,
    lda,
    b,
    bOffset,
    ldb,
    beta,
    c,
    cOffset,
    ldc,
  ]: ResidentSgemmArgs
): void {
  if (m === 0 || n === 0) return;
  if (k === 0 || alpha === 0) {
    const resident = c ?? ensureHeap(kern, 0).subarray(regionStart(kern));
    scaleC(m, n, beta, resident, cOffset, ldc);
    return;
  }
  // Host blocks: mb rows of op(A) and C, nb columns of op(B) and C, kb of the depth, each a
  // multiple of the kernel's cache block; a whole dimension when it fits.
  // A row-major op(B) whose KC rows fit is taken whole across n, so each block of it is one
  // contiguous copy; otherwise blocks span the whole depth where it fits.
  const wideB = !transB && n * KC <= stage;
  const kb = wideB
    ? Math.min(k, Math.max(KC, Math.floor(stage / n / KC) * KC))
    : Math.min(k, Math.max(KC, Math.floor(stage / 1024 / KC) * KC));
  const mb = Math.min(m, Math.max(MC, Math.floor(stage / Math.max(kb, wideB ? n : NC) / MC) * MC));
  const nb = wideB
    ? n
    : Math.min(n, Math.max(NC, Math.floor(Math.min(stage / kb, stage / mb) / NC) * NC));
  // A packed op(A) is read where it is pinned (first, as pinning moves the resident region);
  // one too large to pin is copied in whole: its window, compacted to the call's rows.
  const pinnedAt = packed ? pin(kern, packed.packed) : null;
  const [aPanels, aRows, aRow0] =
    packed && pinnedAt !== null
      ? [
          pinnedAt + packed.k0 * paddedRows(packed.packed.rows),
          paddedRows(packed.packed.rows),
          packed.row0,
        ]
      : [-1, paddedRows(m), 0]; // -1: at aAt, filled below
  // Memory plan (in floats): packed A block, packed B block, A block, B block, dense C block.
  // A resident B occupies the start of the heap; the blocks go after it.
  const resident = regionStart(kern);
  const packA = b === null || c === null ? resident + align16(kern.residentFloats) : resident;
  const packB = packA + align16(Math.ceil(Math.min(MC, mb) / MR) * MR * Math.min(KC, kb));
  const aAt = packB + align16(Math.ceil(Math.min(NC, nb) / NR) * NR * Math.min(KC, kb));
  const bAt = aAt + (packed ? (aPanels < 0 ? align16(aRows * k) : 0) : copyInRoom(mb, kb));
  const cAt = bAt + (b === null ? 0 : copyInRoom(kb, nb));
  const mem = ensureHeap(kern, cAt + (c === null ? 0 : mb * nb));
  // op(A)[i0:i0+mi, p0:p0+kj] and op(B)[p0:p0+kj, j0:j0+nj] as stored (a transposed operand is
  // stored k-major); each returns the row stride of its copy.
  const copyA = (i0: number, mi: number, p0: number, kj: number): number =>
    transA
      ? copyIn(mem, aAt, a, aOffset + p0 * lda + i0, lda, kj, mi)
      : copyIn(mem, aAt, a, aOffset + i0 * lda + p0, lda, mi, kj);
  // Returns [where the block is in memory, its row stride there].
  const blockB = (j0: number, nj: number, p0: number, kj: number): [number, number] => {
    const start = transB ? bOffset + j0 * ldb + p0 : bOffset + p0 * ldb + j0;
    if (b === null) return [resident + start, ldb];
    const ld = transB
      ? copyIn(mem, bAt, b, start, ldb, nj, kj)
      : copyIn(mem, bAt, b, start, ldb, kj, nj);
    return [bAt, ld];
  };
  if (packed && aPanels < 0) copyPackedWindow(mem, aAt, packed, m, k);
  const panels = aPanels < 0 ? aAt : aPanels;
  const wholeK = kb === k;
  let ldaIn = 0;
  for (let i0 = 0; i0 < m; i0 += mb) {
    const mi = Math.min(mb, m - i0);
    if (wholeK && !packed) ldaIn = copyA(i0, mi, 0, k);
    for (let j0 = 0; j0 < n; j0 += nb) {
      const nj = Math.min(nb, n - j0);
      const cBlock = cOffset + i0 * ldc + j0;
      // A resident C is written in place; another is staged densely at cAt.
      const [cIn, ldcIn] = c === null ? [resident + cBlock, ldc] : [cAt, nj];
      if (c !== null && beta !== 0) copyC(mem, cAt, c, cBlock, ldc, mi, nj, false);
      for (let p0 = 0; p0 < k; p0 += kb) {
        const kj = Math.min(kb, k - p0);
        if (!wholeK && !packed) ldaIn = copyA(i0, mi, p0, kj);
        const [bIn, ldbIn] = blockB(j0, nj, p0, kj);
        kern.sgemm(
          transA ? 1 : 0,
          transB ? 1 : 0,
          mi,
          nj,
          kj,
          alpha,
          aAt * 4,
          ldaIn,
          bIn * 4,
          ldbIn,
          // Later depth blocks accumulate onto the first.
          p0 === 0 ? beta : 1,
          cIn * 4,
          ldcIn,
          // a packed op(A): its depth block p0 (aRows rows of panels a block), from row i0
          (packed ? panels + p0 * aRows : packA) * 4,
          packB * 4,
          MC,
          KC,
          NC,
          packed ? aRows : 0,
          packed ? aRow0 + i0 : 0,
        );
      }
      if (c !== null) copyC(mem, cAt, c, cBlock, ldc, mi, nj, true);
    }
  }
}

/**
 * Copies a window of a packed op(A) (its rows m, depth k) to mem[at...], compacted: block by
 * block of the depth, the panels of the window's rows, so the kernel reads block p (depth
 * offset p) at at + p * paddedRows(m).
 */
function copyPackedWindow(
  mem: Float32Array,
  at: number,
  { packed, row0, k0 }: PackedWindow,
  m: number,
  k: number,
): void {
  const full = paddedRows(packed.rows);
  const rows = paddedRows(m);
  for (let p = 0; p < k; p += KC) {
    const kc = Math.min(KC, k - p);
    const from = (k0 + p) * full + row0 * kc;
    mem.set(packed.data.subarray(from, from + rows * kc), at + p * rows);
  }
}
