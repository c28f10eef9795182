import { type Conv2dBackend, isConv2dError, type Tensor, transposeLayout } from '@conv2d/core';
import { type Fixture, fixtureOptions, isErrorCase, toTensor } from './fixture.js';
import { compare, describeMismatch, errorBounds } from './tolerance.js';

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

/** Runs forward and backward (for error cases: expects the typed rejection). */
export async function runFixture(backend: Conv2dBackend, f: Fixture): Promise<CaseResult> {
  const x = toTensor(f.x);
  const w = toTensor(f.w);
  const b = f.b ? toTensor(f.b) : null;
  const options = fixtureOptions(f);
  if (isErrorCase(f)) return runErrorCase(backend, f, x, w, b);

  let y: Tensor;
  let grads: Awaited<ReturnType<Conv2dBackend['backward']>>;
  const dy = toTensor(f.dy as NonNullable<Fixture['dy']>);
  try {
    y = await backend.forward(x, w, b, options);
    grads = await backend.backward(dy, x, w, options);
  } catch (e) {
    return {
      name: f.name,
      passed: false,
      message: `threw ${errorMessage(e)}`,
      dump: { error: errorMessage(e) },
    };
  }
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

async function runErrorCase(
  backend: Conv2dBackend,
  f: Fixture,
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
): Promise<CaseResult> {
  try {
    await backend.forward(x, w, b, fixtureOptions(f));
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
