/**
 * Row-major C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C, where op transposes when
 * the flag is set. lda/ldb/ldc are the row strides (in elements) of A, B and C as stored; the
 * offsets let callers pass sub-arrays without copying.
 */
export type Sgemm = (
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
) => void;

/** The arguments of an sgemm call, in order. */
export type SgemmArgs = Parameters<Sgemm>;

/** `'wasm-simd'`: the Wasm kernel, either build (`gemmKernel()` says which); `'typescript'`. */
export type GemmImplementation = 'wasm-simd' | 'typescript';
