import { type Conv2dOptions, type ConvDescription, describeConv } from '@conv2d/core';

/*
 * The worked example as plain matrices: every intermediate of forward and backward that the
 * page draws, computed the textbook way (im2col, one matrix product per group, col2im, the
 * transposed convolution). Numbers are float64 JavaScript arrays, NCHW, so the page can show
 * them as they are; the final y, dw, db and both dx equal the naive backend's (the unit tests
 * check that). Shape math and validation come from core's describeConv.
 */

/** A row-major matrix (rows x cols). */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: number[];
}

/** A 4-D NCHW array. */
export interface Array4 {
  readonly shape: readonly [number, number, number, number];
  readonly data: number[];
}

/** Which input window an im2col row came from: batch n, output position (i, j). */
export interface Window {
  readonly n: number;
  readonly i: number;
  readonly j: number;
  /** Top-left corner of the window in the padded input. */
  readonly top: number;
  readonly left: number;
}

/** One group's matrices (groups = 1: the only one). */
export interface GroupSteps {
  readonly group: number;
  /** im2col of the padded input: one row per window, one column per (channel, kernel tap). */
  readonly xHat: Matrix;
  /** The group's kernels, one per row, flattened the same way. */
  readonly wHat: Matrix;
  /** W_hat · X_hatᵀ: one row per output channel, one column per window. */
  readonly yHat: Matrix;
  /** dY reshaped like Y_hat. */
  readonly dyHat: Matrix;
  /** dY_hat · X_hat: the weight gradient, one row per output channel. */
  readonly dwHat: Matrix;
  /** dY_hatᵀ · W_hat: each window's gradient with respect to its im2col row. */
  readonly dxHat: Matrix;
}

export interface TransposedSteps {
  /** dY with (S-1) zeros inserted between elements. */
  readonly upsampled: Array4;
  /** Border padding added on each side: K_eff-1-P (plus the rows floor() dropped); < 0 crops. */
  readonly border: readonly [number, number, number, number];
  /** The upsampled dY after the border padding. */
  readonly padded: Array4;
  /** W rotated by 180°, in and out channels swapped: [Cin, Cout/groups, Kh, Kw]. */
  readonly flipped: Array4;
  /** Stride-1 convolution of `padded` with `flipped` (dilated like the forward kernel). */
  readonly dx: Array4;
}

export interface Steps {
  readonly desc: ConvDescription;
  readonly x: Array4;
  readonly w: Array4;
  readonly b: number[] | null;
  readonly dy: Array4;
  /** x with its zero border: [N, C, H + top + bottom, W + left + right]. */
  readonly xPadded: Array4;
  /** Row r of every X_hat came from windows[r]. */
  readonly windows: readonly Window[];
  readonly groups: readonly GroupSteps[];
  /** Y_hat plus bias, reshaped to [N, Cout, Hout, Wout]. */
  readonly y: Array4;
  readonly db: number[];
  readonly dw: Array4;
  /** col2im: dX_hat rows scatter-added into the padded shape; `coverage` counts the adds. */
  readonly dxPadded: Array4;
  readonly coverage: Array4;
  /** col2im result: dxPadded without its border. */
  readonly dxCol2im: Array4;
  readonly transposed: TransposedSteps;
}

/** Inputs of the example, flat NCHW (x, dy) and OIHW (w). */
export interface ExampleInput {
  readonly x: { shape: number[]; data: ArrayLike<number> };
  readonly w: { shape: number[]; data: ArrayLike<number> };
  readonly b: { shape: number[]; data: ArrayLike<number> } | null;
  readonly dy: { shape: number[]; data: ArrayLike<number> };
  readonly options: Omit<Conv2dOptions, 'layout'>;
}

function zeros(shape: readonly [number, number, number, number]): Array4 {
  return { shape, data: new Array(shape[0] * shape[1] * shape[2] * shape[3]).fill(0) };
}

function index4(a: Array4, n: number, c: number, h: number, w: number): number {
  const [, cs, hs, ws] = a.shape;
  return ((n * cs + c) * hs + h) * ws + w;
}

