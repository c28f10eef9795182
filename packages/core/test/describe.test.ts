import { describe, expect, it } from 'vitest';
import {
  CONV2D_ERROR_CODES,
  Conv2dError,
  type Conv2dErrorCode,
  createBackend,
  defineBackend,
  describeConv,
  isConv2dError,
  normalizeOptions,
  registerBackend,
  samePadding,
  selectBackend,
  tensor,
  unregisterBackend,
  validateBackward,
  validateForward,
} from '../src/index.js';
import { testCaps } from './caps.js';

describe('describeConv shapes', () => {
  it('computes every size of a strided, padded, dilated, grouped NCHW convolution', () => {
    const d = describeConv([2, 4, 11, 9], [6, 2, 3, 2], [6], {
      stride: [2, 1],
      padding: [1, 0, 2, 1],
      dilation: [1, 3],
      groups: 2,
    });
    // Hout = floor((11 + 1 + 0 - 3) / 2) + 1 = 5; Wout = floor((9 + 2 + 1 - 4) / 1) + 1 = 9
    expect(d).toMatchObject({
      layout: 'NCHW',
      batch: 2,
      inChannels: 4,
      inHeight: 11,
      inWidth: 9,
      outChannels: 6,
      outHeight: 5,
      outWidth: 9,
      effectiveKernelHeight: 3,
      effectiveKernelWidth: 4,
      padTop: 1,
      padBottom: 0,
      padLeft: 2,
      padRight: 1,
      inChannelsPerGroup: 2,
      outChannelsPerGroup: 3,
      hasBias: true,
      reductionLength: 12,
      flops: 2 * 2 * 6 * 5 * 9 * 12,
      xShape: [2, 4, 11, 9],
      yShape: [2, 6, 5, 9],
      bShape: [6],
      xSize: 2 * 4 * 11 * 9,
      wSize: 6 * 2 * 3 * 2,
      ySize: 2 * 6 * 5 * 9,
      xStrides: { n: 396, c: 99, h: 9, w: 1 },
      yStrides: { n: 270, c: 45, h: 9, w: 1 },
    });
    expect(Object.isFrozen(d)).toBe(true);
  });

  it('reads NHWC shapes and strides channel-last', () => {
    const d = describeConv([1, 7, 5, 3], [4, 3, 3, 3], null, { layout: 'NHWC', padding: 1 });
    expect(d).toMatchObject({ inChannels: 3, inHeight: 7, inWidth: 5, hasBias: false });
    expect(d.yShape).toEqual([1, 7, 5, 4]);
    expect(d.xStrides).toEqual({ n: 105, c: 1, h: 15, w: 3 });
    expect(d.yStrides).toEqual({ n: 140, c: 1, h: 20, w: 4 });
  });

  it('accepts an empty batch and keeps it in the output', () => {
    expect(describeConv([0, 2, 4, 4], [3, 2, 3, 3], null).yShape).toEqual([0, 3, 2, 2]);
  });

  it('expands every padding form', () => {
    const pads = (padding: Parameters<typeof normalizeOptions>[0]) =>
      normalizeOptions(padding).padding;
    expect(pads({})).toEqual([0, 0, 0, 0]);
    expect(pads({ padding: 'valid' })).toEqual([0, 0, 0, 0]);
    expect(pads({ padding: 2 })).toEqual([2, 2, 2, 2]);
    expect(pads({ padding: [1, 3] })).toEqual([1, 1, 3, 3]);
    expect(pads({ padding: [1, 2, 3, 4] })).toEqual([1, 2, 3, 4]);
    expect(pads({ padding: 'same' })).toBe('same');
  });
});

describe("'same' padding", () => {
  for (const stride of [1, 2, 3]) {
    for (const dilation of [1, 2, 3]) {
      it(`gives ceil(H / ${stride}) outputs with dilation ${dilation}`, () => {
        for (let h = 1; h <= 12; h++) {
          for (let k = 1; k <= 5; k++) {
            const d = describeConv([1, 1, h, h + 1], [1, 1, k, k], null, {
              padding: 'same',
              stride,
              dilation,
            });
            const ek = dilation * (k - 1) + 1;
            expect(d.outHeight).toBe(Math.ceil(h / stride));
            expect(d.outWidth).toBe(Math.ceil((h + 1) / stride));
            const total = d.padTop + d.padBottom;
            expect(total).toBe(Math.max((d.outHeight - 1) * stride + ek - h, 0));
            // the odd extra goes to the bottom (SAME_UPPER)
            expect(d.padBottom - d.padTop).toBe(total % 2);
            if (stride === 1) {
              // PyTorch's padding='same': total d*(k-1), left = total // 2
              expect([d.padTop, d.padBottom]).toEqual([
                Math.floor((ek - 1) / 2),
                ek - 1 - Math.floor((ek - 1) / 2),
              ]);
            }
          }
        }
      });
    }
  }

  it('never pads negatively when the stride exceeds the kernel', () => {
    expect(samePadding(6, 1, 3)).toEqual([0, 0]);
    expect(samePadding(7, 1, 3)).toEqual([0, 0]);
  });
});

const t = (shape: number[], length = shape.reduce((a, b) => a * b, 1)) => ({
  shape,
  data: new Float32Array(length),
});
const x = t([1, 2, 5, 5]);
const w = t([3, 2, 3, 3]);

