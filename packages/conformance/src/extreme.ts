import type { Conv2dBackend, Conv2dOptions, Layout, Tensor } from '@conv2d/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extremeConv } from './cases.js';
import {
  type ConvInputs,
  checkAgainstOracle,
  comparePasses,
  makeInputs,
  type PassResults,
  runPasses,
} from './checks.js';
import { randomTensor, seededRandom } from './random.js';
import { CONFORMANCE_APIS, type ConformanceApi } from './run-fixture.js';
import { errorBounds } from './tolerance.js';

/*
 * Issue 12: core accepts any safe integer for stride, padding and dilation, so every engine
 * must compute them (or reject them with a typed error before running), whatever its index
 * arithmetic. The closed forms below check the oracle itself; the property holds every other
 * engine to the oracle on strides, dilations and paddings up to 2^53-1.
 */

export interface ExtremeOptions {
  /** The backend under test (created by the suite before the tests run). */
  backend: () => Conv2dBackend;
  /** The oracle skips the comparison with itself. */
  isOracle: boolean;
  runs: number;
  timeout: number;
}

function inputs(
  xShape: number[],
  wShape: number[],
  bias: boolean,
  yShape: number[],
  options: Conv2dOptions,
): ConvInputs {
  const random = seededRandom(xShape.concat(wShape).reduce((a, v) => a * 31 + v, 12));
  return {
    x: randomTensor(xShape, random),
    w: randomTensor(wShape, random),
    b: bias ? randomTensor([wShape[0]], random) : null,
    dy: randomTensor(yShape, random),
    options,
  };
}

const tensor = (shape: readonly number[], values: ArrayLike<number>): Tensor => ({
  shape: [...shape],
  data: Float32Array.from(values),
});

/** db[co] = sum of dy over n, i, j (NCHW). */
function biasGradient(dy: Tensor): Tensor {
  const [, c, h, w] = dy.shape;
  const db = new Float64Array(c);
  for (let k = 0; k < dy.data.length; k++) db[Math.floor(k / (h * w)) % c] += dy.data[k];
  return tensor([c], db);
}

async function expectClosedForm(
  backend: Conv2dBackend,
  i: ConvInputs,
  want: PassResults,
  api: ConformanceApi,
): Promise<void> {
  const got = await runPasses(backend, i, api);
  const bounds = await errorBounds(i.x, i.w, i.b, i.dy, i.options);
  expect(comparePasses(got, want, bounds, i.b !== null)).toEqual([]);
}

/** The call: a 1x1 kernel, one output (any stride reads x[0,0,0,0] only). */
function singleOutput(stride: number): [ConvInputs, PassResults] {
  const i = inputs([1, 1, 3, 3], [1, 1, 1, 1], false, [1, 1, 1, 1], { stride });
  const [x0, w0, dy0] = [i.x.data[0], i.w.data[0], i.dy.data[0]];
  const dx = new Float64Array(9);
  dx[0] = dy0 * w0;
  const grads = { dx: tensor([1, 1, 3, 3], dx), dw: tensor([1, 1, 1, 1], [dy0 * x0]) };
  return [i, { y: tensor([1, 1, 1, 1], [x0 * w0]), grads: { ...grads, db: biasGradient(i.dy) } }];
}

/** Stride 2^41, padding 2^40: every window lies in the padding, so y = b and dx = dw = 0. */
function biasOnly(): [ConvInputs, PassResults] {
  const yShape = [2, 4, 2, 2];
  const i = inputs([2, 3, 4, 5], [4, 3, 2, 2], true, yShape, { stride: 2 ** 41, padding: 2 ** 40 });
  const b = i.b?.data ?? [];
  const y = Array.from({ length: 32 }, (_, k) => b[Math.floor(k / 4) % 4]);
  const dx = tensor(i.x.shape, new Float32Array(120));
  const grads = { dx, dw: tensor(i.w.shape, new Float32Array(48)), db: biasGradient(i.dy) };
  return [i, { y: tensor(yShape, y), grads }];
}

/**
 * Kernel 2x1 with dilation 2^40 and top padding 2^40: tap 0 always reads padding, tap 1 reads
 * row i, so the convolution is the 1x1 convolution with the kernel's second row.
 */
function secondTapOnly(): [ConvInputs, PassResults] {
  const [N, C, H, W, CO] = [2, 2, 3, 4, 3];
  const i = inputs([N, C, H, W], [CO, C, 2, 1], true, [N, CO, H, W], {
    dilation: [2 ** 40, 1],
    padding: [2 ** 40, 0, 0, 0],
  });
  const { x, w, dy } = i;
  const b = i.b?.data ?? [];
  const P = H * W;
  const y = new Float64Array(N * CO * P);
  const dx = new Float64Array(N * C * P);
  const dw = new Float64Array(CO * C * 2);
  for (let n = 0; n < N; n++)
    for (let co = 0; co < CO; co++)
      for (let p = 0; p < P; p++) {
        const at = (n * CO + co) * P + p;
        y[at] = b[co];
        for (let c = 0; c < C; c++) {
          const tap = w.data[(co * C + c) * 2 + 1];
          const xv = x.data[(n * C + c) * P + p];
          y[at] += tap * xv;
          dx[(n * C + c) * P + p] += dy.data[at] * tap;
          dw[(co * C + c) * 2 + 1] += dy.data[at] * xv;
        }
      }
  const grads = { dx: tensor(x.shape, dx), dw: tensor(w.shape, dw), db: biasGradient(dy) };
  return [i, { y: tensor(dy.shape, y), grads }];
}

/** Registers the extreme-parameter group of `describeConformance`. */
export function describeExtremeParameters(o: ExtremeOptions): void {
  describe('extreme but valid parameters (strides, dilations, padding up to 2^53-1)', () => {
    for (const api of CONFORMANCE_APIS) {
      const via = api === 'plan' ? ' through a plan' : '';
      for (const stride of [2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
        it(`stride ${stride} on a 3x3 input reads x[0,0,0,0] only (issue 12)${via}`, () =>
          expectClosedForm(o.backend(), ...singleOutput(stride), api));
      }
      it(`padding 2^40 with stride 2^41: every output is the bias${via}`, () =>
        expectClosedForm(o.backend(), ...biasOnly(), api));
      it(`dilation 2^40 with 2 taps and padding 2^40: a 1x1 convolution${via}`, () =>
        expectClosedForm(o.backend(), ...secondTapOnly(), api));
      if (o.isOracle) continue;
      for (const layout of ['NCHW', 'NHWC'] as Layout[]) {
        it(
          `random extreme convolutions in ${layout} against the oracle${via}`,
          async () => {
            if (!o.backend().capabilities.layouts.includes(layout)) {
              const [c] = fc.sample(extremeConv(layout), { numRuns: 1, seed: 1 });
              const { x, w } = makeInputs(c);
              await expect(o.backend().forward(x, w, null, c.options)).rejects.toMatchObject({
                code: 'unsupported',
              });
              return;
            }
            await fc.assert(
              fc.asyncProperty(extremeConv(layout), async (c) => {
                const problems = await checkAgainstOracle(o.backend(), c, api);
                expect(problems, JSON.stringify(c)).toEqual([]);
              }),
              { numRuns: o.runs },
            );
          },
          o.timeout * 4,
        );
      }
    }
  });
}