/** a (r x k) times b (k x c). */
export function matmul(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new Error(`matmul: ${a.cols} columns times ${b.rows} rows`);
  const data = new Array(a.rows * b.cols).fill(0);
  for (let r = 0; r < a.rows; r++)
    for (let k = 0; k < a.cols; k++) {
      const v = a.data[r * a.cols + k];
      for (let c = 0; c < b.cols; c++) data[r * b.cols + c] += v * b.data[k * b.cols + c];
    }
  return { rows: a.rows, cols: b.cols, data };
}

export function transpose(a: Matrix): Matrix {
  const data = new Array(a.rows * a.cols);
  for (let r = 0; r < a.rows; r++)
    for (let c = 0; c < a.cols; c++) data[c * a.rows + r] = a.data[r * a.cols + c];
  return { rows: a.cols, cols: a.rows, data };
}

/** Step 1: the zero border. */
export function padInput(d: ConvDescription, x: Array4): Array4 {
  const hp = d.inHeight + d.padTop + d.padBottom;
  const wp = d.inWidth + d.padLeft + d.padRight;
  const out = zeros([d.batch, d.inChannels, hp, wp]);
  for (let n = 0; n < d.batch; n++)
    for (let c = 0; c < d.inChannels; c++)
      for (let h = 0; h < d.inHeight; h++)
        for (let w = 0; w < d.inWidth; w++)
          out.data[index4(out, n, c, h + d.padTop, w + d.padLeft)] = x.data[index4(x, n, c, h, w)];
  return out;
}

/** The window of every output position, in X_hat row order (n, i, j). */
export function windowsOf(d: ConvDescription): Window[] {
  const windows: Window[] = [];
  for (let n = 0; n < d.batch; n++)
    for (let i = 0; i < d.outHeight; i++)
      for (let j = 0; j < d.outWidth; j++)
        windows.push({ n, i, j, top: i * d.strideHeight, left: j * d.strideWidth });
  return windows;
}

/** Column k of X_hat / W_hat is kernel tap (cig, m, q): k = (cig*Kh + m)*Kw + q. */
export function tapOf(d: ConvDescription, k: number): { cig: number; m: number; q: number } {
  const q = k % d.kernelWidth;
  const m = Math.floor(k / d.kernelWidth) % d.kernelHeight;
  const cig = Math.floor(k / (d.kernelWidth * d.kernelHeight));
  return { cig, m, q };
}

/** Step 2: im2col of one group. Row r is window r stretched out; taps skip by the dilation. */
export function im2col(d: ConvDescription, xPadded: Array4, group: number): Matrix {
  const windows = windowsOf(d);
  const cols = d.reductionLength;
  const data = new Array(windows.length * cols);
  windows.forEach((win, r) => {
    for (let k = 0; k < cols; k++) {
      const { cig, m, q } = tapOf(d, k);
      const c = group * d.inChannelsPerGroup + cig;
      const h = win.top + m * d.dilationHeight;
      const w = win.left + q * d.dilationWidth;
      data[r * cols + k] = xPadded.data[index4(xPadded, win.n, c, h, w)];
    }
  });
  return { rows: windows.length, cols, data };
}

/** Step 3: one group's kernels as rows (OIHW is already in that order). */
export function weightMatrix(d: ConvDescription, w: Array4, group: number): Matrix {
  const rows = d.outChannelsPerGroup;
  const start = group * rows * d.reductionLength;
  return {
    rows,
    cols: d.reductionLength,
    data: w.data.slice(start, start + rows * d.reductionLength),
  };
}

/** [N, C, H, W] -> one group's [C/groups, N*H*W] (the layout of Y_hat). */
function toHat(a: Array4, group: number, channels: number): Matrix {
  const [n, , h, w] = a.shape;
  const cols = n * h * w;
  const data = new Array(channels * cols);
  for (let c = 0; c < channels; c++)
    for (let b = 0; b < n; b++)
      for (let p = 0; p < h * w; p++)
        data[c * cols + b * h * w + p] = a.data[index4(a, b, group * channels + c, 0, 0) + p];
  return { rows: channels, cols, data };
}

