import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type DigitsFile, gatherBatch, parseDigits } from '../src/data.js';

const file = JSON.parse(
  readFileSync(new URL('../data/digits.json', import.meta.url), 'utf8'),
) as DigitsFile;

describe('the committed digits', () => {
  const digits = parseDigits(file);

  it('holds the 1,797 images, split 1,437 / 360, every class in both parts', () => {
    expect(digits.train.count + digits.test.count).toBe(1797);
    expect(digits.test.count).toBe(360);
    for (const part of [digits.train, digits.test]) {
      expect(part.images).toHaveLength(part.count * 64);
      const counts = new Array(10).fill(0);
      for (const l of part.labels) counts[l]++;
      expect(Math.min(...counts)).toBeGreaterThan(part.count / 20);
    }
  });

  it('scales the 17 grey levels to [0, 1] exactly (k/16)', () => {
    const levels = new Set(digits.train.images);
    expect(levels.size).toBe(17);
    for (const v of levels) expect(v * 16).toBe(Math.round(v * 16));
    expect(Math.max(...levels)).toBe(1);
  });

  it('gathers a batch in the order asked', () => {
    const x = new Float32Array(2 * 64);
    const labels = new Uint8Array(2);
    gatherBatch(digits.test, [5, 0], x, labels);
    expect([...x.subarray(0, 64)]).toEqual([...digits.test.images.subarray(5 * 64, 6 * 64)]);
    expect([...labels]).toEqual([digits.test.labels[5], digits.test.labels[0]]);
  });

  it('refuses a file whose pixel count does not match', () => {
    const broken = { ...file, test: { ...file.test, count: file.test.count + 1 } };
    expect(() => parseDigits(broken)).toThrow(/digits test: .* expected/);
    expect(() => parseDigits({ ...file, format: 'other' as 'conv2d-digits/1' })).toThrow(/format/);
  });
});
