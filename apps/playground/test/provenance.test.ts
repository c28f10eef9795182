import seed from '@conv2d/conformance/fixtures/seed-example.json';
import { describe, expect, it } from 'vitest';
import { type ExampleConfig, SEED_CONFIG } from '../src/example.js';
import {
  type ArrayName,
  arrayNames,
  arrayOf,
  type CellRef,
  cellKey,
  col2imFrames,
  flatIndex,
  forwardFrames,
  parseCellKey,
  provenance,
  sumOfTerms,
  transposedFrames,
  writtenOut,
} from '../src/provenance.js';
import { STRIDED_CONFIG, stepsFor } from './cases.js';
import { evaluateWrittenOut } from './written-sum.js';

const INPUTS: readonly string[] = ['x', 'w', 'b', 'dy'];

const CASES: [string, ExampleConfig][] = [
  ['the seed example', SEED_CONFIG],
  ['strided, dilated, padded', STRIDED_CONFIG],
  [
    'groups 2, batch 2, no bias',
    { ...SEED_CONFIG, batch: 2, inChannels: 4, outChannels: 4, groups: 2, bias: false },
  ],
  [
    'padding larger than the kernel (the transposed border crops)',
    { ...SEED_CONFIG, height: 4, width: 4, kernelHeight: 2, kernelWidth: 2, padding: [3, 1, 2, 3] },
  ],
];