/** Inverse of toHat, writing one group into `out`. */
function fromHat(m: Matrix, out: Array4, group: number): void {
  const [n, , h, w] = out.shape;
  for (let c = 0; c < m.rows; c++)
    for (let b = 0; b < n; b++)
      for (let p = 0; p < h * w; p++)
        out.data[index4(out, b, group * m.rows + c, 0, 0) + p] = m.data[c * m.cols + b * h * w + p];
}

/** col2im: scatter-add each dX_hat row back onto its window; overlapping windows sum. */
export function col2im(
  d: ConvDescription,
  dxHat: Matrix,
  group: number,
  dxPadded: Array4,
  coverage: Array4,
): void {
  windowsOf(d).forEach((win, r) => {
    for (let k = 0; k < dxHat.cols; k++) {
      const { cig, m, q } = tapOf(d, k);
      const at = index4(
        dxPadded,
        win.n,
        group * d.inChannelsPerGroup + cig,
        win.top + m * d.dilationHeight,
        win.left + q * d.dilationWidth,
      );
      dxPadded.data[at] += dxHat.data[r * dxHat.cols + k];
      coverage.data[at] += 1;
    }
  });
}

/** Removes the padding border again. */
export function stripPadding(d: ConvDescription, padded: Array4): Array4 {
  const out = zeros([d.batch, d.inChannels, d.inHeight, d.inWidth]);
  for (let n = 0; n < d.batch; n++)
    for (let c = 0; c < d.inChannels; c++)
      for (let h = 0; h < d.inHeight; h++)
        for (let w = 0; w < d.inWidth; w++)
          out.data[index4(out, n, c, h, w)] =
            padded.data[index4(padded, n, c, h + d.padTop, w + d.padLeft)];
  return out;
}

/**
 * dX as a transposed convolution: upsample dY by inserting S-1 zeros, pad by K_eff-1-P (the
 * bottom/right also get the rows/columns floor() dropped in the forward size), then convolve
 * with stride 1 with the kernel rotated 180° and its channels swapped.
 */
export function transposedInputGradient(
  d: ConvDescription,
  dy: Array4,
  w: Array4,
): TransposedSteps {
  const [n, cout, ho, wo] = dy.shape;
  const upsampled = zeros([n, cout, (ho - 1) * d.strideHeight + 1, (wo - 1) * d.strideWidth + 1]);
  for (let b = 0; b < n; b++)
    for (let c = 0; c < cout; c++)
      for (let i = 0; i < ho; i++)
        for (let j = 0; j < wo; j++)
          upsampled.data[index4(upsampled, b, c, i * d.strideHeight, j * d.strideWidth)] =
            dy.data[index4(dy, b, c, i, j)];

  const extraH = (d.inHeight + d.padTop + d.padBottom - d.effectiveKernelHeight) % d.strideHeight;
  const extraW = (d.inWidth + d.padLeft + d.padRight - d.effectiveKernelWidth) % d.strideWidth;
  const border: [number, number, number, number] = [
    d.effectiveKernelHeight - 1 - d.padTop,
    d.effectiveKernelHeight - 1 - d.padBottom + extraH,
    d.effectiveKernelWidth - 1 - d.padLeft,
    d.effectiveKernelWidth - 1 - d.padRight + extraW,
  ];
  const [uh, uw] = [upsampled.shape[2], upsampled.shape[3]];
  const padded = zeros([n, cout, uh + border[0] + border[1], uw + border[2] + border[3]]);
  // A negative border (padding larger than K_eff-1) crops instead of padding.
  for (let b = 0; b < n; b++)
    for (let c = 0; c < cout; c++)
      for (let h = 0; h < padded.shape[2]; h++)
        for (let x = 0; x < padded.shape[3]; x++) {
          const uy = h - border[0];
          const ux = x - border[2];
          if (uy >= 0 && uy < uh && ux >= 0 && ux < uw)
            padded.data[index4(padded, b, c, h, x)] =
              upsampled.data[index4(upsampled, b, c, uy, ux)];
        }

  const [kh, kw, coutG, cinG] = [
    d.kernelHeight,
    d.kernelWidth,
    d.outChannelsPerGroup,
    d.inChannelsPerGroup,
  ];
  const flipped = zeros([d.inChannels, coutG, kh, kw]);
  for (let co = 0; co < d.outChannels; co++) {
    const group = Math.floor(co / coutG);
    for (let cig = 0; cig < cinG; cig++)
      for (let m = 0; m < kh; m++)
        for (let q = 0; q < kw; q++)
          flipped.data[
            index4(flipped, group * cinG + cig, co - group * coutG, kh - 1 - m, kw - 1 - q)
          ] = w.data[index4(w, co, cig, m, q)];
  }

  const dx = zeros([n, d.inChannels, d.inHeight, d.inWidth]);
  for (let b = 0; b < n; b++)
    for (let ci = 0; ci < d.inChannels; ci++) {
      const group = Math.floor(ci / cinG);
      for (let h = 0; h < d.inHeight; h++)
        for (let x = 0; x < d.inWidth; x++) {
          let acc = 0;
          for (let cog = 0; cog < coutG; cog++)
            for (let m = 0; m < kh; m++)
              for (let q = 0; q < kw; q++)
                acc +=
                  padded.data[
                    index4(
                      padded,
                      b,
                      group * coutG + cog,
                      h + m * d.dilationHeight,
                      x + q * d.dilationWidth,
                    )
                  ] * flipped.data[index4(flipped, ci, cog, m, q)];
          dx.data[index4(dx, b, ci, h, x)] = acc;
        }
    }
  return { upsampled, border, padded, flipped, dx };
}

