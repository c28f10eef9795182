import { describe, expect, it } from 'vitest';
import {
  type AxisGeometry,
  axisExtent,
  type Capabilities,
  Conv2dError,
  compactAxis,
  compactDescription,
  defineBackend,
  describeConv,
  engineDescription,
  FLOAT32_MAX_COORDINATE,
  INT32_MAX_COORDINATE,
  tensor,
} from '../src/index.js';

/** Hout from the formula, or null where the kernel does not fit the padded input. */
function outOf(a: Omit<AxisGeometry, 'out'>): number | null {
  const padded = a.size + a.padBefore + a.padAfter;
  const span = (a.kernel - 1) * a.dilation + 1;
  return span > padded ? null : Math.floor((padded - span) / a.stride) + 1;
}

/** The input row every (output, tap) reads, -1 for padding: what the convolution depends on. */
function reads(a: AxisGeometry): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.out; i++)
    for (let m = 0; m < a.kernel; m++) {
      const r = i * a.stride + m * a.dilation - a.padBefore;
      out.push(r >= 0 && r < a.size ? r : -1);
    }
  return out;
}

function axis(size: number, kernel: number, stride: number, dilation: number, pads: number[]) {
  const g = { size, kernel, stride, dilation, padBefore: pads[0], padAfter: pads[1] };
  const out = outOf(g);
  return out === null ? null : { ...g, out };
}

/** Checks that `compactAxis` keeps Hout and every read, and never grows the extent. */
function expectEquivalent(a: AxisGeometry): AxisGeometry {
  const c = compactAxis(a);
  expect(outOf(c), JSON.stringify(a)).toBe(a.out);
  expect(reads(c), JSON.stringify(a)).toEqual(reads(a));
  expect(Math.min(c.stride, c.dilation, c.padBefore, c.padAfter)).toBeGreaterThanOrEqual(0);
  expect(Math.min(c.stride, c.dilation)).toBeGreaterThanOrEqual(1);
  return c;
}

describe('compactAxis', () => {
  it("reduces the issue's strides 2^31 and 2^40 on a 3-row input to the input's size", () => {
    for (const stride of [2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      const a = axis(3, 1, stride, 1, [0, 0]) as AxisGeometry;
      expect(a.out).toBe(1);
      const c = expectEquivalent(a);
      expect(c).toMatchObject({ stride: 3, dilation: 1, padBefore: 0, padAfter: 0 });
    }
  });

  it('gives a one-tap kernel dilation 1 and a single hit of a 2-tap kernel spacing H', () => {
    const oneTap = axis(4, 1, 1, 2 ** 40, [0, 0]) as AxisGeometry;
    expect(expectEquivalent(oneTap).dilation).toBe(1);
    // Dilation 2^40, padding 2^40 on top: tap 1 reads rows 0..3, tap 0 only padding.
    const twoTaps = axis(4, 2, 1, 2 ** 40, [2 ** 40, 0]) as AxisGeometry;
    expect(twoTaps.out).toBe(4);
    const c = expectEquivalent(twoTaps);
    expect(axisExtent(c)).toBeLessThanOrEqual(4 * 4 + 4);
  });

  it('respaces a 2-tap kernel with dilation 2^40 around its one read', () => {
    // One output (stride 2): tap 0 reads padding, tap 1 reads row 1.
    const a = axis(3, 2, 2, 2 ** 40, [2 ** 40 - 1, 0]) as AxisGeometry;
    expect(a.out).toBe(1);
    expect(reads(a)).toEqual([-1, 1]);
    const c = expectEquivalent(a);
    expect(c).toMatchObject({ dilation: 3, padBefore: 2 });
  });

  it('respaces outputs 2^40 apart around the one read of a tap 2^41 apart', () => {
    const a = axis(3, 2, 2 ** 40, 2 ** 41, [3 * 2 ** 40 - 1, 0]) as AxisGeometry;
    expect(a.out).toBe(2);
    expect(reads(a)).toEqual([-1, -1, -1, 1]);
    expect(expectEquivalent(a)).toMatchObject({ stride: 3, dilation: 6 });
  });

  it('maps windows that read only padding to a small all-padding axis', () => {
    // Stride 2^40, padding 2^40 + 5 on top: window 0 and 1 both miss the 3 input rows.
    const a = axis(3, 2, 2 ** 40, 1, [2 ** 40 + 5, 2 ** 40]) as AxisGeometry;
    expect(reads(a).every((r) => r === -1)).toBe(true);
    const c = expectEquivalent(a);
    expect(axisExtent(c)).toBeLessThan(20);
  });

  it('keeps a geometry with no smaller equivalent (large top padding, small stride)', () => {
    // 2^20 outputs at stride 2: the first ones read only padding, later ones read the input;
    // its reads pin S and P, so only the bottom padding may shrink.
    const a = axis(4, 3, 2, 1, [2 ** 21, 5]) as AxisGeometry;
    const c = compactAxis(a);
    expect(c).toMatchObject({ stride: 2, dilation: 1, padBefore: 2 ** 21 });
    expect(c.padAfter).toBeLessThanOrEqual(5);
    expect(outOf(c)).toBe(a.out);
  });

  it('is exact on random geometries, huge values included (brute force over every read)', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const huge = [2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, 2 ** 40, 2 ** 40 + 3, 2 ** 50 - 7];
    const value = (small: number) =>
      rand(3) === 0 ? huge[rand(huge.length)] + rand(5) : rand(small) + (small > 1 ? 1 : 0);
    let checked = 0;
    let shrunk = 0;
    while (checked < 4000) {
      const stride = value(7);
      const dilation = value(4);
      // Top padding near a multiple of the stride or dilation puts some read inside the input.
      const near = Math.max(0, rand(3) * stride + rand(3) * dilation + rand(7) - 3);
      const top = [0, value(6) - 1, near, near][rand(4)];
      const a = axis(1 + rand(6), 1 + rand(4), stride, dilation, [top, rand(2) ? value(6) - 1 : 0]);
      if (a === null || a.out * a.kernel > 20000) continue;
      const c = expectEquivalent(a);
      checked++;
      if (axisExtent(c) < axisExtent(a)) shrunk++;
      // With a small output the reads never pin a huge value: every one must come down.
      if (axisExtent(a) > 2 ** 30) expect(axisExtent(c), JSON.stringify(a)).toBeLessThan(2 ** 20);
    }
    expect(shrunk).toBeGreaterThan(1000);
  });
});

