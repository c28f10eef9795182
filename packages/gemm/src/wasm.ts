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

/**
 * How a stored rows x cols matrix is copied into the kernel's memory: in one piece keeping its
 * row stride when the gaps between rows are small, else row by row into a dense block.
 */
function copiedStride(rows: number, cols: number, ld: number): number {
  const span = (rows - 1) * ld + cols;
  return ld === cols || span <= rows * cols * 1.25 ? ld : cols;
}

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

/** Writes the dense m x n result back, row by row when C has gaps (other writers may own them). */
function copyOut(
  src: Float32Array,
  at: number,
  c: Float32Array,
  cOffset: number,
  ldc: number,
  m: number,
  n: number,
): void {
  if (ldc === n) {
    c.set(src.subarray(at, at + m * n), cOffset);
    return;
  }
  for (let r = 0; r < m; r++) c.set(src.subarray(at + r * n, at + r * n + n), cOffset + r * ldc);
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
  const [aRows, aCols] = transA ? [k, m] : [m, k];
  const [bRows, bCols] = transB ? [n, k] : [k, n];
  const ldaIn = copiedStride(aRows, aCols, lda);
  const ldbIn = copiedStride(bRows, bCols, ldb);
  // Memory plan (in floats): packed A block, packed B block, A, B, dense C.
  const packA = align16(Math.ceil(kern.heapBase / 4));
  const packB = packA + align16(Math.ceil(Math.min(MC, m) / MR) * MR * Math.min(KC, k));
  const aAt = packB + align16(Math.ceil(Math.min(NC, n) / NR) * NR * Math.min(KC, k));
  const bAt = aAt + align16((aRows - 1) * ldaIn + aCols);
  const cAt = bAt + align16((bRows - 1) * ldbIn + bCols);
  const mem = ensureHeap(kern, cAt + m * n);
  copyIn(mem, aAt, a, aOffset, lda, aRows, aCols, ldaIn);
  copyIn(mem, bAt, b, bOffset, ldb, bRows, bCols, ldbIn);
  if (beta !== 0) copyIn(mem, cAt, c, cOffset, ldc, m, n, n);
  kern.sgemm(
    transA ? 1 : 0,
    transB ? 1 : 0,
    m,
    n,
    k,
    alpha,
    aAt * 4,
    ldaIn,
    bAt * 4,
    ldbIn,
    beta,
    cAt * 4,
    n,
    packA * 4,
    packB * 4,
    MC,
    KC,
    NC,
  );
  copyOut(mem, cAt, c, cOffset, ldc, m, n);
}
