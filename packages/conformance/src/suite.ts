import { type Conv2dBackend, type Layout, transposeLayout } from '@conv2d/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultLimits, type RandomConvLimits, randomConv } from './cases.js';
import {
  checkAdjoint,
  checkAgainstOracle,
  checkFiniteDifferences,
  comparePasses,
  makeInputs,
  runPasses,
} from './checks.js';
import { describeExtremeParameters } from './extreme.js';
import { bundledFixturesDir, loadFixtures } from './fixture-files.js';
import { invalidCalls } from './invalid-calls.js';
import { describePlanChecks, type PlanAgreement } from './plan-checks.js';
import { expectTypedError, planMisuse } from './plan-misuse.js';
import { randomTensor, seededRandom } from './random.js';
import { CONFORMANCE_APIS, type ConformanceApi, runFixture } from './run-fixture.js';
import { describeStress, type StressOptions } from './stress-suite.js';
import { errorBounds } from './tolerance.js';

export interface ConformanceOptions {
  /** Label of the describe block, usually the backend spec. */
  name: string;
  /** Creates a fresh backend (called once for the suite, and again for the dispose test). */
  create: () => Promise<Conv2dBackend> | Conv2dBackend;
  /** Folder of conv2d-fixture/1 cases; default: the PyTorch fixtures shipped here. */
  fixturesDir?: string;
  /** Random convolutions per layout in the oracle comparison (default 25). */
  propertyRuns?: number;
  /** Bounds of the random convolutions. */
  limits?: Partial<RandomConvLimits>;
  /**
   * Set only when the backend under test is the naive oracle itself: comparing it with
   * itself proves nothing, so that block is left out (the fixtures, gradient identities and
   * layout property still test it).
   */
  isOracle?: boolean;
  /** Per-test timeout in ms (default 120 s: slow engines such as gpu.js cpu mode). */
  timeoutMs?: number;
  /**
   * How plan results compare with the one-shot calls and across destinations (out, resident):
   * `identical` (default) or `within-bounds` for a plan that sums in another order (plan-checks.ts).
   */
  planAgreement?: PlanAgreement;
  /**
   * The stress group (stress.ts). Give `spec` (and `provider` when the package is not
   * `@conv2d/backend-<name>`) so that it runs in a child process; `scale` trims slow engines.
   */
  stress?: StressOptions;
}

/** Test-name suffix of an API: the one-shot calls keep their names. */
const through = (api: ConformanceApi) => (api === 'plan' ? ' through a plan' : '');

async function expectNoProblems(
  problems: Promise<string[]> | string[],
  context: unknown,
): Promise<void> {
  const found = await problems;
  if (found.length > 0) throw new Error(`${found.join('\n')}\nfor ${JSON.stringify(context)}`);
}

/**
 * Registers the whole conformance suite for one backend in vitest. Call it at the top level
 * of a test file: `describeConformance({ name: 'mine', create: () => createMyBackend() })`.
 */
