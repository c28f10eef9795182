import { describe, expect, it } from 'vitest';
import {
  type Conv2dBackend,
  defineBackend,
  type EnginePlan,
  isConv2dError,
  type SavedActivations,
  type Tensor,
  tensor,
} from '../src/index.js';
import { testCaps } from './caps.js';

const caps = testCaps({ dxMethods: ['direct'] });

/**
 * A 1x1, one-channel convolution (y = w*x + b) written by hand, so every plan result has a
 * closed form: dx = w*dy, dw = <dy, x>, db = sum(dy).
 */
function scaleBackend(calls: string[] = []): Conv2dBackend {
  return defineBackend('scale', caps, {
    forward(_d, x, w, b) {
      calls.push('forward');
      return x.map((v) => w[0] * v + (b ? b[0] : 0));
    },
    backward(_d, dy, x, w, wanted) {
      calls.push('backward');
      const dot = dy.reduce((s, v, i) => s + v * x[i], 0);
      return {
        dx: wanted.dx ? dy.map((v) => w[0] * v) : undefined,
        dw: wanted.dw ? Float32Array.of(dot) : undefined,
        db: wanted.db ? Float32Array.of(dy.reduce((s, v) => s + v, 0)) : undefined,
      };
    },
  });
}

const spec = { xShape: [1, 1, 2, 2], wShape: [1, 1, 1, 1], bias: true };
const x = () => tensor([1, 1, 2, 2], [1, 2, 3, 4]);
const dy = () => tensor([1, 1, 2, 2], [1, 0, 0, 1]);

async function readyPlan(backend = scaleBackend(), wValue = 2) {
  const plan = await backend.plan(spec);
  await plan.setWeights(tensor([1, 1, 1, 1], [wValue]), tensor([1], [0.5]));
  return plan;
}

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(isConv2dError(e), String(e)).toBe(true);
    return (e as { code: string }).code;
  }
  return 'no error';
}

