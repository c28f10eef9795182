import { createNaiveBackend } from '@conv2d/backend-naive';
import { type Conv2dBackend, type Conv2dPlan, isConv2dError, type Tensor } from '@conv2d/core';
import { expect } from 'vitest';
import type { InvalidCall } from './invalid-calls.js';
import { planSpecOf, withPlan } from './run-fixture.js';

const t = (shape: number[], length = shape.reduce((a, b) => a * b, 1)): Tensor => ({
  shape,
  data: new Float32Array(length),
});

// x [1, 2, 5, 5], w [3, 2, 3, 3], a bias, padding 1: y and dy are [1, 3, 5, 5].
const inputs = { x: t([1, 2, 5, 5]), w: t([3, 2, 3, 3]), b: t([3]), options: { padding: 1 } };
const { x } = inputs;
const dy = t([1, 3, 5, 5]);
// the same layer on an empty batch: core answers its calls, no kernel runs
const empty = { ...inputs, x: t([0, 2, 5, 5]) };

/** A call on a plan with its weights set; the plan is disposed after. */
const planned =
  (use: (plan: Conv2dPlan, backend: Conv2dBackend) => Promise<unknown>) =>
  (backend: Conv2dBackend) =>
    withPlan(backend, inputs, (plan) => use(plan, backend));

/** A call on a plan without weights. */
const bare = (use: (plan: Conv2dPlan) => Promise<unknown>) => async (backend: Conv2dBackend) => {
  const plan = await backend.plan(planSpecOf(inputs));
  try {
    return await use(plan);
  } finally {
    plan.dispose();
  }
};

const savedOf = async (plan: Conv2dPlan, input = x) => {
  const { saved } = await plan.forward(input, { save: true });
  if (!saved) throw new Error('forward with save: true returned no saved state');
  return saved;
};

/** Runs a call that must be rejected: a Conv2dError with its code, naming the argument. */
export async function expectTypedError(invalid: InvalidCall, backend: Conv2dBackend) {
  let caught: unknown;
  try {
    await invalid.call(backend);
  } catch (e) {
    caught = e;
  }
  expect(isConv2dError(caught), `expected a Conv2dError, got ${String(caught)}`).toBe(true);
  expect(caught).toMatchObject({ code: invalid.code });
  expect((caught as Error).message).toContain(invalid.names);
}

/**
 * Misused plans: every one a typed error naming the argument, answered by core before any
 * kernel runs (saved states come from an empty batch's plan).
 */
