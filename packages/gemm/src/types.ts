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

/** Tuple T with the elements at indices K (as strings: '9') widened to allow null. */
type NullableAt<T extends unknown[], K> = { [I in keyof T]: I extends K ? T[I] | null : T[I] };

/**
 * The arguments of `sgemmWasmResident`: sgemm's, except that B (index 9) and C (index 13) may
 * be null, meaning the operand lies in the Wasm kernel's resident region at its offset.
 */
export type ResidentSgemmArgs = NullableAt<SgemmArgs, '9' | '13'>;

/** `'wasm-simd'`: the Wasm kernel, either build (`gemmKernel()` says which); `'typescript'`. */
export type GemmImplementation = 'wasm-simd' | 'typescript';
