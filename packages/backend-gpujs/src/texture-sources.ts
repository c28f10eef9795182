import type { GpuTexture } from './gpujs.js';
import { type KernelSource, type OutputSize, oneLaneOutput } from './sources.js';

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
 * The texture in tensor order of a result `ks` of several lanes (along `ks.laneAxis`): element e
 * of group g along that axis is lane e - lanes*g of the result's element g.
 */
export function relayoutSource(ks: KernelSource): KernelSource {
  const lanes = ks.lanes;
  if (lanes === 1 || ks.output.length !== 3) {
    throw new Error('relayoutSource takes a 3-D result of several lanes');
  }
  const axis = AXES[ks.laneAxis];
  const output = ks.output.map((n, i) => (i === ks.laneAxis ? n * lanes : n)) as OutputSize;
  const index = (a: (typeof AXES)[number]) => (a === axis ? 'g' : `this.thread.${a}`);
  const picks = Array.from(
    { length: lanes - 1 },
    (_, l) => `if (l === ${l}) {
    return v[${l}];
  }`,
  ).join('\n  ');
  const source = `function(t) {
  const g = Math.floor((this.thread.${axis} + 0.5) / ${lanes});
  const l = this.thread.${axis} - g * ${lanes};
  const v = t[${index('z')}][${index('y')}][${index('x')}];
  ${picks}
  return v[${lanes - 1}];
}`;
  return { ...tensorOrder(output), source };
}

/** What gpu.js's webgpu pipeline handle holds (buffer-result.js's WebGPUBufferResult). */
interface BufferHandle extends GpuTexture {
  readonly buffer: unknown;
  readonly componentCount: number;
  readonly context: unknown;
  readonly kernel: unknown;
}

/**
 * A webgpu result of several lanes along x, as a one-lane buffer of the tensor's dims: another
 * reference to the same storage buffer (gpu.js counts them on the buffer). gpu.js stores element
 * e's lane l at float e*lanes + l, which is tensor order when the lanes are consecutive x, and a
 * kernel refuses multi-lane buffers as arguments, so this is how such a result chains.
 */
export function oneLane(t: GpuTexture, ks: KernelSource): GpuTexture {
  const h = t as BufferHandle;
  if (ks.laneAxis !== 0 || h.componentCount !== ks.lanes || !('buffer' in h)) {
    throw new Error('oneLane takes a webgpu buffer whose lanes lie along x');
  }
  const Handle = h.constructor as new (settings: object) => GpuTexture;
  const output = oneLaneOutput(h.output, ks.lanes);
  return new Handle({ ...h, buffer: h.buffer, output, componentCount: 1 });
}