describe.each(CASES)('provenance of every cell: %s', (_name, config) => {
  const s = stepsFor(config);
  const cells: CellRef[] = arrayNames(s).flatMap((array) =>
    arrayOf(s, array).data.map((_, index) => ({ array, index })),
  );

  it('the terms of every cell sum to its value (integers: exactly)', () => {
    expect(cells.length).toBeGreaterThan(200);
    for (const cell of cells) {
      const p = provenance(s, cell);
      if (INPUTS.includes(cell.array)) {
        expect(p.parts, cellKey(cell)).toEqual([]);
        continue;
      }
      // No sources only where the value is a zero the method adds (padding, inserted, uncovered).
      if (p.parts.length === 0) {
        expect([cellKey(cell), p.value, p.note]).toEqual([cellKey(cell), 0, expect.any(String)]);
        continue;
      }
      expect([cellKey(cell), sumOfTerms(p)]).toEqual([cellKey(cell), p.value]);
      // The text says the same: its numbers add up to the value it states.
      const text = evaluateWrittenOut(writtenOut(p));
      expect([cellKey(cell), text.sum, text.value]).toEqual([cellKey(cell), p.value, p.value]);
    }
  });

  it('every factor names the cell holding its number, and every lit cell exists', () => {
    for (const cell of cells) {
      const p = provenance(s, cell);
      for (const term of p.parts.flatMap((part) => part.terms))
        for (const f of term) expect(arrayOf(s, f.cell.array).data[f.cell.index]).toBe(f.value);
      for (const lit of p.lit) {
        expect(lit.index).toBeLessThan(arrayOf(s, lit.array).data.length);
        expect(lit.index).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('col2im: a dX cell is the sum of the dX_hat cells scattered onto it, as many as cover it', () => {
    const d = s.desc;
    const [, , hp, wp] = s.xPadded.shape;
    s.dxCol2im.data.forEach((value, index) => {
      const p = provenance(s, { array: 'dxCol2im', index });
      const [n, c, h, w] = [
        Math.floor(index / (d.inChannels * d.inHeight * d.inWidth)),
        Math.floor(index / (d.inHeight * d.inWidth)) % d.inChannels,
        Math.floor(index / d.inWidth) % d.inHeight,
        index % d.inWidth,
      ];
      const padded = ((n * d.inChannels + c) * hp + h + d.padTop) * wp + w + d.padLeft;
      const scattered = p.lit.filter((l) => l.array.startsWith('dxHat'));
      expect(scattered).toHaveLength(s.coverage.data[padded]);
      expect(sumOfTerms(p)).toBe(value);
      // The transposed convolution's window over the padded dY sums to the same number.
      expect(sumOfTerms(provenance(s, { array: 'dxTransposed', index }))).toBe(value);
    });
  });

  it('a y cell lights the window of the formula in the padded input, its X_hat row and W_hat row', () => {
    const d = s.desc;
    const [, , hp, wp] = s.xPadded.shape;
    const [, cout, ho, wo] = s.y.shape;
    for (const [n, co, i, j] of [
      [0, 0, 0, 0],
      [0, cout - 1, ho - 1, wo - 1],
    ]) {
      const p = provenance(s, { array: 'y', index: ((n * cout + co) * ho + i) * wo + j });
      const g = Math.floor(co / d.outChannelsPerGroup);
      const want: number[] = [];
      for (let cig = 0; cig < d.inChannelsPerGroup; cig++)
        for (let m = 0; m < d.kernelHeight; m++)
          for (let q = 0; q < d.kernelWidth; q++) {
            const h = i * d.strideHeight + m * d.dilationHeight;
            const w = j * d.strideWidth + q * d.dilationWidth;
            want.push(((n * d.inChannels + g * d.inChannelsPerGroup + cig) * hp + h) * wp + w);
          }
      const lit = (prefix: string) => p.lit.filter((l) => l.array.startsWith(prefix));
      expect(lit('xPadded').map((l) => l.index)).toEqual(want);
      expect(lit('xHat')).toHaveLength(d.reductionLength);
      expect(lit('wHat')).toHaveLength(d.reductionLength);
      expect(lit('b')).toHaveLength(s.b ? 1 : 0);
    }
  });

  it('animation frames: one per output, one per window, one per dX', () => {
    const d = s.desc;
    const windows = d.batch * d.outHeight * d.outWidth;
    expect(forwardFrames(s)).toHaveLength(d.outChannels * windows);
    const scatter = col2imFrames(s);
    expect(scatter).toHaveLength(d.groups * windows);
    for (const f of Array.from({ length: scatter.length }, (_, k) => scatter.at(k))) {
      expect(f.origin).toHaveLength(d.reductionLength);
      expect(f.lit.every((l) => l.array === 'dxPadded')).toBe(true);
    }
    expect(transposedFrames(s)).toHaveLength(s.dxCol2im.data.length);
  });
});

describe('the seed example, written out', () => {
  const s = stepsFor(SEED_CONFIG);
  const at = (array: ArrayName, ...index: number[]) =>
    provenance(s, { array, index: flatIndex(arrayOf(s, array).shape, index) });

  it('y[0,1,0,0] = b[1] + x̂[0,:]·ŵ[1,:], the fixture value', () => {
    const text = writtenOut(at('y', 0, 1, 0, 0));
    expect(seed.y.data[4]).toBe(-9);
    expect(text).toMatch(/^y\[0,1,0,0\] = b\[1\] \+ x̂\[0,:\]·ŵ\[1,:\] = \(-3\) \+ \(.*\) = -9$/);
    // The numbers written out add up: the bias, then the 27 products (zero ones counted).
    const { products, sum, value } = evaluateWrittenOut(text);
    expect(value).toBe(-9);
    expect(sum).toBe(-9);
    const zeros = Number(/(\d+) zero products/.exec(text)?.[1]);
    expect(products.length - 1 + zeros).toBe(27);
  });

  it('an X_hat cell copies an input element or says it is padding', () => {
    expect(writtenOut(at('xHat.0', 0, 0))).toBe(
      'x̂[0,0] = x_pad[0,0,0,0] = 0 (padding: x_pad[0,0,0,0] is in the zero border)',
    );
    // Row 3 is the window at (2, 2): its first tap is x_pad[0,0,2,2] = x[0,0,1,1].
    const p = at('xHat.0', 3, 0);
    expect(writtenOut(p)).toBe(`x̂[3,0] = x[0,0,1,1] = ${seed.x.data[4]}`);
    expect(p.lit.map(cellKey)).toEqual(['xPadded:12', 'x:4']);
  });

  it('a dW cell is the dŶ row times the X̂ column', () => {
    const p = at('dw', 1, 2, 0, 1);
    expect(p.parts[0].label).toBe('dŷ[1,:]·x̂[:,19]');
    expect(sumOfTerms(p)).toBe(seed.dw.data[27 + 18 + 1]);
  });

  it('col2im sums the four windows overlapping the centre; the transposed convolution the same', () => {
    const p = at('dxCol2im', 0, 0, 1, 1);
    expect(p.parts.map((x) => x.label)).toEqual(['dx̂[0,8]', 'dx̂[1,6]', 'dx̂[2,2]', 'dx̂[3,0]']);
    expect(p.value).toBe(seed.dx.data[4]);
    const t = at('dxTransposed', 0, 0, 1, 1);
    expect(t.parts[0].label).toBe('dy_pad[0,:,1–3,1–3]·w_rot[0,:,:,:]');
    expect(writtenOut(t)).toMatch(new RegExp(` = ${seed.dx.data[4]}$`));
  });

  it('cell keys round-trip', () => {
    expect(parseCellKey(cellKey({ array: 'dxHat.1', index: 12 }))).toEqual({
      array: 'dxHat.1',
      index: 12,
    });
  });
});
