import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gemmRelaxedWasmBase64 } from '../src/generated/gemm-relaxed-wasm.js';
import { gemmWasmBase64 } from '../src/generated/gemm-wasm.js';
import {
  type GemmImplementation,
  gemmImplementation,
  gemmKernel,
  type ResidentSgemmArgs,
  type Sgemm,
  setGemmImplementation,
  setWasmRelaxedSimd,
  sgemm,
  sgemmTypescript,
  sgemmWasm,
  sgemmWasmResident,
  type WasmKernelName,
  wasmCol2im,
  wasmIm2col,
  wasmKernel,
  wasmRelaxedSimdAvailable,
  wasmResident,
  wasmSimdAvailable,
} from '../src/index.js';
import { setStageFloats } from '../src/wasm.js';
import { type Case, checkCase, rng } from './helpers.js';

/**
 * sgemm with B copied whole into the resident region (at its own offset there) and, when
 * `withC`, C after it, copied back out afterwards.
 */
const residentSgemm =
  (withC: boolean): Sgemm =>
  (...args) => {
    const [, , , , , , , , , b, , , , c, cO] = args;
    const cAt = b.length + 3;
    const region = wasmResident(withC ? cAt + c.length : b.length);
    region.set(b);
    const call: ResidentSgemmArgs = [...args];
    call[9] = null;
    if (withC) {
      region.set(c, cAt);
      call[13] = null;
      call[14] = cAt + cO;
    }
    sgemmWasmResident(...call);
    if (withC) c.set(wasmResident(cAt + c.length).subarray(cAt));
  };
const sgemmResidentB = residentSgemm(false);
const sgemmResidentBC = residentSgemm(true);

/** The Wasm builds that run here; each Wasm test runs once per build. */
const wasmBuilds: WasmKernelName[] = [];
if (wasmSimdAvailable()) wasmBuilds.push('wasm-simd');
if (wasmRelaxedSimdAvailable()) wasmBuilds.push('wasm-relaxed-simd');
const defaultBuild = wasmKernel();

/** Selects `build` for the tests of the enclosing describe block (null: nothing to select). */
function useBuild(build: WasmKernelName | null): void {
  if (build === null) return;
  beforeAll(() => setWasmRelaxedSimd(build === 'wasm-relaxed-simd'));
  afterAll(() => setWasmRelaxedSimd(defaultBuild === 'wasm-relaxed-simd'));
}

const implementations: [string, Sgemm, WasmKernelName | null][] = [
  ['typescript', sgemmTypescript, null],
];
for (const build of wasmBuilds) {
  implementations.push(
    [build, sgemmWasm, build],
    [`${build}, resident B`, sgemmResidentB, build],
    [`${build}, resident B and C`, sgemmResidentBC, build],
  );
}

const SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 17, 31, 33, 47, 64];
const ALPHAS = [1, -0.5, 2.5, 1e-3];
const BETAS = [0, 1, -1.5, 0.25];

function randomCases(count: number, seed: number, sizes: number[]): Case[] {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    cases.push({
      transA: (i & 1) === 1,
      transB: (i & 2) === 2,
      m: pick(sizes),
      n: pick(sizes),
      k: pick(sizes),
      alpha: pick(ALPHAS),
      beta: pick(BETAS),
      padA: r() < 0.5 ? 0 : Math.floor(r() * 5),
      padB: r() < 0.5 ? 0 : Math.floor(r() * 5),
      padC: r() < 0.5 ? 0 : Math.floor(r() * 5),
      aOffset: r() < 0.5 ? 0 : Math.floor(r() * 7),
      bOffset: r() < 0.5 ? 0 : Math.floor(r() * 7),
      cOffset: r() < 0.5 ? 0 : Math.floor(r() * 7),
    });
  }
  return cases;
}

const base = { alpha: 1, beta: 0, padA: 0, padB: 0, padC: 0, aOffset: 0, bOffset: 0, cOffset: 0 };