describe('plans over one-shot kernels', () => {
  it('gives the one-shot numbers', async () => {
    const backend = scaleBackend();
    const plan = await readyPlan(backend);
    const { y, saved } = await plan.forward(x(), { save: true });
    const oneShot = await backend.forward(x(), tensor([1, 1, 1, 1], [2]), tensor([1], [0.5]));
    expect([...y.data]).toEqual([...oneShot.data]);
    expect(saved).not.toBeNull();
    const g = await plan.backward(dy(), saved as SavedActivations);
    expect([...(g.dx?.data ?? [])]).toEqual([2, 0, 0, 2]);
    expect([...(g.dw?.data ?? [])]).toEqual([5]);
    expect([...(g.db?.data ?? [])]).toEqual([2]);
    expect(g.dx?.shape).toEqual([1, 1, 2, 2]);
  });

  it('keeps its own copy of x: changing x after forward leaves the gradients', async () => {
    const plan = await readyPlan();
    const input = x();
    const { saved } = await plan.forward(input, { save: true });
    input.data.fill(100);
    const g = await plan.backward(dy(), saved as SavedActivations);
    expect([...(g.dw?.data ?? [])]).toEqual([5]);
  });

  it('copies the weights at setWeights', async () => {
    const plan = await plan1();
    async function plan1() {
      const p = await scaleBackend().plan(spec);
      const w = tensor([1, 1, 1, 1], [3]);
      await p.setWeights(w, tensor([1], [0]));
      w.data[0] = 7;
      return p;
    }
    const { y } = await plan.forward(x());
    expect([...y.data]).toEqual([3, 6, 9, 12]);
  });

  it('writes into caller-owned out buffers and returns them', async () => {
    const plan = await readyPlan();
    const out = tensor([1, 1, 2, 2]);
    const { y, saved } = await plan.forward(x(), { out, save: true });
    expect(y).toBe(out);
    expect([...out.data]).toEqual([2.5, 4.5, 6.5, 8.5]);
    const dw = tensor([1, 1, 1, 1]);
    const g = await plan.backward(dy(), saved as SavedActivations, { out: { dw } });
    expect(g.dw).toBe(dw);
    expect(dw.data[0]).toBe(5);
  });

  it('hands out buffers to one-shot kernels that write into them', async () => {
    const given: (Float32Array | undefined)[] = [];
    const backend = defineBackend('in-place', caps, {
      forward(_d, x, w, _b, out) {
        given.push(out);
        const y = out ?? new Float32Array(x.length);
        for (let i = 0; i < x.length; i++) y[i] = w[0] * x[i];
        return y;
      },
      backward(_d, dy, _x, w, _wanted, out) {
        given.push(out?.dx);
        const dx = out?.dx ?? new Float32Array(dy.length);
        for (let i = 0; i < dy.length; i++) dx[i] = w[0] * dy[i];
        return { dx, dw: new Float32Array(1), db: new Float32Array(1) };
      },
    });
    const plan = await backend.plan(spec);
    await plan.setWeights(tensor([1, 1, 1, 1], [3]), tensor([1], [0]));
    const out = tensor([1, 1, 2, 2]);
    await plan.forward(x(), { out });
    const dx = tensor([1, 1, 2, 2]);
    await plan.backward(dy(), x(), { out: { dx } });
    await plan.forward(x());
    expect(given[0]).toBe(out.data);
    expect(given[1]).toBe(dx.data);
    expect(given[2]).toBeUndefined();
    expect([...out.data]).toEqual([3, 6, 9, 12]);
    expect([...dx.data]).toEqual([3, 0, 0, 3]);
  });

  it('runs backward from x alone', async () => {
    const plan = await readyPlan();
    const g = await plan.backward(dy(), x(), { wanted: { dx: false } });
    expect(g.dx).toBeNull();
    expect([...(g.dw?.data ?? [])]).toEqual([5]);
  });

  it('keeps several saved states apart', async () => {
    const plan = await readyPlan();
    const a = await plan.forward(x(), { save: true });
    const b = await plan.forward(tensor([1, 1, 2, 2], [0, 0, 0, 1]), { save: true });
    const ga = await plan.backward(dy(), a.saved as SavedActivations);
    const gb = await plan.backward(dy(), b.saved as SavedActivations);
    expect(ga.dw?.data[0]).toBe(5);
    expect(gb.dw?.data[0]).toBe(1);
  });

  it('chains device tensors and reads them back', async () => {
    const backend = scaleBackend();
    const plan = await readyPlan(backend);
    const xd = await backend.upload(x());
    const { y } = await plan.forward(xd, { resident: true });
    expect(y.shape).toEqual([1, 1, 2, 2]);
    const { y: y2 } = await plan.forward(y, { resident: true });
    expect([...(await y2.read()).data]).toEqual([5.5, 9.5, 13.5, 17.5]);
    const g = await plan.backward(await backend.upload(dy()), xd, { resident: true });
    expect([...(await (g.dw as NonNullable<typeof g.dw>).read()).data]).toEqual([5]);
    y.dispose();
    expect(await codeOf(plan.forward(y))).toBe('disposed');
    expect(await codeOf(y.read())).toBe('disposed');
  });

  it('runs calls in call order', async () => {
    const calls: string[] = [];
    const plan = await readyPlan(scaleBackend(calls));
    const results = await Promise.all([
      plan.forward(x()),
      plan.setWeights(tensor([1, 1, 1, 1], [1]), tensor([1], [0])),
      plan.forward(x()),
    ]);
    expect([...(results[0] as { y: Tensor }).y.data]).toEqual([2.5, 4.5, 6.5, 8.5]);
    expect([...(results[2] as { y: Tensor }).y.data]).toEqual([1, 2, 3, 4]);
  });

  it('asks no engine to prepare an empty batch', async () => {
    const backend = defineBackend('prepares-non-empty', caps, {
      forward: () => new Float32Array(0),
      backward: () => ({}),
      plan(desc) {
        throw new Error(`engine asked to prepare batch ${desc.batch}`);
      },
    });
    const plan = await backend.plan({ ...spec, xShape: [0, 1, 2, 2] });
    await plan.setWeights(tensor([1, 1, 1, 1], [2]), tensor([1], [1]));
    expect((await plan.forward(tensor([0, 1, 2, 2]))).y.shape).toEqual([0, 1, 2, 2]);
    const g = await plan.backward(tensor([0, 1, 2, 2]), tensor([0, 1, 2, 2]));
    expect([...(g.dw?.data ?? [])]).toEqual([0]);
  });

  it('handles an empty batch without the engine', async () => {
    const calls: string[] = [];
    const plan = await scaleBackend(calls).plan({ ...spec, xShape: [0, 1, 2, 2] });
    await plan.setWeights(tensor([1, 1, 1, 1], [2]), tensor([1], [1]));
    const { y, saved } = await plan.forward(tensor([0, 1, 2, 2]), { save: true });
    expect(y.shape).toEqual([0, 1, 2, 2]);
    const g = await plan.backward(tensor([0, 1, 2, 2]), saved as SavedActivations);
    expect([...(g.dw?.data ?? [])]).toEqual([0]);
    expect([...(g.db?.data ?? [])]).toEqual([0]);
    expect(calls).toEqual([]);
  });
});

