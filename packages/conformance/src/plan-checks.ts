import {
  activationShape,
  type Conv2dBackend,
  type Conv2dPlan,
  type ConvDescription,
  type DeviceTensor,
  type Gradients,
  type Layout,
  type PlanGradients,
  type SavedActivations,
  type Tensor,
  tensor,
} from '@conv2d/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type RandomConv, type RandomConvLimits, randomConv } from './cases.js';
import { comparePasses, identicalPasses, makeInputs } from './checks.js';
import { expectTypedError, savedStateMisuse } from './plan-misuse.js';
import { randomTensor, seededRandom } from './random.js';
import { type ConvInputs, type PassResults, runPasses, withPlan } from './run-fixture.js';
import { errorBounds } from './tolerance.js';

/**
 * How a plan's results must compare with the same backend's other results for the same
 * convolution and data: its one-shot calls, and the plan's other destinations (a fresh array,
 * a caller-owned `out`, a resident device tensor).
 * - `identical` (the default): bit for bit. DESIGN.md asks that the one-shot calls "give the
 *   same numbers as a plan"; a plan over the one-shot kernels (`planFromOneShot`), or over the
 *   same kernels with weights prepared once, sums the same products in the same order, and
 *   where a result is stored changes no arithmetic.
 * - `within-bounds`: for an engine whose plan sums in another order (another tiling, another
 *   kernel): twice the error bound of one result (two independently rounded results).
 * Results of one plan on the same data through the same path are always compared bit for bit.
 */
export type PlanAgreement = 'identical' | 'within-bounds';

export interface PlanCheckSettings {
  /** The backend under test (created by the suite's beforeAll). */
  backend: () => Conv2dBackend;
  /** Makes a fresh backend, for the dispose check. */
  create: () => Promise<Conv2dBackend> | Conv2dBackend;
  runs: number;
  limits: RandomConvLimits;
  timeout: number;
  agreement: PlanAgreement;
}

/** The other data of a convolution: same shapes and options, inputs drawn from another seed. */
function variant(c: RandomConv, k: number): ConvInputs {
  return makeInputs({ ...c, seed: (c.seed + k) | 0 });
}

async function agree(
  got: PassResults,
  want: PassResults,
  i: ConvInputs,
  agreement: PlanAgreement,
): Promise<string[]> {
  if (agreement === 'identical') return identicalPasses(got, want);
  const bounds = await errorBounds(i.x, i.w, i.b, i.dy, i.options);
  return comparePasses(got, want, bounds, i.b !== null, 2);
}

function prefixed(label: string, problems: string[]): string[] {
  return problems.map((p) => `${label}: ${p}`);
}

/** Forward with `save`, then every gradient from the saved state; the state is released. */
async function trainingStep(plan: Conv2dPlan, i: ConvInputs): Promise<PassResults> {
  const { y, saved } = await plan.forward(i.x, { save: true });
  try {
    return { y, grads: await plan.backward(i.dy, saved as SavedActivations) };
  } finally {
    saved?.dispose();
  }
}

/**
 * One plan, three weight sets: each round equals the one-shot calls with that round's weights,
 * and a saved state of the round before still gives the same dW and db (they do not depend on
 * the weights) after `setWeights` replaced them.
 */
export async function checkWeightRounds(
  backend: Conv2dBackend,
  c: RandomConv,
  agreement: PlanAgreement,
): Promise<string[]> {
  const base = makeInputs(c);
  return withPlan(backend, base, async (plan) => {
    const problems: string[] = [];
    let before: { saved: SavedActivations; dy: Tensor; result: PassResults } | null = null;
    for (let round = 0; round < 3; round++) {
      const { w, b } = variant(c, round);
      const i = { ...base, w, b };
      if (round > 0) await plan.setWeights(w, b);
      const { y, saved } = await plan.forward(i.x, { save: true });
      const result = { y, grads: await plan.backward(i.dy, saved as SavedActivations) };
      const oneShot = await runPasses(backend, i, 'call');
      problems.push(...prefixed(`round ${round}`, await agree(result, oneShot, i, agreement)));
      if (before) {
        const kept = await plan.backward(before.dy, before.saved, { wanted: { dx: false } });
        const withoutDx = (r: PassResults) => ({ y: r.y, grads: { ...r.grads, dx: null } });
        problems.push(
          ...prefixed(
            `dW, db of round ${round - 1} after setWeights`,
            identicalPasses({ y: before.result.y, grads: kept }, withoutDx(before.result)),
          ),
        );
        before.saved.dispose();
      }
      before = { saved: saved as SavedActivations, dy: i.dy, result };
    }
    return problems;
  });
}

