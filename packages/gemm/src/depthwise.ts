import { depthwiseWasmBase64 } from './generated/depthwise-wasm.js';

/**
 * One stride-1 plane correlation: out[i, j] = sum over taps (m, q) of
 * w[m, q] * in[i + m*dilationHeight - padTop, j + q*dilationWidth - padLeft], reading zero
 * outside the input plane. Depthwise forward is this on X; dX is this on dY with the kernel
 * flipped (pads (K-1)*dilation - pad, which may be negative: a crop).
 */
export interface PlaneCorrelation {
  inHeight: number;
  inWidth: number;
  outHeight: number;
  outWidth: number;
  kernelHeight: number;
  kernelWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
}

/** Plane correlations of one group (`ins` input planes, `outs` output planes) on Wasm SIMD. */
export interface DepthwisePlanes {
  /**
   * For o < outs: the plane y[yAt + o*outHeight*outWidth...] = bias[biasAt + o] (0 when bias
   * is null) + the sum over i < ins of the correlation of the plane x[xAt + i*inHeight*inWidth...]
   * with the kernel w[wAt + (o*ins + i)*Kh*Kw...]. Planes are dense and row-major.
   */
  correlate(
    c: PlaneCorrelation,
    ins: number,
    outs: number,
    x: Float32Array,
    xAt: number,
    w: Float32Array,
    wAt: number,
    bias: Float32Array | null,
    biasAt: number,
    y: Float32Array,
    yAt: number,
  ): void;
  /**
   * The kernel gradient of `correlate`: for o < outs, i < ins and each tap t = m*Kw + q,
   * acc[accAt + (o*ins + i)*Kh*Kw + t] += sum over output positions (r, s) of
   * dy_o[r, s] * x_i[r + m*dilationHeight - padTop, s + q*dilationWidth - padLeft].
   * With `db`, also the bias gradient: db[dbAt + o] += the sum of dy_o (float64).
   */
  tapSums(
    c: PlaneCorrelation,
    ins: number,
    outs: number,
    x: Float32Array,
    xAt: number,
    dy: Float32Array,
    dyAt: number,
    acc: Float32Array,
    accAt: number,
    db?: Float64Array | null,
    dbAt?: number,
  ): void;
}

interface Exports {
  memory: WebAssembly.Memory;
  heapBase: () => number;
  window: (...args: number[]) => void;
  correlate: (...args: number[]) => void;
  tapSums: (...args: number[]) => void;
  planeSum: (src: number, count: number) => number;
}

// undefined: not tried yet; null: this runtime has no WebAssembly SIMD.
let planes: DepthwisePlanes | null | undefined;

/**
 * The Wasm SIMD depthwise planes, compiled on first use (synchronously: the module is ~2 KB),
 * or null where WebAssembly SIMD is unavailable (callers keep their own loops for that case).
 */
export function depthwisePlanes(): DepthwisePlanes | null {
  if (planes === undefined) planes = load();
  return planes;
}

function load(): DepthwisePlanes | null {
  try {
    const bytes = Uint8Array.from(atob(depthwiseWasmBase64), (ch) => ch.charCodeAt(0));
    // The module itself is the probe: it only validates where SIMD is supported.
    if (typeof WebAssembly !== 'object' || !WebAssembly.validate(bytes)) return null;
    const wasm = new WebAssembly.Instance(new WebAssembly.Module(bytes), {})
      .exports as unknown as Exports;
    return planesOn(wasm);
  } catch {
    return null;
  }
}

const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