function array4(t: { shape: number[]; data: ArrayLike<number> }): Array4 {
  return { shape: t.shape as unknown as Array4['shape'], data: Array.from(t.data) };
}

/** Every step of forward and backward for one example (NCHW). */
export function computeSteps(input: ExampleInput): Steps {
  const d = describeConv(input.x.shape, input.w.shape, input.b?.shape ?? null, {
    ...input.options,
    layout: 'NCHW',
  });
  const x = array4(input.x);
  const w = array4(input.w);
  const dy = array4(input.dy);
  const b = input.b ? Array.from(input.b.data) : null;
  const xPadded = padInput(d, x);
  const y = zeros(d.yShape);
  const dw = zeros(d.wShape);
  const dxPadded = zeros(xPadded.shape);
  const coverage = zeros(xPadded.shape);
  const groups: GroupSteps[] = [];
  for (let g = 0; g < d.groups; g++) {
    const xHat = im2col(d, xPadded, g);
    const wHat = weightMatrix(d, w, g);
    const yHat = matmul(wHat, transpose(xHat));
    const dyHat = toHat(dy, g, d.outChannelsPerGroup);
    const dwHat = matmul(dyHat, xHat);
    const dxHat = matmul(transpose(dyHat), wHat);
    fromHat(yHat, y, g);
    dwHat.data.forEach((v, k) => {
      dw.data[g * dwHat.data.length + k] = v;
    });
    col2im(d, dxHat, g, dxPadded, coverage);
    groups.push({ group: g, xHat, wHat, yHat, dyHat, dwHat, dxHat });
  }
  if (b) {
    const plane = d.outHeight * d.outWidth;
    for (let n = 0; n < d.batch; n++)
      for (let co = 0; co < d.outChannels; co++)
        for (let p = 0; p < plane; p++) y.data[index4(y, n, co, 0, 0) + p] += b[co];
  }
  const db = groups.flatMap((s) =>
    Array.from({ length: s.dyHat.rows }, (_, r) =>
      s.dyHat.data.slice(r * s.dyHat.cols, (r + 1) * s.dyHat.cols).reduce((a, v) => a + v, 0),
    ),
  );
  return {
    desc: d,
    x,
    w,
    b,
    dy,
    xPadded,
    windows: windowsOf(d),
    groups,
    y,
    db,
    dw,
    dxPadded,
    coverage,
    dxCol2im: stripPadding(d, dxPadded),
    transposed: transposedInputGradient(d, dy, w),
  };
}
