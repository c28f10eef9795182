import { gemmWasmBase64 } from './generated/gemm-wasm.js';
import { checkSgemmArgs, scaleC } from './validate.js';

// Cache blocks for the Wasm kernel (its tile is 4 x 8): a B micro-panel of KC x 8 floats (8 KiB)
// stays in L1; the packed A block (MC x KC, 128 KiB) and the packed B block (KC x NC, 512 KiB)
// both fit in a 1 MiB L2. A larger NC, leaving B to a shared L3, measured slower here.
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

interface Kernel {
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
  ) => void;
}

// undefined: not tried yet; null: unavailable in this runtime.
let kernel: Kernel | null | undefined;
let heap = new Float32Array(0);

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Compiles and instantiates the kernel on first use (synchronously: the module is ~3 KB). */
function loadKernel(): Kernel | null {
  if (kernel !== undefined) return kernel;
  kernel = null;
  try {
    if (typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE)) {
      const module = new WebAssembly.Module(decodeBase64(gemmWasmBase64));
      const exports = new WebAssembly.Instance(module, {}).exports as unknown as {
        memory: WebAssembly.Memory;
        heapBase: () => number;
        sgemm: Kernel['sgemm'];
      };
      kernel = { memory: exports.memory, heapBase: exports.heapBase(), sgemm: exports.sgemm };
    }
  } catch {
    kernel = null;
  }
  return kernel;
}

/** Whether this runtime can run the WebAssembly SIMD kernel. */
export function wasmSimdAvailable(): boolean {
  return loadKernel() !== null;
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

// The kernel's memory holds one block of A, B and C at a time (about `stage` floats each, or one
// cache block where a single row or column is longer), so it stays bounded, ~13 MiB, for any
// problem size, and each copied block is still in cache when the kernel packs it.
let stage = 1 << 20;

/** Sets the host block size in floats (internal, not exported by the package: tests use it). */
export function setStageFloats(floats: number): number {
  const previous = stage;
  stage = floats;
  return previous;
}

/**
 * How a stored rows x cols matrix is copied into the kernel's memory: in one piece keeping its
 * row stride when the gaps between rows are small, else row by row into a dense block.
 */
function copiedStride(rows: number, cols: number, ld: number): number {
  const span = (rows - 1) * ld + cols;
  return ld === cols || span <= rows * cols * 1.25 ? ld : cols;
}

/** Copies a stored rows x cols matrix to dst[at...] with row stride dstLd (ld or cols). */
function copyIn(
  dst: Float32Array,
  at: number,
  src: Float32Array,
  offset: number,
  ld: number,
  rows: number,
  cols: number,
  dstLd: number,
): void {
  if (dstLd === ld) {
    dst.set(src.subarray(offset, offset + (rows - 1) * ld + cols), at);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const s = offset + r * ld;
    dst.set(src.subarray(s, s + cols), at + r * dstLd);
  }
}

/** Writes a dense rows x cols block back, row by row when C has gaps (other writers may own them). */
function copyOut(
  src: Float32Array,
  at: number,
  c: Float32Array,
  offset: number,
  ldc: number,
  rows: number,
  cols: number,
): void {
  if (ldc === cols) {
    c.set(src.subarray(at, at + rows * cols), offset);
    return;
  }
  for (let r = 0; r < rows; r++) {
    c.set(src.subarray(at + r * cols, at + r * cols + cols), offset + r * ldc);
  }
}

/**
 * sgemm on the WebAssembly SIMD kernel (see `Sgemm`); alpha and beta are rounded to float32
 * as in BLAS sgemm. Throws when `wasmSimdAvailable()` is false.
 */
export function sgemmWasm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  aOffset: number,
  lda: number,
  b: Float32Array,
  bOffset: number,
  ldb: number,
  beta: number,
  c: Float32Array,
  cOffset: number,
  ldc: number,
): void {
  const kern = loadKernel();
  if (kern === null) {
    throw new Error('sgemm: the WebAssembly SIMD kernel is not available in this runtime');
  }
  checkSgemmArgs(transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc);
  if (m === 0 || n === 0) return;
  if (k === 0 || alpha === 0) {
    scaleC(m, n, beta, c, cOffset, ldc);
    return;
  }
  // Host blocks: mb rows of op(A) (and C), nb columns of op(B) (and C), multiples of the
  // kernel's cache blocks; a whole operand when it fits.
  const mb = Math.min(m, Math.max(MC, Math.floor(stage / k / MC) * MC));
  const nb = Math.min(n, Math.max(NC, Math.floor(Math.min(stage / k, stage / mb) / NC) * NC));
  // Memory plan (in floats): packed A block, packed B block, A block, B block, dense C block.
  const packA = align16(Math.ceil(kern.heapBase / 4));
  const packB = packA + align16(Math.ceil(Math.min(MC, mb) / MR) * MR * Math.min(KC, k));
  const aAt = packB + align16(Math.ceil(Math.min(NC, nb) / NR) * NR * Math.min(KC, k));
  // Stored shape of one block of A and of B (a transposed operand is stored k-major).
  const [aRows, aCols] = transA ? [k, mb] : [mb, k];
  const [bRows, bCols] = transB ? [nb, k] : [k, nb];
  const ldaIn = transA ? mb : copiedStride(aRows, aCols, lda);
  const ldbIn = transB ? copiedStride(bRows, bCols, ldb) : nb;
  const bAt = aAt + align16((aRows - 1) * ldaIn + aCols);
  const cAt = bAt + align16((bRows - 1) * ldbIn + bCols);
  const mem = ensureHeap(kern, cAt + mb * nb);
  for (let i0 = 0; i0 < m; i0 += mb) {
    const mi = Math.min(mb, m - i0);
    if (transA) copyIn(mem, aAt, a, aOffset + i0, lda, k, mi, mi);
    else copyIn(mem, aAt, a, aOffset + i0 * lda, lda, mi, k, ldaIn);
    const ldaBlock = transA ? mi : ldaIn;
    for (let j0 = 0; j0 < n; j0 += nb) {
      const nj = Math.min(nb, n - j0);
      if (transB) copyIn(mem, bAt, b, bOffset + j0 * ldb, ldb, nj, k, ldbIn);
      else copyIn(mem, bAt, b, bOffset + j0, ldb, k, nj, nj === ldb ? ldb : nj);
      const ldbBlock = transB ? ldbIn : nj;
      const cBlock = cOffset + i0 * ldc + j0;
      if (beta !== 0) copyIn(mem, cAt, c, cBlock, ldc, mi, nj, nj);
      kern.sgemm(
        transA ? 1 : 0,
        transB ? 1 : 0,
        mi,
        nj,
        k,
        alpha,
        aAt * 4,
        ldaBlock,
        bAt * 4,
        ldbBlock,
        beta,
        cAt * 4,
        nj,
        packA * 4,
        packB * 4,
        MC,
        KC,
        NC,
      );
      copyOut(mem, cAt, c, cBlock, ldc, mi, nj);
    }
  }
}
