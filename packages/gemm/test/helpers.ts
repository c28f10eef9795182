import { type Sgemm, sgemmReference } from '../src/index.js';

/** Deterministic PRNG (mulberry32) so a failure names a reproducible case. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Case {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  beta: number;
  /** Extra elements per stored row beyond the row length. */
  padA: number;
  padB: number;
  padC: number;
  aOffset: number;
  bOffset: number;
  cOffset: number;
  /** Fill C with NaN before the call (only meaningful with beta = 0). */
  nanC?: boolean;
  shared?: boolean;
}

interface Operands {
  a: Float32Array;
  b: Float32Array;
  c: Float32Array;
  lda: number;
  ldb: number;
  ldc: number;
}

function alloc(length: number, shared: boolean): Float32Array {
  return shared ? new Float32Array(new SharedArrayBuffer(length * 4)) : new Float32Array(length);
}

export function makeOperands(t: Case, random: () => number): Operands {
  const [aRows, aCols] = t.transA ? [t.k, t.m] : [t.m, t.k];
  const [bRows, bCols] = t.transB ? [t.n, t.k] : [t.k, t.n];
  const lda = aCols + t.padA;
  const ldb = bCols + t.padB;
  const ldc = t.n + t.padC;
  const a = alloc(t.aOffset + aRows * lda, !!t.shared);
  const b = alloc(t.bOffset + bRows * ldb, !!t.shared);
  const c = alloc(t.cOffset + t.m * ldc, !!t.shared);
  for (let i = 0; i < a.length; i++) a[i] = random() * 2 - 1;
  for (let i = 0; i < b.length; i++) b[i] = random() * 2 - 1;
  for (let i = 0; i < c.length; i++) c[i] = t.nanC ? Number.NaN : random() * 2 - 1;
  return { a, b, c, lda, ldb, ldc };
}

/**
 * Runs `impl` and the float64 reference on the same operands; returns a description of the
 * first element outside the bound |got - want| <= (k + 2) * 2^-24 * (|alpha| sum|a||b| + |beta c|),
 * or of any element of C outside the m x n window that changed; null when all is well.
 */
export function checkCase(impl: Sgemm, t: Case, seed: number): string | null {
  const { a, b, c, lda, ldb, ldc } = makeOperands(t, rng(seed));
  const got = c.slice();
  const want = c.slice();
  impl(
    t.transA,
    t.transB,
    t.m,
    t.n,
    t.k,
    t.alpha,
    a,
    t.aOffset,
    lda,
    b,
    t.bOffset,
    ldb,
    t.beta,
    got,
    t.cOffset,
    ldc,
  );
  sgemmReference(
    t.transA,
    t.transB,
    t.m,
    t.n,
    t.k,
    t.alpha,
    a,
    t.aOffset,
    lda,
    b,
    t.bOffset,
    ldb,
    t.beta,
    want,
    t.cOffset,
    ldc,
  );
  const absA = a.map(Math.abs);
  const absB = b.map(Math.abs);
  const bound = c.map((v) => (t.nanC ? 0 : Math.abs(v)));
  sgemmReference(
    t.transA,
    t.transB,
    t.m,
    t.n,
    t.k,
    Math.abs(t.alpha),
    absA,
    t.aOffset,
    lda,
    absB,
    t.bOffset,
    ldb,
    Math.abs(t.beta),
    bound,
    t.cOffset,
    ldc,
  );
  const eps = 2 ** -24;
  for (let idx = 0; idx < c.length; idx++) {
    const rel = idx - t.cOffset;
    const i = Math.floor(rel / ldc);
    const j = rel - i * ldc;
    const inside = rel >= 0 && i < t.m && j < t.n;
    if (!inside) {
      if (!Object.is(got[idx], c[idx])) return `C[${idx}] outside the window changed`;
      continue;
    }
    const tol = (t.k + 2) * eps * bound[idx];
    const err = Math.abs(got[idx] - want[idx]);
    if (!(err <= tol)) {
      return `C(${i},${j}) = ${got[idx]}, want ${want[idx]} (error ${err}, bound ${tol})`;
    }
  }
  return null;
}
