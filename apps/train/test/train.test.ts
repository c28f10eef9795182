import { readFileSync } from 'node:fs';
import { createNaiveBackend } from '@conv2d/backend-naive';
import { vegaLiteSvg } from '@conv2d/bench/vega-svg';
import { describe, expect, it } from 'vitest';
import { type DigitsFile, parseDigits } from '../src/data.js';
import { confusionMarkdown, curvesSpec } from '../src/report.js';
import { cosineRate, DEFAULT_CONFIG, train } from '../src/train.js';

const digits = parseDigits(
  JSON.parse(readFileSync(new URL('../data/digits.json', import.meta.url), 'utf8')) as DigitsFile,
);

describe('training', () => {
  it('learns the digits on the oracle: test accuracy past 0.9 after two epochs', async () => {
    const backend = createNaiveBackend();
    const epochs: number[] = [];
    const result = await train(
      backend,
      digits,
      { ...DEFAULT_CONFIG, epochs: 2 },
      { onEpoch: (s) => epochs.push(s.epoch) },
    );
    backend.dispose();
    expect(epochs).toEqual([1, 2]);
    const last = result.history[1];
    expect(last.testAccuracy).toBeGreaterThan(0.9);
    expect(last.loss).toBeLessThan(result.history[0].loss);
    expect(last.imagesPerSecond).toBeGreaterThan(0);
    // the confusion matrix counts every test image once, its diagonal the right ones
    const total = result.confusion.flat().reduce((a, b) => a + b, 0);
    const right = result.confusion.reduce((a, row, i) => a + row[i], 0);
    expect(total).toBe(digits.test.count);
    expect(right / total).toBe(last.testAccuracy);
  });

  it('stops when asked, evaluating the epoch so far', async () => {
    const backend = createNaiveBackend();
    let steps = 0;
    const result = await train(backend, digits, DEFAULT_CONFIG, {
      onStep: () => {
        steps++;
      },
      stopped: () => steps >= 3,
    });
    backend.dispose();
    expect(steps).toBe(3);
    expect(result.history).toHaveLength(1);
    expect(result.history[0].testAccuracy).toBeGreaterThan(0);
  });

  it('anneals the learning rate from lr towards 0 along a half cosine', () => {
    expect(cosineRate(0.1, 1, 10)).toBe(0.1);
    expect(cosineRate(0.1, 6, 10)).toBeCloseTo(0.05, 12);
    expect(cosineRate(0.1, 10, 10)).toBeGreaterThan(0);
    expect(cosineRate(0.1, 10, 10)).toBeLessThan(0.003);
  });
});

describe('the report', () => {
  const report = {
    backend: 'naive',
    config: DEFAULT_CONFIG,
    history: [1, 2].map((epoch) => ({
      epoch,
      loss: 1 / epoch,
      trainAccuracy: 0.5 + epoch / 10,
      testAccuracy: 0.4 + epoch / 10,
      imagesPerSecond: 100,
      seconds: 1,
    })),
    confusion: Array.from({ length: 10 }, (_, i) =>
      Array.from({ length: 10 }, (_, j) => (i === j ? 3 : 0)),
    ),
  };

  it('draws the loss and both accuracies per epoch as SVG', async () => {
    const svg = await vegaLiteSvg(curvesSpec(report));
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['train loss', 'train accuracy', 'test accuracy', 'epoch']) {
      expect(svg).toContain(text);
    }
  });

  it('writes the confusion matrix as a Markdown table', () => {
    const lines = confusionMarkdown(report.confusion).trim().split('\n');
    expect(lines).toHaveLength(12);
    expect(lines[2]).toBe('| **0** | 3 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |');
  });
});
