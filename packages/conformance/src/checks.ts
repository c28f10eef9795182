import { createNaiveBackend } from '@conv2d/backend-naive';
import type { Conv2dBackend, Gradients, Tensor } from '@conv2d/core';
import { validateForward } from '@conv2d/core';
import type { RandomConv } from './cases.js';
import { randomTensor, seededRandom } from './random.js';
import {
  type ConformanceApi,
  type ConvInputs,
  type PassResults,
  runPasses,
  withPlan,
} from './run-fixture.js';
import { type Bounds, compare, describeMismatch, errorBounds } from './tolerance.js';

export type { ConvInputs, PassResults } from './run-fixture.js';
export { runPasses } from './run-fixture.js';

export function makeInputs(c: RandomConv): ConvInputs {
  const random = seededRandom(c.seed);
  const x = randomTensor(c.xShape, random);
  const w = randomTensor(c.wShape, random);
  const b = c.bias ? randomTensor([c.wShape[0] as number], random) : null;
  const desc = validateForward(x, w, b, c.options);
  return { x, w, b, dy: randomTensor(desc.yShape, random), options: c.options };
}

/** Problems found comparing two runs of the same convolution (empty when they agree). */
export function comparePasses(
  got: PassResults,
  want: PassResults,
  bounds: Bounds,
  hasBias: boolean,
  slack = 1,
): string[] {
  const pairs: [string, Tensor | null, Tensor | null, Float64Array][] = [
    ['y', got.y, want.y, bounds.y],
    ['dx', got.grads.dx, want.grads.dx, bounds.dx],
    ['dw', got.grads.dw, want.grads.dw, bounds.dw],
  ];
  if (hasBias) pairs.push(['db', got.grads.db, want.grads.db, bounds.db]);
  const problems: string[] = [];
  for (const [what, g, v, bound] of pairs) {
    if (!g || !v) {
      problems.push(`${what} missing`);
      continue;
    }
    if (g.shape.join() !== v.shape.join()) {
      problems.push(`${what} shape [${g.shape}] vs [${v.shape}]`);
      continue;
    }
    const m = compare(g.data, v.data, slack === 1 ? bound : bound.map((e) => e * slack));
    if (m) problems.push(describeMismatch(what, m));
  }
  return problems;
}

/** The results of a pass run, by name, in a fixed order. */
function resultsOf(r: PassResults): [string, Tensor | null][] {
  return [
    ['y', r.y],
    ['dx', r.grads.dx],
    ['dw', r.grads.dw],
    ['db', r.grads.db],
  ];
}

/**
 * Problems found comparing two runs bit for bit (NaN equals NaN, -0 differs from 0): for
 * results that must be identical, the same engine computing the same sums on the same data.
 */
export function identicalPasses(got: PassResults, want: PassResults): string[] {
  const wanted = new Map(resultsOf(want));
  const problems: string[] = [];
  for (const [what, g] of resultsOf(got)) {
    const v = wanted.get(what) ?? null;
    if (!g || !v) {
      if (g !== v) problems.push(`${what} ${g ? 'unexpected' : 'missing'}`);
      continue;
    }
    if (g.shape.join() !== v.shape.join() || g.data.length !== v.data.length) {
      problems.push(`${what} shape [${g.shape}] vs [${v.shape}]`);
      continue;
    }
    const k = g.data.findIndex((value, index) => !Object.is(value, v.data[index]));
    if (k >= 0) problems.push(`${what}[${k}] = ${g.data[k]}, expected exactly ${v.data[k]}`);
  }
  return problems;
}

const oracle = createNaiveBackend();

/**
 * Runs a random convolution on the backend (through `api`) and on the naive oracle; returns
 * the differences.
 */
export async function checkAgainstOracle(
  backend: Conv2dBackend,
  c: RandomConv,
  api: ConformanceApi = 'call',
): Promise<string[]> {
  const inputs = makeInputs(c);
  const got = await runPasses(backend, inputs, api);
  const want = await runPasses(oracle, inputs);
  const bounds = await errorBounds(inputs.x, inputs.w, inputs.b, inputs.dy, inputs.options);
  return comparePasses(got, want, bounds, c.bias);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function dotAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]) * b[i];
  return s;
}

/**
 * The adjoint identity of the bilinear map (x, w) -> conv(x, w) + b:
 * <y, dy> = <x, dX(dy)> + <b, db> = <w, dW(dy)> + <b, db>. Returns the problems found.
 */