export const planMisuse: InvalidCall[] = [
  {
    title: 'plan spec with x of rank 3',
    code: 'rank',
    names: 'x.shape',
    call: (be) => be.plan({ ...planSpecOf(inputs), xShape: [2, 5, 5] }),
  },
  {
    title: 'plan spec with an unknown option',
    code: 'invalid-option',
    names: 'options.strides',
    call: (be) => be.plan({ ...planSpecOf(inputs), options: { strides: 2 } as never }),
  },
  {
    title: 'plan forward before setWeights',
    code: 'plan-mismatch',
    names: 'weights',
    call: bare((plan) => plan.forward(x)),
  },
  {
    title: 'plan setWeights with w of another shape',
    code: 'plan-mismatch',
    names: 'w.shape',
    call: bare((plan) => plan.setWeights(t([3, 2, 3, 2]), inputs.b)),
  },
  {
    title: 'plan setWeights without the bias the spec asked for',
    code: 'bias-shape',
    names: 'b',
    call: bare((plan) => plan.setWeights(inputs.w, null)),
  },
  {
    title: 'plan setWeights with a bias of the wrong length',
    code: 'bias-shape',
    names: 'b.shape',
    call: bare((plan) => plan.setWeights(inputs.w, t([4]))),
  },
  {
    title: 'plan setWeights with a device tensor',
    code: 'invalid-tensor',
    names: 'w',
    call: (be) =>
      bare(async (plan) => plan.setWeights((await be.upload(inputs.w)) as never, inputs.b))(be),
  },
  {
    title: 'plan forward with x of another shape',
    code: 'plan-mismatch',
    names: 'x.shape',
    call: planned((plan) => plan.forward(t([1, 2, 5, 6]))),
  },
  {
    title: 'plan forward with x data too short',
    code: 'data-length',
    names: 'x.data',
    call: planned((plan) => plan.forward(t([1, 2, 5, 5], 49))),
  },
  {
    title: 'plan forward with out of another shape',
    code: 'plan-mismatch',
    names: 'options.out.shape',
    call: planned((plan) => plan.forward(x, { out: t([1, 3, 5, 4]) })),
  },
  {
    title: 'plan forward with out data of the wrong length',
    code: 'data-length',
    names: 'options.out.data',
    call: planned((plan) => plan.forward(x, { out: t([1, 3, 5, 5], 74) })),
  },
  {
    title: 'plan forward with out sharing memory with x',
    code: 'invalid-option',
    names: 'options.out',
    call: planned((plan) => {
      const memory = new Float32Array(100);
      const xView = { shape: [1, 2, 5, 5], data: memory.subarray(0, 50) };
      return plan.forward(xView, { out: { shape: [1, 3, 5, 5], data: memory.subarray(25) } });
    }),
  },
  {
    title: 'plan forward with both out and resident',
    code: 'invalid-option',
    names: 'options.out',
    call: planned((plan) => plan.forward(x, { out: t([1, 3, 5, 5]), resident: true as never })),
  },
  {
    title: 'plan backward with dy of another shape',
    code: 'plan-mismatch',
    names: 'dy.shape',
    call: planned((plan) => plan.backward(t([1, 3, 4, 5]), x)),
  },
  {
    title: 'plan backward from x of another shape',
    code: 'plan-mismatch',
    names: 'x.shape',
    call: planned((plan) => plan.backward(dy, t([1, 2, 5, 4]))),
  },
  {
    title: 'plan backward with out.dw of another shape',
    code: 'plan-mismatch',
    names: 'options.out.dw.shape',
    call: planned((plan) => plan.backward(dy, x, { out: { dw: t([3, 2, 3, 2]) } })),
  },
  {
    title: 'plan backward with out.db data of the wrong length',
    code: 'data-length',
    names: 'options.out.db.data',
    call: planned((plan) => plan.backward(dy, x, { out: { db: t([3], 2) } })),
  },
  {
    title: 'plan backward with out.dx sharing memory with dy',
    code: 'invalid-option',
    names: 'options.out.dx',
    call: planned((plan) =>
      plan.backward(dy, x, { out: { dx: { shape: x.shape, data: dy.data.subarray(0, 50) } } }),
    ),
  },
  {
    title: 'plan backward with a saved state of another plan',
    code: 'plan-mismatch',
    names: 'saved',
    call: planned(async (plan, be) => {
      return withPlan(be, empty, async (other) => plan.backward(dy, await savedOf(other, empty.x)));
    }),
  },
  {
    title: 'plan backward from a disposed saved state',
    code: 'disposed',
    names: 'saved',
    call: (be) =>
      withPlan(be, empty, async (plan) => {
        const saved = await savedOf(plan, empty.x);
        saved.dispose();
        return plan.backward(t([0, 3, 5, 5]), saved);
      }),
  },
  {
    title: 'plan forward on a disposed plan',
    code: 'disposed',
    names: 'plan',
    call: planned((plan) => {
      plan.dispose();
      return plan.forward(x);
    }),
  },
  {
    title: 'plan forward with a disposed device tensor',
    code: 'disposed',
    names: 'x',
    call: planned(async (plan, be) => {
      const device = await be.upload(x);
      device.dispose();
      return plan.forward(device);
    }),
  },
  {
    title: 'plan forward with a device tensor of another backend',
    code: 'plan-mismatch',
    names: 'x',
    call: planned(async (plan) => {
      const other = createNaiveBackend();
      try {
        return await plan.forward(await other.upload(x));
      } finally {
        other.dispose();
      }
    }),
  },
];

/** Misused saved states that need a forward that ran (kernels implemented). */
export const savedStateMisuse: InvalidCall[] = [
  {
    title: 'plan backward for dX from a saved state older than setWeights',
    code: 'plan-mismatch',
    names: 'saved',
    call: planned(async (plan) => {
      const saved = await savedOf(plan);
      await plan.setWeights(inputs.w, inputs.b);
      return plan.backward(dy, saved);
    }),
  },
];
