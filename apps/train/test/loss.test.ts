import { seededRandom } from '@conv2d/conformance/runner';
import { describe, expect, it } from 'vitest';
import { argmaxRows, reluBackwardInPlace, reluInPlace, softmaxCrossEntropy } from '../src/loss.js';

describe('softmax cross-entropy', () => {
  it('is log(classes) for equal logits, with gradient (1/C - onehot)/batch', () => {
    const grad = new Float32Array(2 * 4);
    const loss = softmaxCrossEntropy(new Float32Array(8), Uint8Array.of(1, 3), 4, grad);
    expect(loss).toBeCloseTo(Math.log(4), 12);
    expect([...grad]).toEqual([0.125, -0.375, 0.125, 0.125, 0.125, 0.125, 0.125, -0.375]);
  });

  it('has the gradient of its finite differences', () => {
    const random = seededRandom(3);
    const logits = Float32Array.from({ length: 3 * 5 }, () => random() * 8 - 4);
    const labels = Uint8Array.of(4, 0, 2);
    const grad = new Float32Array(logits.length);
    softmaxCrossEntropy(logits, labels, 5, grad);
    const scratch = new Float32Array(logits.length);
    const h = 2 ** -8; // exact in float32; central differences: error O(h^2)
    for (let i = 0; i < logits.length; i++) {
      const at = (delta: number) => {
        const l = logits.slice();
        l[i] += delta;
        return softmaxCrossEntropy(l, labels, 5, scratch);
      };
      expect(grad[i]).toBeCloseTo((at(h) - at(-h)) / (2 * h), 4);
    }
  });

  it('stays finite for large logits (max subtracted)', () => {
    const grad = new Float32Array(2);
    const loss = softmaxCrossEntropy(Float32Array.of(1000, -1000), Uint8Array.of(1), 2, grad);
    expect(loss).toBe(2000);
    expect([...grad]).toEqual([1, -1]);
  });
});

describe('ReLU and argmax', () => {
  it('zeroes the non-positive values and their gradients', () => {
    const a = Float32Array.of(-1, 0, 2, Number.NaN);
    reluInPlace(a);
    expect([...a]).toEqual([0, 0, 2, 0]);
    const g = Float32Array.of(5, 6, 7, 8);
    reluBackwardInPlace(g, a);
    expect([...g]).toEqual([0, 0, 7, 0]);
  });

  it('picks the first largest logit per row', () => {
    const out = new Uint8Array(2);
    argmaxRows(Float32Array.of(0, 3, 3, 9, 1, 2), 3, out);
    expect([...out]).toEqual([1, 0]);
  });
});
