import type { KernelSource, OutputSize } from './sources.js';

/**
 * The small kernels GL plans add around the convolution kernels of sources.ts: one that puts
 * host data into a texture, and one that moves a 4-lane result's lanes to their own elements.
 * A texture in tensor order (one value per element, in the activation or weight dims of
 * sources.ts) is what every convolution kernel reads, so such textures chain between plans.
 */

const AXES = ['x', 'y', 'z'] as const;

/** How a texture in tensor order is read back (`flatten`): one lane, already in order. */
export function tensorOrder(output: OutputSize): KernelSource {
  return { source: '', output, longestLoop: 1, lanes: 1, laneAxis: 0 };
}

/** Copies a gpu.js input of `dims` (host data) into a texture of the same dims. */
export function uploadSource(dims: OutputSize): KernelSource {
  const at =
    dims.length === 1 ? '[this.thread.x]' : '[this.thread.z][this.thread.y][this.thread.x]';
  return { ...tensorOrder(dims), source: `function(a) {\n  return a${at};\n}` };
}

/**
 * The texture in tensor order of a 4-lane result `ks` (lanes along `ks.laneAxis`): element e of
 * group g along that axis is lane e - 4g of the result's element g.
 */
export function relayoutSource(ks: KernelSource): KernelSource {
  if (ks.lanes !== 4 || ks.output.length !== 3) {
    throw new Error('relayoutSource takes a 3-D result of 4 lanes');
  }
  const axis = AXES[ks.laneAxis];
  const output = ks.output.map((n, i) => (i === ks.laneAxis ? n * 4 : n)) as OutputSize;
  const index = (a: (typeof AXES)[number]) => (a === axis ? 'g' : `this.thread.${a}`);
  const source = `function(t) {
  const g = Math.floor((this.thread.${axis} + 0.5) / 4);
  const l = this.thread.${axis} - g * 4;
  const v = t[${index('z')}][${index('y')}][${index('x')}];
  if (l === 0) {
    return v[0];
  }
  if (l === 1) {
    return v[1];
  }
  if (l === 2) {
    return v[2];
  }
  return v[3];
}`;
  return { ...tensorOrder(output), source };
}