export function describeConformance(options: ConformanceOptions): void {
  const runs = options.propertyRuns ?? 25;
  const limits = { ...defaultLimits, ...options.limits };
  const timeout = options.timeoutMs ?? 120_000;
  const fixtures = loadFixtures(options.fixturesDir ?? bundledFixturesDir);
  let backend: Conv2dBackend;

  describe(`conformance: ${options.name}`, () => {
    beforeAll(async () => {
      backend = await options.create();
    }, timeout);
    afterAll(() => backend?.dispose());

    describe('PyTorch fixtures', () => {
      it('has fixtures to run', () => {
        expect(fixtures.length).toBeGreaterThan(0);
      });
      for (const api of CONFORMANCE_APIS) {
        for (const { file, fixture } of fixtures) {
          it(
            `${file}${through(api)}`,
            async () => {
              const result = await runFixture(backend, fixture, api);
              expect(result.passed, result.message).toBe(true);
            },
            timeout,
          );
        }
      }
    });

    const layouts = (): Layout[] => [...backend.capabilities.layouts];

    if (!options.isOracle) {
      describe('random convolutions against the naive oracle', () => {
        for (const layout of ['NCHW', 'NHWC'] as const) {
          for (const api of CONFORMANCE_APIS) {
            it(
              `forward, dX, dW, db in ${layout}${through(api)}`,
              async () => {
                if (!layouts().includes(layout)) {
                  const { x, w } = makeInputs(sample(layout));
                  const unsupported =
                    api === 'call'
                      ? backend.forward(x, w, null, { layout })
                      : backend.plan({ xShape: x.shape, wShape: w.shape, options: { layout } });
                  await expect(unsupported).rejects.toMatchObject({ code: 'unsupported' });
                  return;
                }
                await fc.assert(
                  fc.asyncProperty(randomConv(layout, limits), (c) =>
                    expectNoProblems(checkAgainstOracle(backend, c, api), c),
                  ),
                  { numRuns: runs },
                );
              },
              timeout * 4,
            );
          }
        }
      });
    }

    describe('layouts', () => {
      for (const api of CONFORMANCE_APIS) {
        it(
          `NHWC results are the NCHW results transposed${through(api)}`,
          async () => {
            if (!layouts().includes('NHWC') || !layouts().includes('NCHW')) return;
            await fc.assert(
              fc.asyncProperty(randomConv('NCHW', limits), async (c) => {
                const nchw = makeInputs(c);
                const toNhwc = {
                  ...nchw,
                  x: transposeLayout(nchw.x, 'NCHW', 'NHWC'),
                  dy: transposeLayout(nchw.dy, 'NCHW', 'NHWC'),
                  options: { ...nchw.options, layout: 'NHWC' as const },
                };
                const a = await runPasses(backend, nchw, api);
                const b = await runPasses(backend, toNhwc, api);
                const back = {
                  y: transposeLayout(b.y, 'NHWC', 'NCHW'),
                  grads: {
                    ...b.grads,
                    dx: b.grads.dx && transposeLayout(b.grads.dx, 'NHWC', 'NCHW'),
                  },
                };
                const bounds = await errorBounds(nchw.x, nchw.w, nchw.b, nchw.dy, nchw.options);
                // two independently rounded results: twice the bound of one
                await expectNoProblems(comparePasses(back, a, bounds, c.bias, 2), c);
              }),
              { numRuns: Math.max(5, Math.ceil(runs / 3)) },
            );
          },
          timeout * 2,
        );
      }
    });

    describe('gradients', () => {
      for (const api of CONFORMANCE_APIS) {
        it(
          `match central finite differences of <conv(x, w) + b, dy>${through(api)}`,
          async () => {
            await fc.assert(
              fc.asyncProperty(randomConv(layouts()[0] as Layout, limits), (c) =>
                expectNoProblems(checkFiniteDifferences(backend, c, 3, api), c),
              ),
              { numRuns: Math.max(4, Math.ceil(runs / 5)) },
            );
          },
          timeout * 2,
        );

        it(
          `satisfy the adjoint identity <conv(x), dy> = <x, dX(dy)> = <w, dW(dy)>${through(api)}`,
          async () => {
            await fc.assert(
              fc.asyncProperty(randomConv(layouts()[0] as Layout, limits), (c) =>
                expectNoProblems(checkAdjoint(backend, c, api), c),
              ),
              { numRuns: Math.max(5, Math.ceil(runs / 3)) },
            );
          },
          timeout * 2,
        );
      }

      it(
        'computes only the gradients asked for',
        async () => {
          const i = makeInputs(sample(layouts()[0] as Layout));
          const onlyDx = await backend.backward(i.dy, i.x, i.w, i.options, {
            dw: false,
            db: false,
          });
          expect(onlyDx.dx).not.toBeNull();
          expect(onlyDx.dw).toBeNull();
          expect(onlyDx.db).toBeNull();
          const onlyWeights = await backend.backward(i.dy, i.x, i.w, i.options, { dx: false });
          expect(onlyWeights.dx).toBeNull();
          const full = await backend.backward(i.dy, i.x, i.w, i.options);
          expect(onlyWeights.dw?.data).toEqual(full.dw?.data);
          expect(onlyWeights.db?.data).toEqual(full.db?.data);
          expect(onlyDx.dx?.data).toEqual(full.dx?.data);
        },
        timeout,
      );
    });

    describe('edge cases', () => {
      it(
        'returns empty outputs and zero weight gradients for an empty batch',
        async () => {
          const x = { shape: [0, 2, 4, 4], data: new Float32Array(0) };
          const w = randomTensor([3, 2, 3, 3], seededRandom(1));
          const y = await backend.forward(x, w, null, { padding: 1 });
          expect(y.shape).toEqual([0, 3, 4, 4]);
          const g = await backend.backward(
            { shape: [0, 3, 4, 4], data: new Float32Array(0) },
            x,
            w,
            { padding: 1 },
          );
          expect(g.dx?.shape).toEqual([0, 2, 4, 4]);
          expect([...(g.dw?.data ?? [1])].every((v) => v === 0)).toBe(true);
          expect([...(g.db?.data ?? [1])]).toEqual([0, 0, 0]);
        },
        timeout,
      );

      it(
        'propagates NaN and infinity as IEEE arithmetic does',
        async () => {
          const x = randomTensor([1, 1, 5, 5], seededRandom(2));
          x.data[0] = Number.NaN; // only the top-left 3x3 window sees it
          x.data[24] = Number.POSITIVE_INFINITY; // only the bottom-right window sees it
          const w = { shape: [1, 1, 3, 3], data: new Float32Array(9).fill(0.5) };
          const y = await backend.forward(x, w, null);
          expect(Number.isNaN(y.data[0])).toBe(true);
          expect(y.data[8]).toBe(Number.POSITIVE_INFINITY);
          expect([...y.data.slice(1, 8)].every(Number.isFinite)).toBe(true);
        },
        timeout,
      );

      it(
        'leaves its inputs untouched and gives the same answer twice',
        async () => {
          const i = makeInputs(sample(layouts()[0] as Layout));
          const copies = [i.x, i.w, i.dy].map((t) => t.data.slice());
          const first = await runPasses(backend, i);
          const second = await runPasses(backend, i);
          expect([i.x.data, i.w.data, i.dy.data]).toEqual(copies);
          expect(second.y.data).toEqual(first.y.data);
          expect(second.grads.dx?.data).toEqual(first.grads.dx?.data);
          expect(second.grads.dw?.data).toEqual(first.grads.dw?.data);
        },
        timeout,
      );
    });

    describeStress(options.create, options.stress ?? {}, timeout);

    describePlanChecks({
      backend: () => backend,
      create: options.create,
      runs,
      limits,
      timeout,
      agreement: options.planAgreement ?? 'identical',
    });

    describeExtremeParameters({
      backend: () => backend,
      isOracle: !!options.isOracle,
      runs,
      timeout,
    });

    describe('invalid input is rejected with a typed error', () => {
      for (const invalid of [...invalidCalls, ...planMisuse]) {
        it(`${invalid.title} -> ${invalid.code}`, () => expectTypedError(invalid, backend));
      }

      it(
        'rejects calls after dispose',
        async () => {
          const disposable = await options.create();
          disposable.dispose();
          const i = makeInputs(sample('NCHW'));
          await expect(disposable.forward(i.x, i.w, i.b, i.options)).rejects.toMatchObject({
            code: 'disposed',
          });
        },
        timeout,
      );
    });
  });
}

/** A fixed, moderately sized convolution for the non-random checks. */
function sample(layout: Layout) {
  return {
    xShape: layout === 'NCHW' ? [2, 4, 7, 6] : [2, 7, 6, 4],
    wShape: [6, 2, 3, 2],
    bias: true,
    options: {
      stride: [2, 1] as [number, number],
      padding: [1, 0, 1, 1] as [number, number, number, number],
      dilation: [1, 2] as [number, number],
      groups: 2,
      layout,
    },
    seed: 7,
  };
}
