import type { ConvDescription } from '@conv2d/core';
import { fmt } from './render.js';
import { type Matrix, type Steps, tapOf } from './steps.js';

/*
 * Provenance: for every number the page draws, the numbers it is made of, as data. A cell's
 * value is the sum of its parts' terms, each term a product of cells of other arrays (the unit
 * tests check that sum against the value for every cell). `lit` adds the context a reader
 * should see lit (the window an X_hat row came from). The page renders this generically:
 * every drawn cell names its array and flat index, and pointing at it lights `lit`.
 */

/** The per-group matrices; on the page and in a CellRef they carry their group: `xHat.0`. */
export const HAT_NAMES = ['xHat', 'wHat', 'yHat', 'dyHat', 'dwHat', 'dxHat'] as const;
export type HatName = (typeof HAT_NAMES)[number];

/** The NCHW-like arrays (and b, db) of the steps. */
export const ARRAY_NAMES = [
  'x',
  'xPadded',
  'w',
  'b',
  'y',
  'dy',
  'db',
  'dw',
  'dxPadded',
  'dxCol2im',
  'upsampled',
  'paddedDy',
  'flipped',
  'dxTransposed',
] as const;
export type PlainName = (typeof ARRAY_NAMES)[number];
export type ArrayName = PlainName | `${HatName}.${number}`;

/** One drawn number: the array and its flat (row-major) index. */
export interface CellRef {
  readonly array: ArrayName;
  readonly index: number;
}

export interface Factor {
  readonly cell: CellRef;
  readonly value: number;
}

/** A product of factors (one factor: the value itself). */
export type Term = readonly Factor[];

/** One summand of a cell's formula, e.g. `b[1]` or `x̂[0,:]·ŵ[1,:]` with its 27 products. */
export interface Part {
  readonly label: string;
  readonly terms: readonly Term[];
}

export interface Provenance {
  readonly cell: CellRef;
  /** The cell in the page's notation, e.g. `y[0,1,0,0]`. */
  readonly name: string;
  readonly value: number;
  /** value = the sum over parts of the sum over terms of the product of factors. Empty: no sources. */
  readonly parts: readonly Part[];
  /** Every cell to light: the factors and their context. */
  readonly lit: readonly CellRef[];
  /** What the cell is when it needs words: an input, padding, an inserted zero. */
  readonly note?: string;
}