describe.each(implementations)('sgemm (%s)', (_name, impl, build) => {
  useBuild(build);

  it('matches the reference on 400 random small shapes, all transposes, offsets, strides', () => {
    for (const [index, t] of randomCases(400, 1234, SIZES).entries()) {
      expect(checkCase(impl, t, index), JSON.stringify(t)).toBeNull();
    }
  });

  it('matches the reference across cache-block boundaries (m, n, k beyond the block sizes)', () => {
    const shapes: [number, number, number][] = [
      [131, 67, 300],
      [257, 33, 513],
      [5, 2113, 37],
      [67, 4099, 3],
      [250, 9, 1030],
    ];
    let seed = 99;
    for (const [m, n, k] of shapes) {
      for (let flags = 0; flags < 4; flags++) {
        const t: Case = {
          ...base,
          transA: (flags & 1) === 1,
          transB: (flags & 2) === 2,
          m,
          n,
          k,
          alpha: 0.75,
          beta: flags === 3 ? -1 : 0,
          padA: 3,
          padC: 1,
          aOffset: 5,
          cOffset: 2,
        };
        expect(checkCase(impl, t, seed++), JSON.stringify(t)).toBeNull();
      }
    }
  }, 60_000);

  it('beta = 0 ignores NaN in C', () => {
    for (const [index, t] of randomCases(40, 77, [1, 3, 8, 17, 40]).entries()) {
      const nanCase = { ...t, beta: 0, nanC: true };
      expect(checkCase(impl, nanCase, index), JSON.stringify(nanCase)).toBeNull();
    }
  });

  it('works on SharedArrayBuffer-backed arrays', () => {
    const t: Case = { ...base, transA: false, transB: true, m: 37, n: 45, k: 70, shared: true };
    expect(checkCase(impl, t, 5)).toBeNull();
  });

  it('k = 0 or alpha = 0 scales C by beta; m = 0 or n = 0 touches nothing', () => {
    for (const t of [
      { ...base, transA: false, transB: false, m: 4, n: 5, k: 0, beta: 0.5 },
      { ...base, transA: true, transB: false, m: 4, n: 5, k: 3, alpha: 0, beta: -2 },
      { ...base, transA: false, transB: false, m: 3, n: 3, k: 0, beta: 0, nanC: true },
      { ...base, transA: false, transB: true, m: 0, n: 5, k: 3, padC: 2 },
      { ...base, transA: false, transB: false, m: 5, n: 0, k: 3, padC: 2 },
    ]) {
      expect(checkCase(impl, t, 3), JSON.stringify(t)).toBeNull();
    }
  });

  it('computes a known 2x2 product exactly', () => {
    const a = new Float32Array([1, 2, 3, 4]);
    const b = new Float32Array([5, 6, 7, 8]);
    const c = new Float32Array([1, 1, 1, 1]);
    impl(false, false, 2, 2, 2, 1, a, 0, 2, b, 0, 2, 1, c, 0, 2);
    expect(Array.from(c)).toEqual([20, 23, 44, 51]);
    impl(true, true, 2, 2, 2, 2, a, 0, 2, b, 0, 2, 0, c, 0, 2);
    // 2 * A^T B^T = 2 * (B A)^T; B A = [[23, 34], [31, 46]]
    expect(Array.from(c)).toEqual([46, 62, 68, 92]);
  });

  it('rejects arrays too small for the described matrices and bad strides', () => {
    const x = new Float32Array(6);
    expect(() => impl(false, false, 3, 1, 3, 1, x, 0, 3, x, 0, 1, 0, x, 0, 1)).toThrow(/A \(3 x 3/);
    expect(() => impl(false, false, 2, 3, 2, 1, x, 0, 1, x, 0, 3, 0, x, 0, 3)).toThrow(/lda/);
    // (Resident B and C are checked against the region, which that adapter sizes for both.)
    if (impl !== sgemmResidentBC) {
      expect(() => impl(false, false, 2, 3, 2, 1, x, 0, 2, x, 1, 3, 0, x, 0, 3)).toThrow(
        /B \(2 x 3/,
      );
      expect(() => impl(false, false, 2, 3, 2, 1, x, 0, 2, x, 0, 3, 0, x, 0, 4)).toThrow(
        /C \(2 x 3/,
      );
    }
    expect(() => impl(false, false, -1, 3, 2, 1, x, 0, 2, x, 0, 3, 0, x, 0, 3)).toThrow(/m must/);
  });
});

describe('implementation selection', () => {
  it('has the Wasm SIMD kernel on Node 20+ (so its tests above are not silently dropped)', () => {
    const major = Number(process.versions.node.split('.')[0]);
    expect(major >= 20 && wasmSimdAvailable()).toBe(major >= 20);
  });

  it('sgemm uses the selected implementation and can be switched', () => {
    const initial = gemmImplementation();
    expect(initial).toBe(wasmSimdAvailable() ? 'wasm-simd' : 'typescript');
    try {
      for (const name of ['typescript', 'wasm-simd'] as const) {
        if (name === 'wasm-simd' && !wasmSimdAvailable()) continue;
        setGemmImplementation(name);
        expect(gemmImplementation()).toBe(name);
        expect(
          checkCase(sgemm, { ...base, transA: true, transB: false, m: 9, n: 10, k: 11 }, 1),
        ).toBeNull();
      }
    } finally {
      setGemmImplementation(initial);
    }
  });

  it('keeps the Wasm modules under 4 KiB, the limit browsers put on synchronous compilation', () => {
    expect(atob(gemmWasmBase64).length).toBeLessThan(4096);
    expect(atob(gemmRelaxedWasmBase64).length).toBeLessThan(4096);
  });

  it('runs the relaxed-SIMD build by default on Node 20+ (V8 flag enabled at load)', () => {
    const major = Number(process.versions.node.split('.')[0]);
    if (major < 20 || process.env.CONV2D_RELAXED_SIMD === '0') return;
    expect(wasmRelaxedSimdAvailable()).toBe(true);
    expect(defaultBuild).toBe('wasm-relaxed-simd');
  });

  it('gemmKernel names the build in use and setWasmRelaxedSimd switches it', () => {
    try {
      for (const build of wasmBuilds) {
        setWasmRelaxedSimd(build === 'wasm-relaxed-simd');
        expect(gemmKernel()).toBe(build);
        expect(wasmKernel()).toBe(build);
      }
      setGemmImplementation('typescript');
      expect(gemmKernel()).toBe('typescript');
    } finally {
      setGemmImplementation(wasmSimdAvailable() ? 'wasm-simd' : 'typescript');
      if (defaultBuild !== null) setWasmRelaxedSimd(defaultBuild === 'wasm-relaxed-simd');
    }
  });

  it('CONV2D_RELAXED_SIMD=0 selects the plain SIMD build', async () => {
    if (!wasmSimdAvailable()) return;
    vi.stubEnv('CONV2D_RELAXED_SIMD', '0');
    vi.resetModules();
    try {
      const fresh = await import('../src/wasm.js');
      expect(fresh.wasmKernel()).toBe('wasm-simd');
      expect(fresh.wasmRelaxedSimdAvailable()).toBe(false);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('refuses an unknown implementation name', () => {
    expect(() => setGemmImplementation('gpu' as GemmImplementation)).toThrow(/expected/);
  });
});

describe.each(wasmBuilds)('sgemm (%s) host blocking', (build) => {
  useBuild(build);
  // With 4096-float host blocks, m > 128 gives several row blocks, n > 512 several column
  // blocks and k > 256 several depth blocks (C then stays in the kernel across them).
  const blocked: [number, number, number][] = [
    [140, 530, 20],
    [9, 13, 600],
    [130, 515, 260],
  ];
  it.each(blocked)(
    'gives the same results when m=%i, n=%i, k=%i pass through the kernel in blocks',
    (m, n, k) => {
      const previous = setStageFloats(4096);
      try {
        let seed = 500;
        for (let flags = 0; flags < 4; flags++) {
          if (m * n * k > 1e7 && flags !== 3) continue;
          const t: Case = {
            ...base,
            transA: (flags & 1) === 1,
            transB: (flags & 2) === 2,
            m,
            n,
            k,
            alpha: -1.25,
            beta: flags === 0 ? 0 : 0.5,
            padA: 2,
            padB: 3,
            padC: 5,
            aOffset: 1,
            bOffset: 2,
            cOffset: 3,
          };
          expect(checkCase(sgemmWasm, t, seed++), JSON.stringify(t)).toBeNull();
          expect(checkCase(sgemmResidentB, t, seed++), JSON.stringify(t)).toBeNull();
          expect(checkCase(sgemmResidentBC, t, seed++), JSON.stringify(t)).toBeNull();
        }
      } finally {
        setStageFloats(previous);
      }
    },
    60_000,
  );
});

describe.runIf(wasmSimdAvailable())('sgemmWasmResident', () => {
  it('refuses operands outside the resident region and a C that overlaps B', () => {
    const a = new Float32Array(4);
    wasmResident(8);
    // B (2 x 2 at 6) runs past the 8-float region; C (2 x 2 at 2) overlaps B (2 x 2 at 0).
    expect(() =>
      sgemmWasmResident(false, false, 2, 2, 2, 1, a, 0, 2, null, 6, 2, 0, a, 0, 2),
    ).toThrow(/B \(2 x 2/);
    expect(() =>
      sgemmWasmResident(false, false, 2, 2, 2, 1, a, 0, 2, null, 0, 2, 0, null, 2, 2),
    ).toThrow(/overlap/);
  });
});

describe.each(wasmBuilds)('wasmIm2col and wasmCol2im (%s)', (build) => {
  useBuild(build);
  const geometries = [
    // inHeight, inWidth, kernel, stride, dilation, padTop, padLeft
    [5, 7, [3, 3], [1, 1], [1, 1], 1, 1],
    [9, 11, [3, 2], [2, 3], [1, 2], 2, 0],
    [6, 6, [1, 1], [1, 1], [1, 1], 0, 0],
    [13, 10, [7, 5], [2, 2], [1, 1], 3, 4],
    [4, 17, [2, 3], [1, 1], [2, 1], 0, 5],
  ] as const;

  it.each(geometries)(
    'im2col and col2im match plain loops on %ix%i inputs with various windows',
    (H, W, [Kh, Kw], [sh, sw], [dh, dw], padTop, padLeft) => {
      const r = rng(H * 31 + W);
      const channels = 3;
      const Ho = Math.floor((H + 2 * padTop - dh * (Kh - 1) - 1) / sh) + 1;
      const Wo = Math.floor((W + 2 * padLeft - dw * (Kw - 1) - 1) / sw) + 1;
      const g = {
        inHeight: H,
        inWidth: W,
        outWidth: Wo,
        kernelHeight: Kh,
        kernelWidth: Kw,
        strideHeight: sh,
        strideWidth: sw,
        dilationHeight: dh,
        dilationWidth: dw,
        padTop,
        padLeft,
      };
      const x = Float32Array.from({ length: channels * H * W }, () => r() * 2 - 1);
      const K = channels * Kh * Kw;
      const P = Ho * Wo;
      // Whole matrix, then an odd block of it (a partial first and last output row).
      for (const [k0, k1, p0, p1] of [
        [0, K, 0, P],
        [Math.min(2, K - 1), K, Math.min(3, P - 1), Math.max(Math.min(3, P - 1) + 1, P - 2)],
      ]) {
        const ld = p1 - p0 + 2;
        const xAt = 5;
        const at = xAt + x.length + 3;
        const view = wasmResident(at + (k1 - k0) * ld);
        view.fill(Number.NaN);
        view.set(x, xAt);
        wasmIm2col(g, xAt, channels, k0, k1, p0, p1, at, ld);
        const got = wasmResident(at + (k1 - k0) * ld);
        for (let k = k0; k < k1; k++) {
          const ci = Math.floor(k / (Kh * Kw));
          const m = Math.floor((k % (Kh * Kw)) / Kw);
          const q = k % Kw;
          for (let p = p0; p < p1; p++) {
            const h = Math.floor(p / Wo) * sh + m * dh - padTop;
            const w = (p % Wo) * sw + q * dw - padLeft;
            const want = h >= 0 && h < H && w >= 0 && w < W ? x[(ci * H + h) * W + w] : 0;
            expect(got[at + (k - k0) * ld + p - p0], `k ${k} p ${p}`).toBe(want);
          }
        }
        // col2im: scatter a random tile back onto the image and compare with a plain loop.
        const tile = Float32Array.from({ length: (k1 - k0) * ld }, () => r() * 2 - 1);
        const want = Float64Array.from(x);
        for (let k = k0; k < k1; k++) {
          const ci = Math.floor(k / (Kh * Kw));
          const m = Math.floor((k % (Kh * Kw)) / Kw);
          const q = k % Kw;
          for (let p = p0; p < p1; p++) {
            const h = Math.floor(p / Wo) * sh + m * dh - padTop;
            const w = (p % Wo) * sw + q * dw - padLeft;
            if (h >= 0 && h < H && w >= 0 && w < W) {
              want[(ci * H + h) * W + w] += tile[(k - k0) * ld + p - p0];
            }
          }
        }
        wasmResident(at + tile.length).set(tile, at);
        wasmCol2im(g, xAt, channels, k0, k1, p0, p1, at, ld);
        const back = wasmResident(at + tile.length).subarray(xAt, xAt + x.length);
        back.forEach((v, i) => {
          expect(Math.abs(v - want[i]), `x[${i}]`).toBeLessThanOrEqual(1e-5);
        });
      }
    },
  );

  it('refuses a tile or image outside the resident operand', () => {
    const g = {
      inHeight: 4,
      inWidth: 4,
      outWidth: 4,
      kernelHeight: 3,
      kernelWidth: 3,
      strideHeight: 1,
      strideWidth: 1,
      dilationHeight: 1,
      dilationWidth: 1,
      padTop: 1,
      padLeft: 1,
    };
    wasmResident(16 + 9 * 16 - 1);
    expect(() => wasmIm2col(g, 0, 1, 0, 9, 0, 16, 16, 16)).toThrow(/outside/);
    expect(() => wasmIm2col(g, 0, 2, 0, 9, 0, 16, 16, 8)).toThrow(/outside/);
  });
});