export async function checkAdjoint(
  backend: Conv2dBackend,
  c: RandomConv,
  api: ConformanceApi = 'call',
): Promise<string[]> {
  const i = makeInputs(c);
  const { y, grads } = await runPasses(backend, i, api);
  const bounds = await errorBounds(i.x, i.w, i.b, i.dy, i.options);
  const lhs = dot(y.data, i.dy.data);
  const lhsError = dotAbs(i.dy.data, bounds.y);
  const biasTerm = i.b ? dot(i.b.data, grads.db?.data ?? []) : 0;
  const biasError = i.b ? dotAbs(i.b.data, bounds.db) : 0;
  const problems: string[] = [];
  const viaX = dot(i.x.data, grads.dx?.data ?? []) + biasTerm;
  const viaW = dot(i.w.data, grads.dw?.data ?? []) + biasTerm;
  const tolX = lhsError + dotAbs(i.x.data, bounds.dx) + biasError;
  const tolW = lhsError + dotAbs(i.w.data, bounds.dw) + biasError;
  if (!(Math.abs(lhs - viaX) <= tolX))
    problems.push(
      `<y,dy> = ${lhs} but <x,dX> + <b,db> = ${viaX} (tolerance ${tolX.toExponential(2)})`,
    );
  if (!(Math.abs(lhs - viaW) <= tolW))
    problems.push(
      `<y,dy> = ${lhs} but <w,dW> + <b,db> = ${viaW} (tolerance ${tolW.toExponential(2)})`,
    );
  return problems;
}

/**
 * Central finite differences of L = <conv(x, w) + b, dy> along a few coordinates of x, w and
 * b, against the backend's gradients. L is linear in each argument, so the difference
 * quotient is exact up to the rounding of the forward passes, which the bound accounts for.
 * Through a plan: the gradients come from `backward(dy, x)`, and one plan runs every forward
 * with `setWeights` before each (weights changed between calls).
 */
export async function checkFiniteDifferences(
  backend: Conv2dBackend,
  c: RandomConv,
  probes = 3,
  api: ConformanceApi = 'call',
): Promise<string[]> {
  const i = makeInputs(c);
  if (api === 'call') {
    const grads = await backend.backward(i.dy, i.x, i.w, i.options);
    return compareWithDifferences(i, c.seed, probes, grads, (x, w, b) =>
      backend.forward(x, w, b, i.options),
    );
  }
  return withPlan(backend, i, async (plan) => {
    const grads = await plan.backward(i.dy, i.x);
    return compareWithDifferences(i, c.seed, probes, grads, async (x, w, b) => {
      await plan.setWeights(w, b);
      return (await plan.forward(x)).y;
    });
  });
}

type ForwardFn = (x: Tensor, w: Tensor, b: Tensor | null) => Promise<Tensor>;

async function compareWithDifferences(
  i: ConvInputs,
  seed: number,
  probes: number,
  grads: Gradients,
  forward: ForwardFn,
): Promise<string[]> {
  const random = seededRandom(seed ^ 0x5bd1e995);
  const eps = 0.5;
  const problems: string[] = [];
  const loss = async (x: Tensor, w: Tensor, b: Tensor | null) => {
    const y = await forward(x, w, b);
    const bounds = await errorBounds(x, w, b, i.dy, i.options);
    return { value: dot(y.data, i.dy.data), error: dotAbs(i.dy.data, bounds.y) };
  };
  const bounds = await errorBounds(i.x, i.w, i.b, i.dy, i.options);
  const targets: [
    string,
    'x' | 'w' | 'b',
    Tensor | null,
    Float32Array | undefined,
    Float64Array,
  ][] = [
    ['dx', 'x', i.x, grads.dx?.data, bounds.dx],
    ['dw', 'w', i.w, grads.dw?.data, bounds.dw],
    ['db', 'b', i.b, grads.db?.data, bounds.db],
  ];
  for (const [what, arg, t, grad, gradBound] of targets) {
    if (!t || !grad) continue;
    for (let p = 0; p < probes; p++) {
      const k = Math.floor(random() * t.data.length);
      const shifted = (delta: number) => {
        const data = t.data.slice();
        data[k] += delta;
        return { shape: t.shape, data };
      };
      const args = (s: Tensor) =>
        [arg === 'x' ? s : i.x, arg === 'w' ? s : i.w, arg === 'b' ? s : i.b] as const;
      const up = shifted(eps);
      const down = shifted(-eps);
      // the float32 store may round x+eps: divide by the step actually taken
      const step = up.data[k] - down.data[k];
      const plus = await loss(...args(up));
      const minus = await loss(...args(down));
      const fd = (plus.value - minus.value) / step;
      const tol = (plus.error + minus.error) / step + gradBound[k];
      if (!(Math.abs(fd - grad[k]) <= tol)) {
        problems.push(
          `${what}[${k}] = ${grad[k]} but the finite difference is ${fd} (tolerance ${tol.toExponential(2)})`,
        );
      }
    }
  }
  return problems;
}