const caps = (maxCoordinate?: number): Capabilities => ({
  layouts: ['NCHW', 'NHWC'],
  groups: true,
  dilation: true,
  maxElements: 2 ** 31 - 1,
  accumulation: 'float32',
  dxMethods: ['direct'],
  maxCoordinate,
});

describe('compactDescription and engineDescription', () => {
  const issue = (stride: number) => describeConv([1, 1, 3, 3], [1, 1, 1, 1], null, { stride });

  it("gives the issue's calls a stride an int32 engine indexes exactly", () => {
    for (const stride of [2 ** 31, 2 ** 40]) {
      const c = compactDescription(issue(stride));
      expect(c).toMatchObject({ strideHeight: 3, strideWidth: 3, yShape: [1, 1, 1, 1] });
      expect(engineDescription(issue(stride), caps(INT32_MAX_COORDINATE), 'test')).toEqual(c);
    }
  });

  it('hands an engine the description itself when it fits, and for float64 engines', () => {
    const d = issue(2 ** 40);
    expect(engineDescription(d, caps(), 'test')).toBe(d);
    const small = issue(2);
    expect(engineDescription(small, caps(FLOAT32_MAX_COORDINATE), 'test')).toBe(small);
  });

  it('compacts for bounded engines whenever a parameter exceeds its input extent', () => {
    // Stride 2^20 fits int32, but engine work sized by padded extents should not grow with it.
    const d = issue(2 ** 20);
    expect(engineDescription(d, caps(INT32_MAX_COORDINATE), 'test').strideHeight).toBe(3);
    expect(engineDescription(d, caps(), 'oracle')).toBe(d);
  });

  it('gives a one-tap kernel with dilation 2^53-1 dilation 1 (engines still take it as an int)', () => {
    const d = describeConv([1, 1, 1, 1], [1, 1, 1, 1], null, { dilation: [1, 2 ** 53 - 1] });
    const c = engineDescription(d, caps(INT32_MAX_COORDINATE), 'test');
    expect([c.dilationHeight, c.dilationWidth]).toEqual([1, 1]);
  });

  it('keeps both layouts and only the axis that needs it', () => {
    const d = describeConv([1, 5, 3, 2], [2, 2, 2, 1], [2], {
      layout: 'NHWC',
      stride: [1, 2 ** 35],
      dilation: [1, 2 ** 36],
    });
    const c = compactDescription(d);
    expect(c).toMatchObject({ layout: 'NHWC', strideHeight: 1, dilationHeight: 1 });
    expect(c.yShape).toEqual(d.yShape);
    expect(c.dilationWidth).toBe(1); // one tap wide
    expect(c.strideWidth).toBeLessThanOrEqual(5);
  });

  it('rejects with too-large, naming the argument, what no equivalent brings under the limit', () => {
    // Padding 2^25 on top with stride 1: 2^25 + 3 output rows, each pinned by its reads.
    const d = describeConv([1, 1, 3, 1], [1, 1, 2, 1], null, { padding: [2 ** 25, 0, 0, 0] });
    expect(() => engineDescription(d, caps(INT32_MAX_COORDINATE), 't')).not.toThrow();
    let error: unknown;
    try {
      engineDescription(d, caps(FLOAT32_MAX_COORDINATE), 'gl');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Conv2dError);
    expect(error).toMatchObject({ code: 'too-large', argument: 'options.padding' });
    expect(String((error as Error).message)).toContain(`${FLOAT32_MAX_COORDINATE}`);
  });
});

