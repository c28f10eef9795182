import { afterAll, describe, expect, it } from 'vitest';
import {
  packedASize,
  packedWindowFits,
  packOperandA,
  setWasmRelaxedSimd,
  sgemmWasm,
  sgemmWasmPacked,
  type WasmKernelName,
  wasmKernel,
  wasmRelaxedSimdAvailable,
  wasmResident,
  wasmSimdAvailable,
} from '../src/index.js';
import { setPinnedFloats, setStageFloats } from '../src/wasm.js';
import { rng } from './helpers.js';

const builds: WasmKernelName[] = [];
if (wasmSimdAvailable()) builds.push('wasm-simd');
if (wasmRelaxedSimdAvailable()) builds.push('wasm-relaxed-simd');
const defaultBuild = wasmKernel();
afterAll(() => {
  if (defaultBuild) setWasmRelaxedSimd(defaultBuild === 'wasm-relaxed-simd');
});

const random = (n: number, r: () => number) => Float32Array.from({ length: n }, () => r() * 2 - 1);

interface Window {
  transA: boolean;
  transB: boolean;
  /** The whole packed operand: rows x depth. */
  rows: number;
  depth: number;
  /** The product's window of it. */
  row0: number;
  m: number;
  k0: number;
  k: number;
  n: number;
  residentB: boolean;
}

/** C from the window of a packed op(A) and from plain sgemm on the same sub-matrix of A. */
function both(w: Window, seed: number): [Float32Array, Float32Array] {
  const r = rng(seed);
  const { transA, transB, rows, depth, row0, m, k0, k, n } = w;
  const lda = (transA ? rows : depth) + 1;
  const a = random((transA ? depth : rows) * lda, r);
  const ldb = transB ? k : n;
  const b = random((transB ? n : k) * ldb, r);
  const c0 = random(m * n, r);
  const packed = packOperandA(transA, rows, depth, a, 0, lda);
  expect(packed.data.length).toBe(packedASize(rows, depth));
  const aOffset = transA ? k0 * lda + row0 : row0 * lda + k0;
  const want = c0.slice();
  sgemmWasm(transA, transB, m, n, k, 1.5, a, aOffset, lda, b, 0, ldb, 0.5, want, 0, n);
  const got = c0.slice();
  if (w.residentB) {
    wasmResident(b.length).set(b);
    sgemmWasmPacked({ packed, row0, k0 }, transB, m, n, k, 1.5, null, 0, ldb, 0.5, got, 0, n);
  } else {
    sgemmWasmPacked({ packed, row0, k0 }, transB, m, n, k, 1.5, b, 0, ldb, 0.5, got, 0, n);
  }
  return [got, want];
}

