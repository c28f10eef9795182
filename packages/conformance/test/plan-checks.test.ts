import {
  biasGradient,
  forward,
  inputGradient,
  naiveCapabilities,
  weightGradient,
} from '@conv2d/backend-naive';
import {
  type Conv2dBackend,
  type ConvDescription,
  defineBackend,
  type EnginePlan,
  type Wanted,
} from '@conv2d/core';
import { describe, expect, it } from 'vitest';
import type { RandomConv } from '../src/cases.js';
import {
  checkInputChangedAfterForward,
  checkOutReuse,
  checkResidentChain,
  checkSeveralSaved,
  checkWanted,
  checkWeightRounds,
} from '../src/plan-checks.js';

// The plan checks must be able to fail: each meets an engine plan broken the way it looks for.

type Fault =
  | 'none'
  | 'keeps-first-weights'
  | 'saves-callers-x'
  | 'leaves-last-out-element'
  | 'one-saved-workspace'
  | 'resident-results-share-memory'
  | 'dx-only-gives-zeros'
  | 'one-ulp-off';

function gradients(
  d: ConvDescription,
  dy: Float32Array,
  x: Float32Array,
  w: Float32Array,
  wanted: Required<Wanted>,
) {
  return {
    dx: wanted.dx ? inputGradient(d, dy, w) : undefined,
    dw: wanted.dw ? weightGradient(d, dy, x) : undefined,
    db: wanted.db ? biasGradient(d, dy) : undefined,
  };
}

/** An engine plan over the naive loops, correct but for `fault`. */
function faultyPlan(d: ConvDescription, fault: Fault): EnginePlan<Float32Array, Float32Array> {
  let w: Float32Array | null = null;
  let b: Float32Array | null = null;
  const savedWorkspace = new Float32Array(d.xSize);
  const residentWorkspace = new Float32Array(Math.max(d.xSize, d.ySize));
  const save = (x: Float32Array) => {
    if (fault === 'saves-callers-x') return x;
    if (fault === 'one-saved-workspace') {
      savedWorkspace.set(x);
      return savedWorkspace;
    }
    return x.slice();
  };
  return {
    setWeights(wd, bd) {
      if (fault === 'keeps-first-weights' && w) return;
      w = wd;
      b = bd;
    },
    forward(x, { save: keep, resident, out }) {
      const y = forward(d, x, w as Float32Array, b);
      // off in its own arrays only: out and one-shot results are right
      if (fault === 'one-ulp-off' && !out) y[0] = Math.fround(y[0] * (1 + 2 ** -22));
      let result = y;
      if (out) {
        out.set(fault === 'leaves-last-out-element' ? y.subarray(0, y.length - 1) : y);
        result = out;
      } else if (resident && fault === 'resident-results-share-memory') {
        result = residentWorkspace.subarray(0, d.ySize);
        result.set(y);
      }
      return { y: result, saved: keep ? save(x) : null };
    },
    backward(dy, x, { wanted, resident }) {
      const grads = gradients(d, dy, x, w as Float32Array, wanted);
      if (fault === 'dx-only-gives-zeros' && !wanted.dw) grads.dx?.fill(0);
      if (resident && fault === 'resident-results-share-memory' && grads.dx) {
        residentWorkspace.set(grads.dx);
        grads.dx = residentWorkspace.subarray(0, d.xSize);
      }
      return grads;
    },
    save,
    release() {},
  };
}

function backendWith(fault: Fault): Conv2dBackend {
  return defineBackend(`faulty:${fault}`, naiveCapabilities, {
    forward: (d, x, w, b) => forward(d, x, w, b),
    backward: gradients,
    plan: (d) => faultyPlan(d, fault),
  });
}

const conv: RandomConv = {
  xShape: [2, 3, 5, 4],
  wShape: [4, 3, 3, 2],
  bias: true,
  options: { stride: [1, 2], padding: [1, 1, 0, 1], dilation: [1, 1], groups: 1, layout: 'NCHW' },
  seed: 11,
};

const checks: [string, Fault, (backend: Conv2dBackend) => Promise<string[]>][] = [
  ['weight rounds', 'keeps-first-weights', (be) => checkWeightRounds(be, conv, 'within-bounds')],
  ['x changed after forward', 'saves-callers-x', (be) => checkInputChangedAfterForward(be, conv)],
  ['out reuse', 'leaves-last-out-element', (be) => checkOutReuse(be, conv, 'within-bounds')],
  ['several saved states', 'one-saved-workspace', (be) => checkSeveralSaved(be, conv)],
  [
    'resident chain',
    'resident-results-share-memory',
    (be) => checkResidentChain(be, conv, 'within-bounds'),
  ],
  ['wanted gradients', 'dx-only-gives-zeros', (be) => checkWanted(be, conv)],
  ['weight rounds, identical', 'one-ulp-off', (be) => checkWeightRounds(be, conv, 'identical')],
  ['out reuse, identical', 'one-ulp-off', (be) => checkOutReuse(be, conv, 'identical')],
];

describe('the plan checks fail on broken engine plans', () => {
  for (const [title, fault, check] of checks) {
    it(`${title} finds ${fault}`, async () => {
      const correct = backendWith('none');
      const broken = backendWith(fault);
      expect(await check(correct)).toEqual([]);
      expect((await check(broken)).length).toBeGreaterThan(0);
      correct.dispose();
      broken.dispose();
    });
  }

  it('within-bounds agreement accepts a result one ulp off', async () => {
    const backend = backendWith('one-ulp-off');
    expect(await checkWeightRounds(backend, conv, 'within-bounds')).toEqual([]);
  });
});
