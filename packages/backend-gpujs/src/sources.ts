import type { ConvDescription } from '@conv2d/core';

/**
 * gpu.js kernel sources, generated per convolution description with every size written in as a
 * literal. Literal loop bounds compile to fixed loops on every backend, so no reduction is cut at
 * `loopMaxIterations`, and a kernel never needs `setConstants`/`setOutput` after its first call.
 *
 * Activations are passed as 3-D inputs whose three indexes each stay small
 * (NCHW: [W, H, N*C], NHWC: [W*C, H, N]); gpu.js turns them into one index in integer
 * arithmetic, so the kernel never builds a flat float index that loses exactness at 2^24.
 * Integer division is written `Math.floor((a + 0.5) / d)`: in float arithmetic the quotient is
 * then at least 0.5/d away from an integer, so rounding cannot push it across one.
 */

/** A gpu.js output size, [x, y, z] (x varies fastest). */
export type OutputSize = [number] | [number, number, number];

export interface KernelSource {
  /** JavaScript function source in the gpu.js kernel dialect. */
  readonly source: string;
  readonly output: OutputSize;
  /** The longest loop, for `loopMaxIterations` (belt and braces: every bound is a literal). */
  readonly longestLoop: number;
}

/** gpu.js input dimensions ([x, y, z]) of an activation tensor with `c` channels. */
export function activationDims(
  desc: ConvDescription,
  c: number,
  h: number,
  w: number,
): [number, number, number] {
  return desc.layout === 'NCHW' ? [w, h, desc.batch * c] : [w * c, h, desc.batch];
}

/** Weights OIHW [Cout, Cin/g, Kh, Kw] as gpu.js dims: wt[co][ci][m*Kw + q]. */
export function weightDims(desc: ConvDescription): [number, number, number] {
  return [desc.kernelHeight * desc.kernelWidth, desc.inChannelsPerGroup, desc.outChannels];
}

/** Statements that decode this.thread into n, c, h, w of an activation with `c` channels. */
function decodeActivation(desc: ConvDescription, channels: number): string {
  return desc.layout === 'NCHW'
    ? `const w = this.thread.x;
  const h = this.thread.y;
  const n = Math.floor((this.thread.z + 0.5) / ${channels});
  const c = this.thread.z - n * ${channels};`
    : `const w = Math.floor((this.thread.x + 0.5) / ${channels});
  const c = this.thread.x - w * ${channels};
  const h = this.thread.y;
  const n = this.thread.z;`;
}

/** Expression reading activation `t` (with `channels` channels) at n, c, h, w. */
function readActivation(
  desc: ConvDescription,
  t: string,
  channels: number,
  n: string,
  c: string,
  h: string,
  w: string,
): string {
  return desc.layout === 'NCHW'
    ? `${t}[${n} * ${channels} + ${c}][${h}][${w}]`
    : `${t}[${n}][${h}][${w} * ${channels} + ${c}]`;
}

function activationOutput(desc: ConvDescription, c: number, h: number, w: number): OutputSize {
  return activationDims(desc, c, h, w);
}

/** Forward: y(n, co, i, j) = b[co] + sum over ci, m, q of x(...) * wt[co][ci][m, q]. */
export function forwardSource(desc: ConvDescription): KernelSource {
  const d = desc;
  const xAt = readActivation(d, 'x', d.inChannels, 'n', 'c0 + ci', 'ih', 'iw');
  const source = `function(x, wt${d.hasBias ? ', b' : ''}) {
  ${decodeActivation(d, d.outChannels)}
  const c0 = Math.floor((c + 0.5) / ${d.outChannelsPerGroup}) * ${d.inChannelsPerGroup};
  let sum = 0;
  for (let ci = 0; ci < ${d.inChannelsPerGroup}; ci++) {
    for (let m = 0; m < ${d.kernelHeight}; m++) {
      const ih = h * ${d.strideHeight} + m * ${d.dilationHeight} - ${d.padTop};
      if (ih >= 0 && ih < ${d.inHeight}) {
        for (let q = 0; q < ${d.kernelWidth}; q++) {
          const iw = w * ${d.strideWidth} + q * ${d.dilationWidth} - ${d.padLeft};
          if (iw >= 0 && iw < ${d.inWidth}) {
            sum += ${xAt} * wt[c][ci][m * ${d.kernelWidth} + q];
          }
        }
      }
    }
  }
  return ${d.hasBias ? 'sum + b[c]' : 'sum'};
}`;
  return {
    source,
    output: activationOutput(d, d.outChannels, d.outHeight, d.outWidth),
    longestLoop: Math.max(d.inChannelsPerGroup, d.kernelHeight, d.kernelWidth),
  };
}