/** One way to trigger each code through core, and the argument its message must name. */
const triggers: Record<Conv2dErrorCode, { names: string; run: () => unknown }> = {
  rank: { names: 'x.shape', run: () => validateForward(t([2, 5, 5]), w, null) },
  'data-length': {
    names: 'w.data.length',
    run: () => validateForward(x, t([3, 2, 3, 3], 5), null),
  },
  'invalid-tensor': {
    names: 'x.data',
    run: () =>
      validateForward({ shape: [1, 2, 5, 5], data: [] as unknown as Float32Array }, w, null),
  },
  'channel-mismatch': {
    names: 'w.shape[1]',
    run: () => describeConv([1, 2, 5, 5], [3, 1, 3, 3], null),
  },
  'groups-not-dividing': {
    names: 'options.groups',
    run: () => describeConv([1, 3, 5, 5], [3, 1, 3, 3], null, { groups: 2 }),
  },
  'kernel-larger-than-padded-input': {
    names: 'w.shape[3]',
    run: () => describeConv([1, 2, 5, 5], [3, 2, 3, 4], null, { dilation: [1, 2] }),
  },
  'non-positive-stride': {
    names: 'options.stride[1]',
    run: () => normalizeOptions({ stride: [1, 0] }),
  },
  'negative-padding': {
    names: 'options.padding[2]',
    run: () => normalizeOptions({ padding: [0, 0, -1, 0] }),
  },
  'non-positive-dilation': {
    names: 'options.dilation',
    run: () => normalizeOptions({ dilation: 0 }),
  },
  'non-positive-groups': { names: 'options.groups', run: () => normalizeOptions({ groups: 0 }) },
  'non-integer-param': { names: 'options.stride', run: () => normalizeOptions({ stride: 1.5 }) },
  'invalid-option': {
    names: 'options.strides',
    run: () =>
      normalizeOptions({ strides: 2 } as unknown as Parameters<typeof normalizeOptions>[0]),
  },
  'bias-shape': { names: 'b.shape', run: () => describeConv([1, 2, 5, 5], [3, 2, 3, 3], [2]) },
  'grad-shape': { names: 'dy.shape', run: () => validateBackward(t([1, 3, 3, 4]), x, w) },
  'empty-tensor': {
    names: 'x.shape[2]',
    run: () => describeConv([1, 2, 0, 5], [3, 2, 1, 1], null),
  },
  'too-large': {
    names: 'x.shape',
    run: () => describeConv([4096, 4096, 4096, 1], [1, 4096, 1, 1], null),
  },
  unsupported: {
    names: 'options.groups',
    run: () =>
      defineBackend('plain', testCaps({ groups: false, dilation: false }), {
        forward: () => new Float32Array(0),
        backward: () => ({}),
      }).forward(t([1, 2, 5, 5]), t([2, 1, 3, 3]), null, { groups: 2 }),
  },
  'unknown-backend': { names: 'backend', run: () => createBackend('no-such-engine') },
  unavailable: {
    names: 'CONV2D_BACKEND',
    run: async () => {
      registerBackend({
        name: 'never',
        variants: [],
        description: 'never available',
        probe: async () => ({ available: false, reason: 'not here' }),
        create: async () => {
          throw new Error('unreachable');
        },
      });
      try {
        await selectBackend({ env: { CONV2D_BACKEND: 'never' } });
      } finally {
        unregisterBackend('never');
      }
    },
  },
  'not-implemented': {
    names: 'forward',
    run: () =>
      defineBackend('todo', testCaps(), {
        forward: () => {
          throw new Conv2dError('not-implemented', {
            argument: 'forward',
            value: 'todo',
            expected: 'an implementation',
          });
        },
        backward: () => ({}),
      }).forward(x, w),
  },
  disposed: {
    names: 'backend',
    run: () => {
      const b = defineBackend('gone', testCaps(), {
        forward: () => new Float32Array(0),
        backward: () => ({}),
      });
      b.dispose();
      return b.forward(x, w);
    },
  },
  'plan-mismatch': {
    names: 'x.shape',
    run: async () => {
      const b = defineBackend('planned', testCaps(), {
        forward: () => new Float32Array(0),
        backward: () => ({}),
      });
      const plan = await b.plan({ xShape: [1, 2, 5, 5], wShape: [3, 2, 3, 3] });
      await plan.setWeights(w);
      return plan.forward(t([1, 2, 5, 6]));
    },
  },
};

describe('errors', () => {
  it('has a trigger for every code', () => {
    expect(Object.keys(triggers).sort()).toEqual([...CONV2D_ERROR_CODES].sort());
  });

  for (const code of CONV2D_ERROR_CODES) {
    it(`${code}: a Conv2dError whose message names ${triggers[code].names}`, async () => {
      let caught: unknown;
      try {
        await triggers[code].run();
      } catch (e) {
        caught = e;
      }
      expect(isConv2dError(caught), String(caught)).toBe(true);
      const e = caught as Conv2dError;
      expect(e.code).toBe(code);
      expect(e.argument).toBe(triggers[code].names);
      expect(e.message.startsWith(`[${code}] ${triggers[code].names} is `)).toBe(true);
      expect(e.message).toContain('; expected ');
      expect(e.expected.length).toBeGreaterThan(0);
    });
  }

  it('renders big values shortly', () => {
    const e = new Conv2dError('rank', {
      argument: 'x.shape',
      value: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      expected: 'rank 4',
    });
    expect(e.message).toBe('[rank] x.shape is [1, 2, 3, 4, 5, 6, 7, 8, …]; expected rank 4');
    expect(e.name).toBe('Conv2dError');
    expect(
      new Conv2dError('data-length', {
        argument: 'x.data',
        value: new Float32Array(3),
        expected: '4',
      }).message,
    ).toBe('[data-length] x.data is Float32Array(3); expected 4');
  });

  it('builds tensors only with matching data', () => {
    expect(tensor([2, 2]).data).toEqual(new Float32Array(4));
    expect(() => tensor([2, 2], [1, 2, 3])).toThrow(/\[data-length\] data.length is 3/);
  });
});