/** Changing x in place after forward leaves the gradients of its saved state unchanged. */
export async function checkInputChangedAfterForward(
  backend: Conv2dBackend,
  c: RandomConv,
): Promise<string[]> {
  const i = makeInputs(c);
  return withPlan(backend, i, async (plan) => {
    const x = { shape: i.x.shape, data: i.x.data.slice() };
    const { y, saved } = await plan.forward(x, { save: true });
    x.data.set(variant(c, 1).x.data);
    const changed = { y, grads: await plan.backward(i.dy, saved as SavedActivations) };
    return identicalPasses(changed, await trainingStep(plan, i));
  });
}

/**
 * The same out tensors for every call: results are written in place (NaN beforehand, so every
 * element must be written), the returned tensors are the out tensors, and their numbers are
 * those of a call without `out`.
 */
export async function checkOutReuse(
  backend: Conv2dBackend,
  c: RandomConv,
  agreement: PlanAgreement,
): Promise<string[]> {
  const first = makeInputs(c);
  return withPlan(backend, first, async (plan) => {
    const d = plan.description;
    const out = {
      y: tensor(d.yShape),
      dx: tensor(d.xShape),
      dw: tensor(d.wShape),
      db: tensor([d.outChannels]),
    };
    const problems: string[] = [];
    for (let round = 0; round < 2; round++) {
      const i = round === 0 ? first : variant(c, round);
      if (round > 0) await plan.setWeights(i.w, i.b);
      const fresh = await trainingStep(plan, i);
      for (const t of Object.values(out)) t.data.fill(Number.NaN);
      const { y, saved } = await plan.forward(i.x, { save: true, out: out.y });
      const grads = await plan.backward(i.dy, saved as SavedActivations, {
        out: { dx: out.dx, dw: out.dw, db: out.db },
      });
      saved?.dispose();
      const returned = { y, dx: grads.dx, dw: grads.dw, db: grads.db };
      for (const [name, t] of Object.entries(returned)) {
        if (t !== out[name as keyof typeof out]) {
          problems.push(`round ${round}: ${name} is not the out tensor`);
        }
      }
      problems.push(...prefixed(`round ${round}`, await agree({ y, grads }, fresh, i, agreement)));
    }
    return problems;
  });
}

/** Backward computes only the gradients asked for, each the one of a full backward. */
export async function checkWanted(backend: Conv2dBackend, c: RandomConv): Promise<string[]> {
  const i = makeInputs(c);
  return withPlan(backend, i, async (plan) => {
    const { y, saved } = await plan.forward(i.x, { save: true });
    const from = saved as SavedActivations;
    const full = { y, grads: await plan.backward(i.dy, from) };
    const onlyDx = await plan.backward(i.dy, from, { wanted: { dw: false, db: false } });
    const onlyWeights = await plan.backward(i.dy, from, { wanted: { dx: false } });
    const only = (grads: Partial<Gradients>) => ({
      y,
      grads: { dx: null, dw: null, db: null, ...grads },
    });
    return [
      ...prefixed('only dx', identicalPasses({ y, grads: onlyDx }, only({ dx: full.grads.dx }))),
      ...prefixed(
        'only dw, db',
        identicalPasses({ y, grads: onlyWeights }, only({ dw: full.grads.dw, db: full.grads.db })),
      ),
    ];
  });
}

/**
 * Three saved states alive at once, used in reverse order, give what each gives alone; a
 * disposed one is a `disposed` error while the others still work; the plan's dispose frees them.
 */