export interface ArrayView {
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

export function cellKey(c: CellRef): string {
  return `${c.array}:${c.index}`;
}

export function parseCellKey(key: string): CellRef {
  const at = key.lastIndexOf(':');
  return { array: key.slice(0, at) as ArrayName, index: Number(key.slice(at + 1)) };
}

function splitName(name: ArrayName): { base: PlainName | HatName; group: number } {
  const [base, group] = name.split('.');
  return { base: base as PlainName | HatName, group: Number(group ?? 0) };
}

function matrixView(m: Matrix): ArrayView {
  return { shape: [m.rows, m.cols], data: m.data };
}

/** The numbers of one named array of the steps. */
export function arrayOf(s: Steps, name: ArrayName): ArrayView {
  const { base, group } = splitName(name);
  const t = s.transposed;
  switch (base) {
    case 'b':
      return { shape: [s.b?.length ?? 0], data: s.b ?? [] };
    case 'db':
      return { shape: [s.db.length], data: s.db };
    case 'upsampled':
      return t.upsampled;
    case 'paddedDy':
      return t.padded;
    case 'flipped':
      return t.flipped;
    case 'dxTransposed':
      return t.dx;
    case 'x':
    case 'xPadded':
    case 'w':
    case 'y':
    case 'dy':
    case 'dw':
    case 'dxPadded':
    case 'dxCol2im':
      return s[base];
    default:
      return matrixView(s.groups[group][base]);
  }
}

/** Every array the steps hold, group matrices once per group. */
export function arrayNames(s: Steps): ArrayName[] {
  const plain = ARRAY_NAMES.filter((n) => n !== 'b' || s.b);
  return [...plain, ...s.groups.flatMap((g) => HAT_NAMES.map((h) => `${h}.${g.group}` as const))];
}

export function flatIndex(shape: readonly number[], at: readonly number[]): number {
  return at.reduce((acc, v, k) => acc * shape[k] + v, 0);
}

export function unflatIndex(shape: readonly number[], index: number): number[] {
  const at = new Array(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    at[k] = index % shape[k];
    index = Math.floor(index / shape[k]);
  }
  return at;
}

const SYMBOLS: Record<PlainName | HatName, string> = {
  x: 'x',
  xPadded: 'x_pad',
  w: 'w',
  b: 'b',
  y: 'y',
  dy: 'dy',
  db: 'db',
  dw: 'dw',
  dxPadded: 'dx_pad',
  dxCol2im: 'dx',
  upsampled: 'dy_up',
  paddedDy: 'dy_pad',
  flipped: 'w_rot',
  dxTransposed: 'dx',
  xHat: 'x̂',
  wHat: 'ŵ',
  yHat: 'ŷ',
  dyHat: 'dŷ',
  dwHat: 'dŵ',
  dxHat: 'dx̂',
};

/** An array's symbol, with its group when there are several: `x̂` or `x̂(g1)`. */
export function symbolOf(s: Steps, name: ArrayName): string {
  const { base, group } = splitName(name);
  const hat = (HAT_NAMES as readonly string[]).includes(base);
  return hat && s.desc.groups > 1 ? `${SYMBOLS[base]}(g${group})` : SYMBOLS[base];
}

/** `y[0,1,0,0]`; `:` for a whole axis. */
function nameAt(s: Steps, name: ArrayName, at: readonly (number | ':')[]): string {
  return `${symbolOf(s, name)}[${at.join(',')}]`;
}

export function cellName(s: Steps, c: CellRef): string {
  return nameAt(s, c.array, unflatIndex(arrayOf(s, c.array).shape, c.index));
}

// ---- building blocks -------------------------------------------------------------------

class Builder {
  constructor(readonly s: Steps) {}
  get d(): ConvDescription {
    return this.s.desc;
  }
  ref(array: ArrayName, ...at: number[]): CellRef {
    return { array, index: flatIndex(arrayOf(this.s, array).shape, at) };
  }
  factor(cell: CellRef): Factor {
    return { cell, value: arrayOf(this.s, cell.array).data[cell.index] };
  }
  /** A part that is one cell. */
  copy(cell: CellRef): Part {
    return { label: cellName(this.s, cell), terms: [[this.factor(cell)]] };
  }
  row(array: ArrayName, r: number): CellRef[] {
    const [, cols] = arrayOf(this.s, array).shape;
    return Array.from({ length: cols }, (_, c) => this.ref(array, r, c));
  }
  column(array: ArrayName, c: number): CellRef[] {
    const [rows] = arrayOf(this.s, array).shape;
    return Array.from({ length: rows }, (_, r) => this.ref(array, r, c));
  }
  /** Σ_k a[k]·b[k] as one part. */
  dot(label: string, a: CellRef[], b: CellRef[]): Part {
    return { label, terms: a.map((cell, k) => [this.factor(cell), this.factor(b[k])]) };
  }
  isPadding(h: number, w: number): boolean {
    const d = this.d;
    return (
      h < d.padTop || h >= d.padTop + d.inHeight || w < d.padLeft || w >= d.padLeft + d.inWidth
    );
  }
  /** The cells of `array` (padded-input shaped) that window `r` of group `g` covers, in X_hat column order. */
  window(array: ArrayName, g: number, r: number): CellRef[] {
    const d = this.d;
    const win = this.s.windows[r];
    return Array.from({ length: d.reductionLength }, (_, k) => {
      const { cig, m, q } = tapOf(d, k);
      return this.ref(
        array,
        win.n,
        g * d.inChannelsPerGroup + cig,
        win.top + m * d.dilationHeight,
        win.left + q * d.dilationWidth,
      );
    });
  }
  /** X_hat column k of group g as (channel, kernel row, kernel column). */
  kernelTap(g: number, k: number): { ci: number; cig: number; m: number; q: number } {
    const t = tapOf(this.d, k);
    return { ...t, ci: g * this.d.inChannelsPerGroup + t.cig };
  }
  /** The Y_hat column of output position (n, i, j). */
  windowOf(n: number, i: number, j: number): number {
    return (n * this.d.outHeight + i) * this.d.outWidth + j;
  }
  /** Y_hat entry (co within group g, window r): X_hat row · W_hat row, with the window lit. */
  output(g: number, cog: number, r: number): { part: Part; lit: CellRef[] } {
    const xRow = this.row(`xHat.${g}`, r);
    const wRow = this.row(`wHat.${g}`, cog);
    const label = `${nameAt(this.s, `xHat.${g}`, [r, ':'])}·${nameAt(this.s, `wHat.${g}`, [cog, ':'])}`;
    return {
      part: this.dot(label, xRow, wRow),
      lit: [...this.window('xPadded', g, r), ...xRow, ...wRow],
    };
  }
  /** dW_hat entry (cog, k): dY_hat row · X_hat column. */
  weightGradient(g: number, cog: number, k: number): { part: Part; lit: CellRef[] } {
    const dyRow = this.row(`dyHat.${g}`, cog);
    const xCol = this.column(`xHat.${g}`, k);
    const label = `${nameAt(this.s, `dyHat.${g}`, [cog, ':'])}·${nameAt(this.s, `xHat.${g}`, [':', k])}`;
    return { part: this.dot(label, dyRow, xCol), lit: [...dyRow, ...xCol] };
  }
  /** The dX_hat cells col2im adds onto padded cell (n, c, h, w): one per window covering it. */
  scattered(n: number, c: number, h: number, w: number): CellRef[] {
    const d = this.d;
    const g = Math.floor(c / d.inChannelsPerGroup);
    const cig = c - g * d.inChannelsPerGroup;
    const out: CellRef[] = [];
    this.s.windows.forEach((win, r) => {
      const dh = h - win.top;
      const dw = w - win.left;
      if (win.n !== n || dh < 0 || dw < 0) return;
      if (dh % d.dilationHeight !== 0 || dw % d.dilationWidth !== 0) return;
      const m = dh / d.dilationHeight;
      const q = dw / d.dilationWidth;
      if (m >= d.kernelHeight || q >= d.kernelWidth) return;
      out.push(this.ref(`dxHat.${g}`, r, (cig * d.kernelHeight + m) * d.kernelWidth + q));
    });
    return out;
  }
  col2imSum(cells: CellRef[]): Pick<Provenance, 'parts' | 'note'> {
    return cells.length > 0
      ? { parts: cells.map((c) => this.copy(c)) }
      : { parts: [], note: 'no window covers it: its gradient is 0' };
  }
}

// ---- provenance of each kind of cell -----------------------------------------------------

type Explained = Pick<Provenance, 'parts' | 'lit' | 'note'>;

function explainPlain(b: Builder, base: PlainName, at: number[]): Explained {
  const s = b.s;
  const d = b.d;
  switch (base) {
    case 'x':
      return { parts: [], lit: [], note: 'an input of the forward pass' };
    case 'w':
      return { parts: [], lit: [], note: 'a kernel weight (an input)' };
    case 'b':
      return { parts: [], lit: [], note: 'a bias (an input)' };
    case 'dy':
      return { parts: [], lit: [], note: 'the upstream gradient (an input of backward)' };
    case 'xPadded': {
      const [n, c, h, w] = at;
      if (b.isPadding(h, w)) return { parts: [], lit: [], note: 'padding: a zero of the border' };
      const x = b.ref('x', n, c, h - d.padTop, w - d.padLeft);
      return { parts: [b.copy(x)], lit: [x] };
    }
    case 'y': {
      const [n, co, i, j] = at;
      const g = Math.floor(co / d.outChannelsPerGroup);
      const cog = co - g * d.outChannelsPerGroup;
      const r = b.windowOf(n, i, j);
      const out = b.output(g, cog, r);
      const bias = s.b ? [b.ref('b', co)] : [];
      return {
        parts: [...bias.map((c) => b.copy(c)), out.part],
        lit: [...bias, b.ref(`yHat.${g}`, cog, r), ...out.lit],
      };
    }
    case 'db': {
      const [co] = at;
      const g = Math.floor(co / d.outChannelsPerGroup);
      const cells: CellRef[] = [];
      for (let n = 0; n < d.batch; n++)
        for (let i = 0; i < d.outHeight; i++)
          for (let j = 0; j < d.outWidth; j++) cells.push(b.ref('dy', n, co, i, j));
      return {
        parts: [
          {
            label: `Σ ${nameAt(s, 'dy', [':', co, ':', ':'])}`,
            terms: cells.map((c) => [b.factor(c)]),
          },
        ],
        lit: [...cells, ...b.row(`dyHat.${g}`, co - g * d.outChannelsPerGroup)],
      };
    }
    case 'dw': {
      const [co, cig, m, q] = at;
      const g = Math.floor(co / d.outChannelsPerGroup);
      const cog = co - g * d.outChannelsPerGroup;
      const k = (cig * d.kernelHeight + m) * d.kernelWidth + q;
      const grad = b.weightGradient(g, cog, k);
      return { parts: [grad.part], lit: [b.ref(`dwHat.${g}`, cog, k), ...grad.lit] };
    }
    case 'dxPadded': {
      const [n, c, h, w] = at;
      const cells = b.scattered(n, c, h, w);
      return { ...b.col2imSum(cells), lit: cells };
    }
    case 'dxCol2im': {
      const [n, c, h, w] = at;
      const cells = b.scattered(n, c, h + d.padTop, w + d.padLeft);
      return {
        ...b.col2imSum(cells),
        lit: [b.ref('dxPadded', n, c, h + d.padTop, w + d.padLeft), ...cells],
      };
    }
    case 'upsampled': {
      const [n, co, u, v] = at;
      if (u % d.strideHeight !== 0 || v % d.strideWidth !== 0)
        return { parts: [], lit: [], note: 'a zero inserted between dY elements (the stride)' };
      const dy = b.ref('dy', n, co, u / d.strideHeight, v / d.strideWidth);
      return { parts: [b.copy(dy)], lit: [dy] };
    }
    case 'paddedDy': {
      const [n, co, h, w] = at;
      const [top, , left] = s.transposed.border;
      const [, , uh, uw] = s.transposed.upsampled.shape;
      const u = h - top;
      const v = w - left;
      if (u < 0 || v < 0 || u >= uh || v >= uw)
        return {
          parts: [],
          lit: [],
          note: 'border padding: K_eff−1−P (plus what floor() dropped)',
        };
      const up = b.ref('upsampled', n, co, u, v);
      const inner = explainPlain(b, 'upsampled', [n, co, u, v]);
      return { ...inner, lit: [up, ...inner.lit] };
    }
    case 'flipped': {
      const [ci, cog, m, q] = at;
      const g = Math.floor(ci / d.inChannelsPerGroup);
      const w = b.ref(
        'w',
        g * d.outChannelsPerGroup + cog,
        ci - g * d.inChannelsPerGroup,
        d.kernelHeight - 1 - m,
        d.kernelWidth - 1 - q,
      );
      return { parts: [b.copy(w)], lit: [w] };
    }
    case 'dxTransposed': {
      const [n, ci, h, w] = at;
      const g = Math.floor(ci / d.inChannelsPerGroup);
      const coutG = d.outChannelsPerGroup;
      const window: CellRef[] = [];
      const kernel: CellRef[] = [];
      for (let cog = 0; cog < coutG; cog++)
        for (let m = 0; m < d.kernelHeight; m++)
          for (let q = 0; q < d.kernelWidth; q++) {
            window.push(
              b.ref(
                'paddedDy',
                n,
                g * coutG + cog,
                h + m * d.dilationHeight,
                w + q * d.dilationWidth,
              ),
            );
            kernel.push(b.ref('flipped', ci, cog, m, q));
          }
      const rows = `${h}–${h + d.effectiveKernelHeight - 1}`;
      const cols = `${w}–${w + d.effectiveKernelWidth - 1}`;
      const channels = coutG === d.outChannels ? ':' : `${g * coutG}–${(g + 1) * coutG - 1}`;
      const label = `${symbolOf(s, 'paddedDy')}[${n},${channels},${rows},${cols}]·${nameAt(s, 'flipped', [ci, ':', ':', ':'])}`;
      return { parts: [b.dot(label, window, kernel)], lit: [...window, ...kernel] };
    }
  }
}

function explainHat(b: Builder, base: HatName, g: number, r: number, c: number): Explained {
  const d = b.d;
  switch (base) {
    case 'xHat': {
      const [padded] = b.window('xPadded', g, r).slice(c, c + 1);
      const [, ch, h, w] = unflatIndex(arrayOf(b.s, 'xPadded').shape, padded.index);
      if (b.isPadding(h, w))
        return {
          parts: [b.copy(padded)],
          lit: [padded],
          note: `padding: ${cellName(b.s, padded)} is in the zero border`,
        };
      const x = b.ref('x', b.s.windows[r].n, ch, h - d.padTop, w - d.padLeft);
      return { parts: [b.copy(x)], lit: [padded, x] };
    }
    case 'wHat': {
      const { cig, m, q } = b.kernelTap(g, c);
      const w = b.ref('w', g * d.outChannelsPerGroup + r, cig, m, q);
      return { parts: [b.copy(w)], lit: [w] };
    }
    case 'yHat': {
      const out = b.output(g, r, c);
      return { parts: [out.part], lit: out.lit };
    }
    case 'dyHat': {
      const plane = d.outHeight * d.outWidth;
      const n = Math.floor(c / plane);
      const p = c % plane;
      const dy = b.ref(
        'dy',
        n,
        g * d.outChannelsPerGroup + r,
        Math.floor(p / d.outWidth),
        p % d.outWidth,
      );
      return { parts: [b.copy(dy)], lit: [dy] };
    }
    case 'dwHat': {
      const grad = b.weightGradient(g, r, c);
      return { parts: [grad.part], lit: grad.lit };
    }
    case 'dxHat': {
      const dyCol = b.column(`dyHat.${g}`, r);
      const wCol = b.column(`wHat.${g}`, c);
      const label = `${nameAt(b.s, `dyHat.${g}`, [':', r])}·${nameAt(b.s, `wHat.${g}`, [':', c])}`;
      return { parts: [b.dot(label, dyCol, wCol)], lit: [...dyCol, ...wCol] };
    }
  }
}

/** Where the number in `cell` comes from. */
export function provenance(s: Steps, cell: CellRef): Provenance {
  const b = new Builder(s);
  const view = arrayOf(s, cell.array);
  const at = unflatIndex(view.shape, cell.index);
  const { base, group } = splitName(cell.array);
  const explained = (HAT_NAMES as readonly string[]).includes(base)
    ? explainHat(b, base as HatName, group, at[0], at[1])
    : explainPlain(b, base as PlainName, at);
  return { cell, name: cellName(s, cell), value: view.data[cell.index], ...explained };
}

// ---- the written-out sum -----------------------------------------------------------------

function signed(v: number): string {
  return v < 0 ? `(${fmt(v)})` : fmt(v);
}

/** A part's numbers: `-3`, or `(2·1 + (-1)·3 + 16 zero products)` for a sum of products. */
function partNumbers(part: Part): string {
  if (part.terms.length === 1) return part.terms[0].map((f) => signed(f.value)).join('·');
  const nonzero = part.terms.filter((t) => t.every((f) => f.value !== 0));
  const zeros = part.terms.length - nonzero.length;
  const shown = nonzero.map((t) => t.map((f) => signed(f.value)).join('·'));
  if (zeros > 0) shown.push(`${zeros} zero ${part.terms[0].length > 1 ? 'products' : 'terms'}`);
  return `(${shown.join(' + ')})`;
}

/** `y[0,1,0,0] = b[1] + x̂[0,:]·ŵ[1,:] = -3 + (2·1 + …) = -9`, or the cell and its note. */
export function writtenOut(p: Provenance): string {
  const value = fmt(p.value);
  const note = p.note ? ` (${p.note})` : '';
  if (p.parts.length === 0) return `${p.name} = ${value}${note}`;
  const formula = p.parts.map((x) => x.label).join(' + ');
  const numbers = p.parts.map(partNumbers).join(' + ');
  const sides = [p.name, formula];
  const copy =
    p.parts.length === 1 && p.parts[0].terms.length === 1 && p.parts[0].terms[0].length === 1;
  if (!copy) sides.push(numbers);
  return `${[...sides, value].join(' = ')}${note}`;
}

/** Σ over parts and terms of the product of factors: what the value must equal. */
export function sumOfTerms(p: Provenance): number {
  let acc = 0;
  for (const part of p.parts)
    for (const term of part.terms) acc += term.reduce((prod, f) => prod * f.value, 1);
  return acc;
}

// ---- animation frames ---------------------------------------------------------------------

/** One frame of an animation, or one pointed-at cell: what to mark, what to light, the words. */
export interface Frame {
  readonly origin: readonly CellRef[];
  readonly lit: readonly CellRef[];
  readonly text: string;
}

export function frameOf(s: Steps, cell: CellRef): Frame {
  const p = provenance(s, cell);
  return { origin: [cell], lit: p.lit, text: writtenOut(p) };
}

/** An animation's frames, made when shown (a large example has thousands). */
export interface Frames {
  readonly length: number;
  at(k: number): Frame;
}

/** The cells of `arrays` one after the other (Y_hat of group 0, then of group 1, …). */
function framesOver(s: Steps, arrays: readonly ArrayName[]): Frames {
  const size = arrayOf(s, arrays[0]).data.length;
  return {
    length: size * arrays.length,
    at: (k) => frameOf(s, { array: arrays[Math.floor(k / size)], index: k % size }),
  };
}

/** Forward: the window slides over the padded input, one Y_hat entry (output) at a time. */
export function forwardFrames(s: Steps): Frames {
  return framesOver(
    s,
    s.groups.map((g) => `yHat.${g.group}` as const),
  );
}

/** col2im: one window at a time, its dX_hat row added onto the padded gradient. */
export function col2imFrames(s: Steps): Frames {
  const b = new Builder(s);
  const windows = s.windows.length;
  return {
    length: s.groups.length * windows,
    at: (k) => {
      const [group, r] = [Math.floor(k / windows), k % windows];
      const win = s.windows[r];
      const name: ArrayName = `dxHat.${group}`;
      const row = b.row(name, r);
      const values = row.map((c) => signed(b.factor(c).value)).join(', ');
      return {
        origin: row,
        lit: b.window('dxPadded', group, r),
        text: `window ${r} (n ${win.n}, output ${win.i},${win.j}): ${symbolOf(s, 'dxPadded')} at rows ${win.top}–${win.top + s.desc.effectiveKernelHeight - 1}, cols ${win.left}–${win.left + s.desc.effectiveKernelWidth - 1} += ${nameAt(s, name, [r, ':'])} = [${values}]`,
      };
    },
  };
}

/** Transposed convolution: the window slides over the upsampled, padded dY, one dX at a time. */
export function transposedFrames(s: Steps): Frames {
  return framesOver(s, ['dxTransposed']);
}