describe('plan misuse is a typed error', () => {
  it('rejects an invalid spec with the describe codes', async () => {
    const backend = scaleBackend();
    expect(await codeOf(backend.plan({ xShape: [1, 2, 2], wShape: [1, 1, 1, 1] }))).toBe('rank');
    expect(await codeOf(backend.plan({ xShape: [1, 1, 2, 2], wShape: [1, 1, 3, 3] }))).toBe(
      'kernel-larger-than-padded-input',
    );
    expect(
      await codeOf(
        backend.plan({ xShape: [1, 2, 2, 1], wShape: [1, 1, 1, 1], options: { layout: 'NHWC' } }),
      ),
    ).toBe('unsupported');
    expect(await codeOf(backend.plan(null as never))).toBe('invalid-option');
  });

  it('rejects tensors that do not match the plan', async () => {
    const plan = await readyPlan();
    expect(await codeOf(plan.forward(tensor([1, 1, 2, 3])))).toBe('plan-mismatch');
    expect(await codeOf(plan.forward({ shape: [1, 1, 2, 2], data: new Float32Array(3) }))).toBe(
      'data-length',
    );
    expect(await codeOf(plan.backward(tensor([1, 1, 1, 2]), x()))).toBe('plan-mismatch');
    expect(await codeOf(plan.forward(x(), { out: tensor([1, 1, 2, 3]) }))).toBe('plan-mismatch');
    expect(await codeOf(plan.backward(dy(), x(), { out: { dw: tensor([1, 1, 1, 2]) } }))).toBe(
      'plan-mismatch',
    );
    expect(await codeOf(plan.setWeights(tensor([1, 1, 1, 2]), tensor([1])))).toBe('plan-mismatch');
    expect(await codeOf(plan.setWeights(tensor([1, 1, 1, 1])))).toBe('bias-shape');
    // as the one-shot calls say: the spec has no bias shape, [Cout] follows from w
    expect(await codeOf(plan.setWeights(tensor([1, 1, 1, 1]), tensor([2])))).toBe('bias-shape');
  });

  it('rejects out buffers that share memory with an input or another out', async () => {
    const plan = await readyPlan();
    const input = x();
    expect(await codeOf(plan.forward(input, { out: input }))).toBe('invalid-option');
    const memory = new Float32Array(12);
    const view = (at: number) => ({ shape: [1, 1, 2, 2], data: memory.subarray(at, at + 4) });
    const gradient = view(0);
    gradient.data.set(dy().data);
    expect(await codeOf(plan.backward(gradient, x(), { out: { dx: view(2) } }))).toBe(
      'invalid-option',
    );
    const dw = { shape: [1, 1, 1, 1], data: memory.subarray(11, 12) };
    const db = { shape: [1], data: memory.subarray(11, 12) };
    expect(await codeOf(plan.backward(dy(), x(), { out: { dw, db } }))).toBe('invalid-option');
    // views of one buffer that do not overlap are fine
    const g = await plan.backward(gradient, x(), { out: { dx: view(4), dw } });
    expect([...memory.subarray(4, 8)]).toEqual([2, 0, 0, 2]);
    expect(g.dw?.data[0]).toBe(5);
  });

  it('needs weights first', async () => {
    const plan = await scaleBackend().plan(spec);
    const e = await plan.forward(x()).catch((err) => err);
    expect(e.code).toBe('plan-mismatch');
    expect(e.argument).toBe('weights');
  });

  it('rejects a saved state of another plan, a disposed one, and a stale one for dX', async () => {
    const backend = scaleBackend();
    const a = await readyPlan(backend);
    const b = await readyPlan(backend);
    const { saved } = await a.forward(x(), { save: true });
    const s = saved as SavedActivations;
    expect(await codeOf(b.backward(dy(), s))).toBe('plan-mismatch');
    await a.setWeights(tensor([1, 1, 1, 1], [3]), tensor([1], [0]));
    expect(await codeOf(a.backward(dy(), s))).toBe('plan-mismatch');
    // dW and db do not depend on the weights: still fine.
    const g = await a.backward(dy(), s, { wanted: { dx: false } });
    expect(g.dw?.data[0]).toBe(5);
    s.dispose();
    expect(await codeOf(a.backward(dy(), s))).toBe('disposed');
  });

  it('rejects device tensors as weights, on CPU backends too', async () => {
    const backend = scaleBackend();
    const plan = await backend.plan(spec);
    const w = await backend.upload(tensor([1, 1, 1, 1], [2]));
    const b = await backend.upload(tensor([1], [0]));
    expect(await codeOf(plan.setWeights(w as never, tensor([1])))).toBe('invalid-tensor');
    expect(await codeOf(plan.setWeights(tensor([1, 1, 1, 1]), b as never))).toBe('invalid-tensor');
  });

  it('rejects device tensors of another backend', async () => {
    const plan = await readyPlan();
    const other = await scaleBackend().upload(x());
    expect(await codeOf(plan.forward(other))).toBe('plan-mismatch');
  });

  it('finishes the calls made before dispose and rejects later ones', async () => {
    const backend = scaleBackend();
    const plan = await readyPlan(backend);
    const first = plan.forward(x());
    const queued = plan.forward(x(), { save: true });
    plan.dispose();
    expect((await first).y.data.length).toBe(4);
    const { saved } = await queued;
    expect(saved?.disposed).toBe(true);
    expect(await codeOf(plan.forward(x()))).toBe('disposed');
    expect(plan.disposed).toBe(true);
  });

  it('rejects queued calls when the backend is disposed under them', async () => {
    const backend = scaleBackend();
    const plan = await readyPlan(backend);
    const queued = [plan.forward(x()), plan.backward(dy(), x())];
    backend.dispose();
    for (const call of queued) expect(await codeOf(call)).toBe('disposed');
  });

  it('forgets a plan the caller disposed, and still disposes the others with the backend', async () => {
    const backend = scaleBackend();
    const gone = await readyPlan(backend);
    const kept = await readyPlan(backend);
    gone.dispose();
    backend.dispose();
    expect(gone.disposed && kept.disposed).toBe(true);
  });

  it('disposes plans and device tensors with the backend', async () => {
    const backend = scaleBackend();
    const plan = await readyPlan(backend);
    const t = await backend.upload(x());
    backend.dispose();
    expect(plan.disposed).toBe(true);
    expect(t.disposed).toBe(true);
    expect(await codeOf(backend.plan(spec))).toBe('disposed');
    expect(await codeOf(backend.upload(x()))).toBe('disposed');
  });

  it('runs a prepared engine plan when the kernels have one', async () => {
    const prepared: string[] = [];
    const backend = defineBackend('prepared', caps, {
      forward: () => new Float32Array(4),
      backward: () => ({}),
      plan(desc): EnginePlan<Float32Array, Float32Array> {
        prepared.push(`plan ${desc.xShape.join('x')}`);
        let w = 0;
        return {
          setWeights(wd) {
            w = wd[0];
          },
          forward: (xd, r) => {
            const y = r.out ?? new Float32Array(xd.length);
            for (let i = 0; i < xd.length; i++) y[i] = w * xd[i];
            return { y, saved: r.save ? xd.slice() : null };
          },
          backward: (d, s) => ({
            dx: d.map((v) => w * v),
            dw: Float32Array.of(d.reduce((a, v, i) => a + v * s[i], 0)),
          }),
          save: (xd) => xd.slice(),
          release: () => {},
        };
      },
    });
    const plan = await backend.plan({ xShape: [1, 1, 2, 2], wShape: [1, 1, 1, 1] });
    await plan.setWeights(tensor([1, 1, 1, 1], [3]));
    const out = tensor([1, 1, 2, 2]);
    await plan.forward(x(), { out });
    expect([...out.data]).toEqual([3, 6, 9, 12]);
    expect(prepared).toEqual(['plan 1x1x2x2']);
    const g = await plan.backward(dy(), x(), { wanted: { db: false } });
    expect(g.db).toBeNull();
    expect(g.dw?.data[0]).toBe(5);
  });
});
