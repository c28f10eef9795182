import type { SgemmArgs } from './types.js';

function checkCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`sgemm: ${name} must be a non-negative integer, got ${value}`);
  }
}

/** Checks one stored matrix (rows x cols at offset, row stride ld) fits inside its array. */
function checkMatrix(
  name: string,
  array: Float32Array,
  offset: number,
  ld: number,
  rows: number,
  cols: number,
): void {
  if (!(array instanceof Float32Array)) {
    throw new TypeError(`sgemm: ${name} must be a Float32Array`);
  }
  checkCount(`${name} offset`, offset);
  checkCount(`ld${name.toLowerCase()}`, ld);
  if (ld < cols) {
    throw new RangeError(
      `sgemm: ld${name.toLowerCase()} must be at least ${cols} (the stored row length of ${name}), got ${ld}`,
    );
  }
  if (rows > 0 && cols > 0) {
    const end = offset + (rows - 1) * ld + cols;
    if (end > array.length) {
      throw new RangeError(
        `sgemm: ${name} (${rows} x ${cols}, offset ${offset}, ld ${ld}) needs ${end} elements, the array has ${array.length}`,
      );
    }
  }
}

/** Validates every argument of an sgemm call; throws RangeError/TypeError naming the bad one. */
export function checkSgemmArgs(
  ...[transA, transB, m, n, k, , a, aOffset, lda, b, bOffset, ldb, , c, cOffset, ldc]: SgemmArgs
): void {
  checkCount('m', m);
  checkCount('n', n);
  checkCount('k', k);
  checkMatrix('A', a, aOffset, lda, transA ? k : m, transA ? m : k);
  checkMatrix('B', b, bOffset, ldb, transB ? n : k, transB ? k : n);
  checkMatrix('C', c, cOffset, ldc, m, n);
}

/** C = beta * C, with beta = 0 overwriting (NaN in C must not survive, as in BLAS). */
export function scaleC(
  m: number,
  n: number,
  beta: number,
  c: Float32Array,
  cOffset: number,
  ldc: number,
): void {
  if (beta === 1) return;
  for (let i = 0; i < m; i++) {
    const row = cOffset + i * ldc;
    if (beta === 0) {
      c.fill(0, row, row + n);
    } else {
      for (let j = row; j < row + n; j++) c[j] = beta * c[j];
    }
  }
}