describe.each(builds)('sgemmWasmPacked (%s)', (build) => {
  setWasmRelaxedSimd(build === 'wasm-relaxed-simd');

  it.each([
    ['kept in the kernel memory', 1 << 22],
    ['copied in per call (over the budget)', 0],
  ])(
    'gives sgemmWasm bit for bit on windows of packed operands %s, both layouts of A and B',
    (_how, budget) => {
      const previous = setPinnedFloats(budget);
      try {
        windows();
      } finally {
        setPinnedFloats(previous);
      }
    },
  );

  function windows() {
    const r = rng(7);
    const pick = (xs: number[]) => xs[Math.floor(r() * xs.length)];
    for (let i = 0; i < 60; i++) {
      const rows = pick([1, 3, 4, 9, 33, 130, 260]);
      const depth = pick([1, 5, 256, 300, 600]);
      const row0 = 4 * Math.floor((r() * rows) / 4);
      const m = Math.max(1, Math.floor(r() * (rows - row0)));
      // depth windows: the whole depth, or from a 256 boundary to the end or to another one
      const k0 = depth > 256 && r() < 0.5 ? 256 : 0;
      const k = depth > 512 && k0 === 0 && r() < 0.5 ? 512 : depth - k0;
      const w: Window = {
        transA: (i & 1) === 1,
        transB: (i & 2) === 2,
        rows,
        depth,
        row0: Math.min(row0, rows - 1 - ((rows - 1) % 4)),
        m,
        k0,
        k,
        n: pick([1, 7, 8, 50, 520]),
        residentB: (i & 4) === 4,
      };
      w.m = Math.min(w.m, rows - w.row0);
      expect(packedWindowFits({ rows, depth }, w.row0, w.m, k0, k)).toBe(true);
      const [got, want] = both(w, 100 + i);
      expect(Array.from(got), JSON.stringify(w)).toEqual(Array.from(want));
    }
  }

  it('keeps packed operands in the kernel memory, dropping them all past its budget', () => {
    // 12 operands of 4 x 300 (1200 floats each) through a 4000-float budget: pinned, kept,
    // dropped and pinned again, with a resident B and C moving up each time one is pinned
    const previous = setPinnedFloats(4000);
    try {
      const r = rng(11);
      const ops = Array.from({ length: 12 }, () => {
        const a = random(4 * 300, r);
        return { a, packed: packOperandA(false, 4, 300, a, 0, 300) };
      });
      const b = random(300 * 5, r);
      for (let round = 0; round < 3; round++) {
        for (const { a, packed } of ops) {
          const want = new Float32Array(20);
          sgemmWasm(false, false, 4, 5, 300, 1, a, 0, 300, b, 0, 5, 0, want, 0, 5);
          const region = wasmResident(b.length + 20);
          region.set(b);
          region.fill(Number.NaN, b.length);
          sgemmWasmPacked(
            { packed, row0: 0, k0: 0 },
            false,
            4,
            5,
            300,
            1,
            null,
            0,
            5,
            0,
            null,
            b.length,
            5,
          );
          const got = wasmResident(b.length + 20).slice(b.length);
          expect(Array.from(got)).toEqual(Array.from(want));
        }
      }
    } finally {
      setPinnedFloats(previous);
    }
  });

  it('gives the same bits when the product passes through the kernel in host blocks', () => {
    const previous = setStageFloats(4096);
    try {
      const w: Window = {
        transA: false,
        transB: false,
        rows: 140,
        depth: 600,
        row0: 4,
        m: 133,
        k0: 0,
        k: 600,
        n: 530,
        residentB: false,
      };
      const [got, want] = both(w, 3);
      expect(Array.from(got)).toEqual(Array.from(want));
    } finally {
      setStageFloats(previous);
    }
  });
});

describe.runIf(wasmSimdAvailable())('packed operands', () => {
  const packed = packOperandA(false, 10, 300, new Float32Array(3000), 0, 300);

  it('lays out op(A) as the kernel packs it: 4-row panels, depth-major, per 256-deep block', () => {
    const a = Float32Array.from({ length: 6 * 3 }, (_, i) => i); // 6 x 3, row-major
    const p = packOperandA(false, 6, 3, a, 0, 3);
    // panel 0: rows 0-3 interleaved by depth; panel 1: rows 4, 5 and two zero rows
    expect(Array.from(p.data)).toEqual([
      0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11, 12, 15, 0, 0, 13, 16, 0, 0, 14, 17, 0, 0,
    ]);
    const t = packOperandA(
      true,
      6,
      3,
      Float32Array.from({ length: 18 }, (_, i) => i),
      0,
      6,
    );
    // transA: A stored 3 x 6, op(A)[r][p] = A[p][r]
    expect(Array.from(t.data.subarray(0, 8))).toEqual([0, 1, 2, 3, 6, 7, 8, 9]);
  });

  it.each([
    ['a row window not on a panel', 2, 4, 0, 300],
    ['a depth window not on a block', 0, 4, 100, 200],
    ['a depth window ending inside a block', 0, 4, 0, 100],
    ['rows past the operand', 8, 4, 0, 300],
  ])('refuses %s', (_what, row0, m, k0, k) => {
    expect(packedWindowFits(packed, row0, m, k0, k)).toBe(false);
    const c = new Float32Array(m * 2);
    const b = new Float32Array(k * 2);
    expect(() =>
      sgemmWasmPacked({ packed, row0, k0 }, false, m, 2, k, 1, b, 0, 2, 0, c, 0, 2),
    ).toThrow(/sgemmWasmPacked/);
  });
});
