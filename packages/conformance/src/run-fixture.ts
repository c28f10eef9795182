import {
  type Conv2dBackend,
  type Conv2dOptions,
  type Conv2dPlan,
  type Gradients,
  isConv2dError,
  type PlanSpec,
  type SavedActivations,
  type Tensor,
  transposeLayout,
} from '@conv2d/core';
import { type Fixture, fixtureOptions, isErrorCase, toTensor } from './fixture.js';
import { compare, describeMismatch, errorBounds } from './tolerance.js';

/**
 * How a case reaches the backend: one-shot `forward` / `backward` calls, or a plan (plan,
 * setWeights, forward with `save`, backward from the saved state; DESIGN.md "Plans").
 */
export type ConformanceApi = 'call' | 'plan';

export const CONFORMANCE_APIS: readonly ConformanceApi[] = ['call', 'plan'];

/** The inputs of one convolution and its upstream gradient. */
export interface ConvInputs {
  x: Tensor;
  w: Tensor;
  b: Tensor | null;
  dy: Tensor;
  options: Conv2dOptions;
}

export interface PassResults {
  y: Tensor;
  grads: Gradients;
}

/** The plan spec of a convolution's inputs (their shapes, unchecked: the plan validates). */
export function planSpecOf(i: Pick<ConvInputs, 'x' | 'w' | 'b' | 'options'>): PlanSpec {
  return { xShape: i.x.shape, wShape: i.w.shape, bias: i.b !== null, options: i.options };
}

/** Runs `use` on a plan made for the inputs, with their weights set; disposes it after. */
export async function withPlan<T>(
  backend: Conv2dBackend,
  i: Pick<ConvInputs, 'x' | 'w' | 'b' | 'options'>,
  use: (plan: Conv2dPlan) => Promise<T>,
): Promise<T> {
  const plan = await backend.plan(planSpecOf(i));
  try {
    await plan.setWeights(i.w, i.b);
    return await use(plan);
  } finally {
    plan.dispose();
  }
}

/** Forward, then every gradient, through one-shot calls or through a plan. */
export async function runPasses(
  backend: Conv2dBackend,
  i: ConvInputs,
  api: ConformanceApi = 'call',
): Promise<PassResults> {
  if (api === 'call') {
    const y = await backend.forward(i.x, i.w, i.b, i.options);
    const grads = await backend.backward(i.dy, i.x, i.w, i.options);
    return { y, grads };
  }
  return withPlan(backend, i, async (plan) => {
    const { y, saved } = await plan.forward(i.x, { save: true });
    const grads = await plan.backward(i.dy, saved as SavedActivations);
    return { y, grads };
  });
}

/** Forward alone (an error case needs nothing more to be rejected). */
function runForward(
  backend: Conv2dBackend,
  i: Pick<ConvInputs, 'x' | 'w' | 'b' | 'options'>,
  api: ConformanceApi,
): Promise<unknown> {
  if (api === 'call') return backend.forward(i.x, i.w, i.b, i.options);
  return withPlan(backend, i, (plan) => plan.forward(i.x));
}

/** What `--dump` writes for one case: flat arrays in NCHW order, or the error message. */
export type CaseDump =
  | { y: number[]; dx: number[]; dw: number[]; db: number[] | null }
  | { error: string };

export interface CaseResult {
  name: string;
  passed: boolean;
  /** One line: what was checked, or what went wrong. */
  message: string;
  dump: CaseDump;
}

function nchwData(t: Tensor, layout: Fixture['layout']): number[] {
  return Array.from(t.shape.length === 4 ? transposeLayout(t, layout, 'NCHW').data : t.data);
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Runs forward and backward (for error cases: expects the typed rejection) through the given
 * API. Invalid inputs reach the same validation a user's call does: the plan's, for plans.
 */
export async function runFixture(
  backend: Conv2dBackend,
  f: Fixture,
  api: ConformanceApi = 'call',
): Promise<CaseResult> {
  const x = toTensor(f.x);
  const w = toTensor(f.w);
  const b = f.b ? toTensor(f.b) : null;
  const options = fixtureOptions(f);
  if (isErrorCase(f)) return runErrorCase(f, () => runForward(backend, { x, w, b, options }, api));

  let results: PassResults;
  const dy = toTensor(f.dy as NonNullable<Fixture['dy']>);
  try {
    results = await runPasses(backend, { x, w, b, dy, options }, api);
  } catch (e) {
    return {
      name: f.name,
      passed: false,
      message: `threw ${errorMessage(e)}`,
      dump: { error: errorMessage(e) },
    };
  }
  const { y, grads } = results;
  const dump: CaseDump = {
    y: nchwData(y, f.layout),
    dx: nchwData(grads.dx as Tensor, f.layout),
    dw: Array.from(grads.dw?.data ?? []),
    db: b ? Array.from(grads.db?.data ?? []) : null,
  };
  const bounds = await errorBounds(x, w, b, dy, options);
  const checks: [string, Tensor | null, Fixture['y'] | null | undefined, Float64Array][] = [
    ['y', y, f.y, bounds.y],
    ['dx', grads.dx, f.dx, bounds.dx],
    ['dw', grads.dw, f.dw, bounds.dw],
  ];
  if (f.db) checks.push(['db', grads.db, f.db, bounds.db]);
  const problems: string[] = [];
  for (const [what, got, want, bound] of checks) {
    if (!got || !want) {
      problems.push(`${what} missing`);
      continue;
    }
    if (got.shape.join() !== want.shape.join()) {
      problems.push(`${what} shape [${got.shape}] expected [${want.shape}]`);
      continue;
    }
    const m = compare(got.data, want.data, bound);
    if (m) problems.push(describeMismatch(what, m));
  }
  return {
    name: f.name,
    passed: problems.length === 0,
    message: problems.length === 0 ? 'y, dx, dw, db within bounds' : problems.join('; '),
    dump,
  };
}

async function runErrorCase(f: Fixture, call: () => Promise<unknown>): Promise<CaseResult> {
  try {
    await call();
  } catch (e) {
    const message = errorMessage(e);
    if (!isConv2dError(e)) {
      return {
        name: f.name,
        passed: false,
        message: `threw a non-Conv2dError: ${message}`,
        dump: { error: message },
      };
    }
    const passed = e.code === f.error_kind;
    return {
      name: f.name,
      passed,
      message: passed
        ? `rejected: ${message}`
        : `expected code ${f.error_kind}, got ${e.code}: ${message}`,
      dump: { error: message },
    };
  }
  return {
    name: f.name,
    passed: false,
    message: `expected a Conv2dError ${f.error_kind}, but forward returned a tensor`,
    dump: { error: 'accepted invalid input' },
  };
}
