import { afterEach, describe, expect, it } from 'vitest';
import {
  type AutoConv2d,
  conv2d,
  createAutoConv2d,
  createBackend,
  defaultCandidates,
  defineBackend,
  standardProviders,
  tensor,
} from '../src/index.js';

const x = tensor([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
const w = tensor([1, 1, 2, 2], [1, 1, 1, 1]);
const b = tensor([1], [0.5]);

const made: AutoConv2d[] = [];
function auto(...args: Parameters<typeof createAutoConv2d>): AutoConv2d {
  const a = createAutoConv2d(...args);
  made.push(a);
  return a;
}
afterEach(() => {
  for (const a of made.splice(0)) a.dispose();
});

describe('conv2d (auto-selected backend)', () => {
  it('runs forward and backward on the selected backend', async () => {
    const y = await conv2d.forward(x, w, b);
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect([...y.data]).toEqual([12.5, 16.5, 24.5, 28.5]);
    const g = await conv2d.backward(tensor([1, 1, 2, 2], [1, 1, 1, 1]), x, w);
    expect([...(g.dx?.data ?? [])]).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1]);
    expect([...(g.dw?.data ?? [])]).toEqual([12, 16, 24, 28]);
    expect([...(g.db?.data ?? [])]).toEqual([4]);
  });

  it('plans on the selected backend, with the one-shot numbers', async () => {
    const a = auto({ env: { CONV2D_BACKEND: 'naive' } });
    const plan = await a.plan({ xShape: x.shape, wShape: w.shape, bias: true });
    await plan.setWeights(w, b);
    const { y, saved } = await plan.forward(await a.upload(x), { save: true });
    expect([...y.data]).toEqual([12.5, 16.5, 24.5, 28.5]);
    const g = await plan.backward(tensor([1, 1, 2, 2], [1, 1, 1, 1]), saved as never);
    expect([...(g.dw?.data ?? [])]).toEqual([12, 16, 24, 28]);
    a.dispose();
    await new Promise((resolve) => setTimeout(resolve, 0)); // the backend is released async
    expect(plan.disposed).toBe(true);
  });

  it('chooses the first default candidate that runs and says why it passed over the others', async () => {
    const a = auto({ env: {} });
    const s = await a.selection();
    const order = defaultCandidates().map((c) => c.spec);
    expect(order).toContain(s.spec);
    expect(s.skipped.map((k) => k.spec)).toEqual(order.slice(0, order.indexOf(s.spec)));
    for (const k of s.skipped) expect(k.reason.length).toBeGreaterThan(0);
    // the registered standard providers are the ones it looked at
    const names = standardProviders.map((p) => p.name);
    expect(names).toContain(s.spec.split(':')[0]);
    expect(await a.backend()).toBe(s.backend);
  });

  it('selects once and reuses the backend', async () => {
    const a = auto({ env: {} });
    const [first, second] = await Promise.all([a.backend(), a.backend()]);
    await a.forward(x, w);
    expect(second).toBe(first);
    expect(await a.backend()).toBe(first);
  });

  it('honours CONV2D_BACKEND', async () => {
    const a = auto({ env: { CONV2D_BACKEND: 'naive' } });
    expect(await a.selection()).toMatchObject({ spec: 'naive', fromEnv: true });
  });

  it('fails (and retries on the next call) when CONV2D_BACKEND names no backend', async () => {
    const env: Record<string, string | undefined> = { CONV2D_BACKEND: 'naive:fast' };
    const a = auto({ env });
    // an unknown variant is unknown-backend, as through createBackend
    await expect(a.forward(x, w)).rejects.toMatchObject({ code: 'unknown-backend' });
    env.CONV2D_BACKEND = 'naive';
    expect((await a.backend()).name).toBe('naive');
  });

  it('use(spec) switches backends and disposes the one it created', async () => {
    const a = auto({ env: {} });
    const before = await a.backend();
    const naive = await a.use('naive');
    expect(naive.name).toBe('naive');
    expect(await a.backend()).toBe(naive);
    expect((await a.forward(x, w)).data).toEqual(new Float32Array([12, 16, 24, 28]));
    if (before !== naive) {
      await expect(before.forward(x, w)).rejects.toMatchObject({ code: 'disposed' });
    }
  });

  it('use(spec) of an unknown spec rejects and keeps the backend in use', async () => {
    const a = auto({ env: {} });
    const before = await a.backend();
    await expect(a.use('naive:nope')).rejects.toMatchObject({ code: 'unknown-backend' });
    await expect(a.use('nope')).rejects.toMatchObject({ code: 'unknown-backend' });
    expect(await a.backend()).toBe(before);
    await expect(a.forward(x, w)).resolves.toMatchObject({ shape: [1, 1, 2, 2] });
  });

  it('use(backend) takes the caller’s backend and never disposes it', async () => {
    const a = auto({ env: {} });
    const mine = await createBackend('naive');
    await a.use(mine);
    expect(await a.backend()).toBe(mine);
    a.dispose();
    await expect(mine.forward(x, w)).resolves.toBeDefined();
    mine.dispose();
  });

  it('select(options) applies requirements and candidates', async () => {
    const a = auto({ env: {} });
    const s = await a.select({
      env: {},
      candidates: [{ spec: 'no-such', priority: 1 }, { spec: 'naive' }],
      require: { layout: 'NHWC', groups: true, dilation: true },
    });
    expect(s.spec).toBe('naive');
    expect(s.skipped).toHaveLength(1);
    expect(await a.backend()).toBe(s.backend);
  });

  it('dispose() releases the backend; the next call selects a fresh one', async () => {
    const a = auto({ env: {} });
    const first = await a.backend();
    a.dispose();
    await new Promise((r) => setTimeout(r, 0));
    await expect(first.forward(x, w)).rejects.toMatchObject({ code: 'disposed' });
    const second = await a.backend();
    expect(second).not.toBe(first);
  });

  it('passes errors of the chosen backend through unchanged', async () => {
    const a = auto({ env: {} });
    await a.use(
      defineBackend(
        'nchw-only',
        {
          layouts: ['NCHW'],
          groups: false,
          dilation: false,
          maxElements: 100,
          accumulation: 'float32',
          dxMethods: [],
        },
        { forward: (d) => new Float32Array(d.ySize), backward: () => ({}) },
      ),
    );
    const xNhwc = tensor([1, 3, 3, 1], x.data);
    await expect(a.forward(xNhwc, w, null, { layout: 'NHWC' })).rejects.toMatchObject({
      code: 'unsupported',
    });
  });
});