export async function checkSeveralSaved(backend: Conv2dBackend, c: RandomConv): Promise<string[]> {
  const inputs = [0, 1, 2].map((k) => variant(c, k));
  const problems: string[] = [];
  let states: SavedActivations[] = [];
  await withPlan(backend, inputs[0] as ConvInputs, async (plan) => {
    const alone: PassResults[] = [];
    for (const i of inputs) alone.push(await trainingStep(plan, i));
    const forwards = [];
    for (const i of inputs) forwards.push(await plan.forward(i.x, { save: true }));
    states = forwards.map((f) => f.saved as SavedActivations);
    for (let k = inputs.length - 1; k >= 0; k--) {
      const i = inputs[k] as ConvInputs;
      const grads = await plan.backward(i.dy, states[k] as SavedActivations);
      const together = { y: (forwards[k] as { y: Tensor }).y, grads };
      problems.push(
        ...prefixed(`saved state ${k}`, identicalPasses(together, alone[k] as PassResults)),
      );
    }
    states[0]?.dispose();
    const rejected = await plan
      .backward(inputs[0]?.dy as Tensor, states[0] as SavedActivations)
      .then(
        () => 'no error',
        (e: { code?: string }) => e.code,
      );
    if (rejected !== 'disposed') problems.push(`a disposed saved state gave ${rejected}`);
    const again = await plan.backward(inputs[1]?.dy as Tensor, states[1] as SavedActivations);
    problems.push(
      ...prefixed(
        'saved state 1 after 0 was disposed',
        identicalPasses({ y: alone[1]?.y as Tensor, grads: again }, alone[1] as PassResults),
      ),
    );
  });
  if (!states.every((s) => s.disposed)) problems.push("the plan's dispose left saved states alive");
  return problems;
}

async function readAll(grads: PlanGradients<DeviceTensor>, y: DeviceTensor): Promise<PassResults> {
  const read = (t: DeviceTensor | null) => (t ? t.read() : null);
  const [yHost, dx, dw, db] = await Promise.all([
    y.read(),
    read(grads.dx),
    read(grads.dw),
    read(grads.db),
  ]);
  return { y: yHost, grads: { dx, dw, db } };
}

/** A second layer on the first one's output: 3x3, padding 1, three output channels. */
function nextLayer(c: RandomConv, first: ConvDescription): ConvInputs {
  const random = seededRandom(c.seed ^ 0x2545f491);
  const { layout, batch, outChannels, outHeight, outWidth } = first;
  return {
    x: tensor(first.yShape), // its data is the first layer's y, once computed
    w: randomTensor([3, outChannels, 3, 3], random),
    b: randomTensor([3], random),
    dy: randomTensor(activationShape(layout, batch, 3, outHeight, outWidth), random),
    options: { padding: 1, layout },
  };
}

/**
 * A two-layer training step kept on the device (`backend.upload`, `resident: true`, device
 * tensors passed from one plan call to the next) gives the numbers of the same step on host
 * tensors.
 */
export async function checkResidentChain(
  backend: Conv2dBackend,
  c: RandomConv,
  agreement: PlanAgreement,
): Promise<string[]> {
  const first = makeInputs(c);
  return withPlan(backend, first, (a) => {
    const second = nextLayer(c, a.description);
    return withPlan(backend, second, async (b) => {
      // on the host
      const hostA = await a.forward(first.x, { save: true });
      const hostB = await b.forward(hostA.y, { save: true });
      const gradsB = await b.backward(second.dy, hostB.saved as SavedActivations);
      const gradsA = await a.backward(gradsB.dx as Tensor, hostA.saved as SavedActivations);
      // on the device
      const made: DeviceTensor[] = [];
      const keep = <T extends DeviceTensor | null>(t: T): T => {
        if (t) made.push(t);
        return t;
      };
      try {
        const x = keep(await backend.upload(first.x));
        const devA = await a.forward(x, { save: true, resident: true });
        const devB = await b.forward(keep(devA.y), { save: true, resident: true });
        const dy = keep(await backend.upload(second.dy));
        const devGradsB = await b.backward(dy, devB.saved as SavedActivations, { resident: true });
        const dxB = keep(devGradsB.dx) as DeviceTensor;
        const devGradsA = await a.backward(dxB, devA.saved as SavedActivations, { resident: true });
        for (const t of [devB.y, devGradsB.dw, devGradsB.db, ...Object.values(devGradsA)]) keep(t);
        const secondHost = { ...second, x: hostA.y };
        const firstHost = { ...first, dy: gradsB.dx as Tensor };
        return [
          ...prefixed(
            'layer 2',
            await agree(
              await readAll(devGradsB, devB.y),
              { y: hostB.y, grads: gradsB },
              secondHost,
              agreement,
            ),
          ),
          ...prefixed(
            'layer 1',
            await agree(
              await readAll(devGradsA, devA.y),
              { y: hostA.y, grads: gradsA },
              firstHost,
              agreement,
            ),
          ),
        ];
      } finally {
        for (const t of made) t.dispose();
      }
    });
  });
}

