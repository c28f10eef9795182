import { checkSgemmArgs } from './validate.js';

/** Whether this runtime can run the WebAssembly SIMD kernel. */
export function wasmSimdAvailable(): boolean {
  return false;
}

/** sgemm on the WebAssembly SIMD kernel; throws when `wasmSimdAvailable()` is false. */
export function sgemmWasm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  _alpha: number,
  a: Float32Array,
  aOffset: number,
  lda: number,
  b: Float32Array,
  bOffset: number,
  ldb: number,
  _beta: number,
  c: Float32Array,
  cOffset: number,
  ldc: number,
): void {
  checkSgemmArgs(transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc);
  throw new Error('sgemm: the WebAssembly SIMD kernel is not available in this runtime');
}