function planesOn(wasm: Exports): DepthwisePlanes {
  const base = roundUp(wasm.heapBase(), 64) / 4;
  let view = new Float32Array(wasm.memory.buffer);

  /** Reserves `sizes` consecutive regions (floats, 64-byte aligned) and returns their offsets. */
  const reserve = (...sizes: number[]): number[] => {
    const at: number[] = [];
    let end = base;
    for (const size of sizes) {
      at.push(end);
      end += roundUp(size, 16);
    }
    const missing = end * 4 - wasm.memory.buffer.byteLength;
    if (missing > 0) wasm.memory.grow(Math.ceil(missing / 65536));
    if (view.buffer !== wasm.memory.buffer) view = new Float32Array(wasm.memory.buffer);
    return at;
  };

  /** The bordered copy of an input plane: rows, columns (a row's stride), and where it goes. */
  const border = (c: PlaneCorrelation) => {
    const cols4 = roundUp(c.outWidth, 4);
    return {
      cols4,
      rows: c.outHeight + (c.kernelHeight - 1) * c.dilationHeight,
      cols: cols4 + (c.kernelWidth - 1) * c.dilationWidth,
    };
  };

  /** Copies input plane i (staged at raw) into the bordered region at bordered. */
  const windowPlane = (
    c: PlaneCorrelation,
    raw: number,
    bordered: number,
    b: { rows: number; cols: number },
  ) => {
    const H = c.inHeight;
    const W = c.inWidth;
    wasm.window(raw * 4, H, W, W, bordered * 4, b.rows, b.cols, b.cols, c.padTop, c.padLeft);
  };

  return {
    correlate(c, ins, outs, x, xAt, w, wAt, bias, biasAt, y, yAt) {
      const { outHeight: Ho, outWidth: Wo } = c;
      const HW = c.inHeight * c.inWidth;
      const KK = c.kernelHeight * c.kernelWidth;
      const b = border(c);
      const outPlane = Ho * b.cols4;
      if (Ho * Wo === 0 || outs === 0) return;
      const [wIn, raw, bordered, out, dense] = reserve(
        outs * ins * KK,
        ins * HW,
        b.rows * b.cols,
        outs * outPlane,
        b.cols4 === Wo ? 0 : Ho * Wo,
      );
      view.set(w.subarray(wAt, wAt + outs * ins * KK), wIn);
      view.set(x.subarray(xAt, xAt + ins * HW), raw);
      for (let i = 0; i < ins; i++) {
        windowPlane(c, raw + i * HW, bordered, b);
        for (let o = 0; o < outs; o++) {
          wasm.correlate(
            bordered * 4,
            b.cols,
            (wIn + (o * ins + i) * KK) * 4,
            c.kernelHeight,
            c.kernelWidth,
            c.dilationHeight,
            c.dilationWidth,
            (out + o * outPlane) * 4,
            b.cols4,
            Ho,
            b.cols4,
            bias === null ? 0 : bias[biasAt + o],
            i > 0 ? 1 : 0,
          );
        }
      }
      for (let o = 0; o < outs; o++) {
        let from = out + o * outPlane;
        if (b.cols4 !== Wo) {
          // Drop the columns past Wo (rows were computed 4 at a time).
          wasm.window(from * 4, Ho, Wo, b.cols4, dense * 4, Ho, Wo, Wo, 0, 0);
          from = dense;
        }
        y.set(view.subarray(from, from + Ho * Wo), yAt + o * Ho * Wo);
      }
    },

    tapSums(c, ins, outs, x, xAt, dy, dyAt, acc, accAt, db = null, dbAt = 0) {
      const { outHeight: Ho, outWidth: Wo } = c;
      const HW = c.inHeight * c.inWidth;
      const KK = c.kernelHeight * c.kernelWidth;
      const b = border(c);
      if (Ho * Wo === 0 || outs === 0 || ins === 0) return;
      // dY rows are read 4 columns at a time, up to 3 floats past the last one (masked off).
      const [dyIn, raw, bordered, scratch, sums] = reserve(
        outs * Ho * Wo + 4,
        HW,
        b.rows * b.cols,
        KK * 4,
        KK,
      );
      view.set(dy.subarray(dyAt, dyAt + outs * Ho * Wo), dyIn);
      if (db) {
        for (let o = 0; o < outs; o++)
          db[dbAt + o] += wasm.planeSum((dyIn + o * Ho * Wo) * 4, Ho * Wo);
      }
      for (let i = 0; i < ins; i++) {
        view.set(x.subarray(xAt + i * HW, xAt + (i + 1) * HW), raw);
        windowPlane(c, raw, bordered, b);
        for (let o = 0; o < outs; o++) {
          wasm.tapSums(
            (dyIn + o * Ho * Wo) * 4,
            Wo,
            bordered * 4,
            b.cols,
            c.kernelHeight,
            c.kernelWidth,
            c.dilationHeight,
            c.dilationWidth,
            Ho,
            Wo,
            scratch * 4,
            sums * 4,
          );
          const to = accAt + (o * ins + i) * KK;
          for (let t = 0; t < KK; t++) acc[to + t] += view[sums + t];
        }
      }
    },
  };
}