describe('describeConv past 2^53', () => {
  it('rejects a padded extent that float64 shape math cannot hold exactly', () => {
    const p = Number.MAX_SAFE_INTEGER;
    expect(() =>
      describeConv([1, 1, 3, 3], [1, 1, 1, 1], null, { padding: [p, 0, 0, 0], stride: p }),
    ).toThrow(expect.objectContaining({ code: 'too-large', argument: 'options.padding' }));
    // Up to 2^53-1 in total it is exact and accepted.
    const d = describeConv([1, 1, 3, 3], [1, 1, 1, 1], null, {
      padding: [p - 3, 0, 0, 0],
      stride: p,
    });
    expect(d.outHeight).toBe(1);
  });
});

describe('compactAxis with huge stride and dilation together', () => {
  it('shrinks both along the line of reads (the 2^40 fixture: windows and taps 2^40 apart)', () => {
    // Output 0 reads row 0 through tap 1, output 1 row 0 through tap 0.
    const a = axis(3, 2, 2 ** 40, 2 ** 40, [2 ** 40, 2 ** 40]) as AxisGeometry;
    expect(a.out).toBe(2);
    expect(reads(a)).toEqual([-1, 0, 0, -1]);
    const c = expectEquivalent(a);
    expect(axisExtent(c)).toBeLessThanOrEqual(32);
  });

  it('keeps reads on one line when S and D differ by a small amount', () => {
    // S = 2^40, D = 2^40 + 1, top padding 2^40: output 0 tap 1 reads row 1, output 1 tap 0 row 0.
    const a = axis(3, 2, 2 ** 40, 2 ** 40 + 1, [2 ** 40, 2 ** 41]) as AxisGeometry;
    expect(reads(a).filter((r) => r >= 0)).toEqual([1, 0]);
    const c = expectEquivalent(a);
    expect(axisExtent(c)).toBeLessThan(100);
    expect(c.dilation - c.stride).toBe(1);
  });
});

describe('defineBackend hands kernels the engine description', () => {
  /** An engine that records the strides its kernels are given and returns zeros. */
  function recording(maxCoordinate: number) {
    const seen: number[][] = [];
    const backend = defineBackend('rec', caps(maxCoordinate), {
      forward: (d) => {
        seen.push([d.strideHeight, d.strideWidth]);
        return new Float32Array(d.ySize);
      },
      backward: (d) => {
        seen.push([d.strideHeight, d.strideWidth]);
        return {
          dx: new Float32Array(d.xSize),
          dw: new Float32Array(d.wSize),
          db: new Float32Array(d.outChannels),
        };
      },
    });
    return { backend, seen };
  }
  const x = tensor([1, 1, 3, 3], new Float32Array(9));
  const w = tensor([1, 1, 1, 1], new Float32Array(1));
  const dy = tensor([1, 1, 1, 1], new Float32Array(1));

  it('compacted for one-shot calls and plans when the call exceeds maxCoordinate', async () => {
    const { backend, seen } = recording(INT32_MAX_COORDINATE);
    const options = { stride: 2 ** 40 };
    expect((await backend.forward(x, w, null, options)).shape).toEqual([1, 1, 1, 1]);
    await backend.backward(dy, x, w, options);
    const plan = await backend.plan({ xShape: x.shape, wShape: w.shape, options });
    await plan.setWeights(w);
    await plan.forward(x);
    expect(seen).toEqual([
      [3, 3],
      [3, 3],
      [3, 3],
    ]);
  });

  it('untouched when the call fits', async () => {
    const { backend, seen } = recording(INT32_MAX_COORDINATE);
    await backend.forward(x, w, null, { stride: 2 });
    expect(seen).toEqual([[2, 2]]);
  });

  it('too-large before any kernel runs when no equivalent fits', async () => {
    const { backend, seen } = recording(FLOAT32_MAX_COORDINATE);
    const options = { padding: [2 ** 25, 0, 0, 0] as [number, number, number, number] };
    const w2 = tensor([1, 1, 2, 1], new Float32Array(2));
    await expect(backend.forward(x, w2, null, options)).rejects.toMatchObject({
      code: 'too-large',
    });
    await expect(
      backend.plan({ xShape: x.shape, wShape: w2.shape, options }),
    ).rejects.toMatchObject({ code: 'too-large' });
    expect(seen).toEqual([]);
  });
});

describe('compactAxis from the reads', () => {
  it('isolates the one read when neither windows nor taps alone are far enough apart', () => {
    // H = 1, S = D = 2^31: output 0 tap 0 reads row 0; every other read lands 2^31 or more away.
    const a = axis(1, 2, 2 ** 31, 2 ** 31, [0, 2 ** 32]) as AxisGeometry;
    expect(a.out).toBe(2);
    expect(reads(a)).toEqual([0, -1, -1, -1]);
    expect(axisExtent(expectEquivalent(a))).toBeLessThan(8);
  });

  it('maps no read at all to an all-padding axis', () => {
    const a = axis(2, 2, 2 ** 31, 2 ** 31, [5, 2 ** 32]) as AxisGeometry;
    expect(reads(a).every((r) => r === -1)).toBe(true);
    expect(axisExtent(expectEquivalent(a))).toBeLessThan(16);
  });
});