async function expectNone(problems: Promise<string[]>, context: unknown): Promise<void> {
  const found = await problems;
  expect(found, `for ${JSON.stringify(context)}`).toEqual([]);
}

/**
 * Registers the plan properties (DESIGN.md "Plans") inside the suite's describe block. Every
 * property draws random convolutions in each layout the backend supports.
 */
export function describePlanChecks(settings: PlanCheckSettings): void {
  const { timeout, agreement } = settings;
  const numRuns = Math.max(3, Math.ceil(settings.runs / 5));
  const conv = () =>
    fc
      .constantFrom(...settings.backend().capabilities.layouts)
      .chain((layout) => randomConv(layout, settings.limits));
  const property = (
    title: string,
    check: (backend: Conv2dBackend, c: RandomConv) => Promise<string[]>,
  ) =>
    it(
      title,
      async () => {
        await fc.assert(
          fc.asyncProperty(conv(), (c) => expectNone(check(settings.backend(), c), c)),
          { numRuns },
        );
      },
      timeout * 2,
    );

  describe('plans', () => {
    property('follow setWeights: each weight set gives the one-shot numbers', (backend, c) =>
      checkWeightRounds(backend, c, agreement),
    );
    property(
      'keep what backward needs: x changed after forward leaves the gradients',
      (backend, c) => checkInputChangedAfterForward(backend, c),
    );
    property('write into reused out tensors and return them', (backend, c) =>
      checkOutReuse(backend, c, agreement),
    );
    property('compute only the gradients asked for', (backend, c) => checkWanted(backend, c));
    property('keep several saved states apart and reject a disposed one', (backend, c) =>
      checkSeveralSaved(backend, c),
    );
    property('chain resident device tensors with the numbers of the host path', (backend, c) =>
      checkResidentChain(backend, c, agreement),
    );

    for (const invalid of savedStateMisuse) {
      it(`${invalid.title} -> ${invalid.code}`, () =>
        expectTypedError(invalid, settings.backend()));
    }

    it(
      'are disposed with their backend, with their saved states and device tensors',
      async () => {
        const backend = await settings.create();
        const layout = backend.capabilities.layouts[0] as Layout;
        const i = makeInputs({
          xShape: activationShape(layout, 1, 2, 4, 4),
          wShape: [2, 2, 3, 3],
          bias: true,
          options: { padding: 1, layout },
          seed: 3,
        });
        const plan = await backend.plan({
          xShape: i.x.shape,
          wShape: i.w.shape,
          bias: true,
          options: i.options,
        });
        await plan.setWeights(i.w, i.b);
        const { saved } = await plan.forward(i.x, { save: true });
        const device = await backend.upload(i.x);
        backend.dispose();
        await expect(plan.forward(i.x)).rejects.toMatchObject({ code: 'disposed' });
        await expect(backend.plan({ xShape: i.x.shape, wShape: i.w.shape })).rejects.toMatchObject({
          code: 'disposed',
        });
        expect(plan.disposed).toBe(true);
        expect(device.disposed).toBe(true);
        await new Promise((resolve) => setTimeout(resolve, 0)); // the plan's queue frees states
        expect(saved?.disposed).toBe(true);
      },
      timeout,
    );
  });
}
