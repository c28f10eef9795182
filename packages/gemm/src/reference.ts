import type { Sgemm } from './types.js';
import { checkSgemmArgs } from './validate.js';

/**
 * Plain triple loop with float64 accumulation: the readable oracle the fast kernels are tested
 * against. Same argument order and semantics as `sgemm` (beta = 0 ignores C's contents).
 */
export const sgemmReference: Sgemm = (...args) => {
  checkSgemmArgs(...args);
  const [transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc] =
    args;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[aOffset + p * lda + i] : a[aOffset + i * lda + p];
        const bv = transB ? b[bOffset + j * ldb + p] : b[bOffset + p * ldb + j];
        sum += av * bv;
      }
      const ci = cOffset + i * ldc + j;
      const product = alpha === 0 ? 0 : alpha * sum;
      c[ci] = beta === 0 ? product : product + beta * c[ci];
    }
  }
};