/**
 * dX by gathering: dx(n, c, h, w) sums dy(n, co, oh, ow) * wt[co][ci][m, q] over the outputs whose
 * window touched (h, w), i.e. oh*S + m*D - P = h. This is the transposed convolution with the
 * inserted zeros skipped instead of multiplied.
 */
export function dxSource(desc: ConvDescription): KernelSource {
  const d = desc;
  const dyAt = readActivation(d, 'dy', d.outChannels, 'n', 'co', 'oh', 'ow');
  const source = `function(dy, wt) {
  ${decodeActivation(d, d.inChannels)}
  const g = Math.floor((c + 0.5) / ${d.inChannelsPerGroup});
  const ci = c - g * ${d.inChannelsPerGroup};
  let sum = 0;
  for (let k = 0; k < ${d.outChannelsPerGroup}; k++) {
    const co = g * ${d.outChannelsPerGroup} + k;
    for (let m = 0; m < ${d.kernelHeight}; m++) {
      const th = h + ${d.padTop} - m * ${d.dilationHeight};
      const oh = Math.floor((th + 0.5) / ${d.strideHeight});
      if (th >= 0 && oh < ${d.outHeight} && oh * ${d.strideHeight} === th) {
        for (let q = 0; q < ${d.kernelWidth}; q++) {
          const tw = w + ${d.padLeft} - q * ${d.dilationWidth};
          const ow = Math.floor((tw + 0.5) / ${d.strideWidth});
          if (tw >= 0 && ow < ${d.outWidth} && ow * ${d.strideWidth} === tw) {
            sum += ${dyAt} * wt[co][ci][m * ${d.kernelWidth} + q];
          }
        }
      }
    }
  }
  return sum;
}`;
  return {
    source,
    output: activationOutput(d, d.inChannels, d.inHeight, d.inWidth),
    longestLoop: Math.max(d.outChannelsPerGroup, d.kernelHeight, d.kernelWidth),
  };
}

/** dW: dw[co][ci][m, q] sums dy(n, co, oh, ow) * x(n, g*Cin/g + ci, ih, iw) over n, oh, ow. */
export function dwSource(desc: ConvDescription): KernelSource {
  const d = desc;
  const dyAt = readActivation(d, 'dy', d.outChannels, 'n', 'co', 'oh', 'ow');
  const xAt = readActivation(d, 'x', d.inChannels, 'n', 'c', 'ih', 'iw');
  const source = `function(dy, x) {
  const m = Math.floor((this.thread.x + 0.5) / ${d.kernelWidth});
  const q = this.thread.x - m * ${d.kernelWidth};
  const co = this.thread.z;
  const c = Math.floor((co + 0.5) / ${d.outChannelsPerGroup}) * ${d.inChannelsPerGroup} + this.thread.y;
  let sum = 0;
  for (let n = 0; n < ${d.batch}; n++) {
    for (let oh = 0; oh < ${d.outHeight}; oh++) {
      const ih = oh * ${d.strideHeight} + m * ${d.dilationHeight} - ${d.padTop};
      if (ih >= 0 && ih < ${d.inHeight}) {
        for (let ow = 0; ow < ${d.outWidth}; ow++) {
          const iw = ow * ${d.strideWidth} + q * ${d.dilationWidth} - ${d.padLeft};
          if (iw >= 0 && iw < ${d.inWidth}) {
            sum += ${dyAt} * ${xAt};
          }
        }
      }
    }
  }
  return sum;
}`;
  return {
    source,
    output: weightDims(d),
    longestLoop: Math.max(d.batch, d.outHeight, d.outWidth),
  };
}

/** db[co] sums dy over n, oh, ow. */
export function dbSource(desc: ConvDescription): KernelSource {
  const d = desc;
  const dyAt = readActivation(d, 'dy', d.outChannels, 'n', 'this.thread.x', 'oh', 'ow');
  const source = `function(dy) {
  let sum = 0;
  for (let n = 0; n < ${d.batch}; n++) {
    for (let oh = 0; oh < ${d.outHeight}; oh++) {
      for (let ow = 0; ow < ${d.outWidth}; ow++) {
        sum += ${dyAt};
      }
    }
  }
  return sum;
}`;
  return {
    source,
    output: [d.outChannels],
    longestLoop: Math.max(d.batch, d.outHeight, d.outWidth),
  };
}
