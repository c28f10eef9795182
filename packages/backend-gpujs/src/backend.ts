import {
  type BackendCreateOptions,
  type BackendProvider,
  type Capabilities,
  type Conv2dBackend,
  type ConvDescription,
  defineBackend,
  FLOAT32_MAX_COORDINATE,
  fail,
  hostStore,
  MAX_TENSOR_ELEMENTS,
  type TensorStore,
  type Wanted,
} from '@conv2d/core';
import { DeviceOneShot } from './device-one-shot.js';
import { Engine, type EngineStats, KERNEL_FAMILIES, type KernelFamily } from './engine.js';
import { bestMode, GL_KERNELS, type GpujsMode, isMode, MODES, probeMode } from './modes.js';
import { createEnginePlan } from './plan.js';
import { unsplittableReduction } from './split-sources.js';
import { type Handle, Textures } from './textures.js';

export interface GpujsBackend extends Conv2dBackend {
  /** The gpu.js mode every kernel of this backend runs in (checked after each call). */
  readonly mode: GpujsMode;
  /** Compile and run counters: a repeated shape adds cache hits, never compiles. */
  readonly stats: Readonly<EngineStats>;
  /** The most channels one kernel thread computes (see `GpujsBackendOptions.lanes`). */
  readonly lanes: 1 | 4;
  /** The kernel family its passes run (see `GpujsBackendOptions.kernels`). */
  readonly kernels: KernelFamily;
}

export interface GpujsBackendOptions {
  /** A gpu.js mode, or omitted for the best mode that really works here. */
  mode?: GpujsMode;
  /** Lowers the largest tensor (in elements) this backend accepts; larger ones get `too-large`. */
  maxElements?: number;
  /**
   * The most channels one kernel thread computes: 4 (where the channel count splits into fours,
   * each loaded value is used 4 times) or 1 (one output value per thread, 4 times as many
   * threads); gather kernels only. Default: 1 in webgpu mode, which takes no other (its kernels
   * cannot read a 4-lane buffer, so a 4-lane result could not feed the next pass), 4 elsewhere (GL
   * textures hold 4 channels per texel). Results agree within float32 rounding.
   */
  lanes?: 1 | 4;
  /**
   * The kernels: `tiled` (webgpu only: WGSL matrix products tiled through workgroup memory,
   * wgsl-sources.ts), `gather` (one output, or `lanes` channels, per thread; sources.ts) or `block`
   * (NCHW: 4 neighbouring output columns per thread in forward and dX, a kernel row of up to 4
   * weights in dW, each load reused; block-sources.ts). A pass whose shape has no block kernel
   * (NHWC, a width not a multiple of 4, Kw > 4 in dW) runs its gather kernel. Default: see
   * `defaultKernels` (the README has the measurements behind it).
   */
  kernels?: KernelFamily;
}

/**
 * Largest tensor each mode takes. GL modes store one float per texel of a square-ish texture,
 * so a tensor fits while it has at most maxTextureSize² elements; larger ones are rejected with
 * `too-large` before gpu.js could throw halfway or read outside a texture.
 */
function maxElements(mode: GpujsMode): number {
  const gl = GL_KERNELS[mode];
  if (gl) {
    const side = gl.features?.maxTextureSize ?? 4096;
    return Math.min(side * side, MAX_TENSOR_ELEMENTS);
  }
  return MAX_TENSOR_ELEMENTS;
}

function capabilitiesOf(mode: GpujsMode, limit: number | undefined): Capabilities {
  return Object.freeze({
    layouts: Object.freeze(['NCHW', 'NHWC'] as const),
    groups: true,
    dilation: true,
    maxElements: Math.min(maxElements(mode), limit ?? Number.POSITIVE_INFINITY),
    accumulation: 'float32',
    dxMethods: Object.freeze(['direct'] as const),
    // Kernel indexes are float32 on GL and WebGPU (and in the webasm build); the cpu mode
    // runs JavaScript numbers. Larger strides, paddings and dilations run compacted.
    ...(mode === 'cpu' ? {} : { maxCoordinate: FLOAT32_MAX_COORDINATE }),
  });
}

/** Channels per thread unless the caller says: see `GpujsBackendOptions.lanes`. */
export function defaultLanes(mode: GpujsMode): 1 | 4 {
  return mode === 'webgpu' ? 1 : 4;
}

/**
 * The kernel family unless the caller says: `tiled` in webgpu (WGSL through workgroup memory:
 * 3.7x the block kernels' speed forward and dX, 2.4x dW on layer B on SwiftShader, 2026-12-02);
 * `block` where it measured faster in every pass (layer
 * B, 2026-12-02: 1.4-4.2x in webgpu, webgl2, webgl and headlessgl on SwiftShader/llvmpipe, 1.5-2.1x
 * in cpu), `gather` in webasm, whose 4-channel SIMD kernels stay faster for dX and dW there.
 */
export function defaultKernels(mode: GpujsMode): KernelFamily {
  if (mode === 'webgpu') return 'tiled';
  return mode === 'webasm' ? 'gather' : 'block';
}

/**
 * headless-gl runs on Mesa's software GL (llvmpipe) where there is no GPU, and llvmpipe ends a
 * shader invocation's loops after 65535 passes in all, silently. dW and db sum N·Hout·Wout terms
 * per weight, so GL-path kernels split that sum across threads (split-sources.ts); what a split
 * cannot bound (a dY row too long, or too many chunks) headlessgl rejects rather than return a
 * short sum. (The renderer behind headless-gl's ANGLE cannot be told apart, so this holds on
 * every driver.)
 */
function checkWeightReduction(mode: GpujsMode, desc: ConvDescription, wanted: Required<Wanted>) {
  if (mode !== 'headlessgl' || !(wanted.dw || wanted.db)) return;
  const problem = unsplittableReduction(desc);
  if (problem) {
    fail(
      'too-large',
      'dy.shape',
      desc.yShape,
      `${problem} for dw and db in gpujs:headlessgl (its software GL ends a shader's loops there); ask only for dx, or use another backend`,
    );
  }
}

/** Creates a gpu.js backend; rejects with `unavailable` when the mode cannot run here. */
export async function createGpujsBackend(options: GpujsBackendOptions = {}): Promise<GpujsBackend> {
  const requested = options.mode;
  if (requested !== undefined && !isMode(requested)) {
    fail('unknown-backend', 'options.mode', requested, `one of ${MODES.join(', ')}`);
  }
  const limit = options.maxElements;
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    fail('invalid-option', 'options.maxElements', limit, 'a positive integer');
  }
  if (options.lanes !== undefined && options.lanes !== 1 && options.lanes !== 4) {
    fail('invalid-option', 'options.lanes', options.lanes, '1 or 4');
  }
  if (options.kernels !== undefined && !KERNEL_FAMILIES.includes(options.kernels)) {
    fail('invalid-option', 'options.kernels', options.kernels, KERNEL_FAMILIES.join(' or '));
  }
  const mode = requested ?? (await bestMode());
  const lanes = options.lanes ?? defaultLanes(mode);
  if (mode === 'webgpu' && lanes !== 1) {
    fail(
      'invalid-option',
      'options.lanes',
      lanes,
      '1 in mode webgpu (its kernels cannot read a 4-lane buffer; the tiled kernels compute 4x4 blocks anyway)',
    );
  }
  const kernels = options.kernels ?? defaultKernels(mode);
  if (kernels === 'tiled' && mode !== 'webgpu') {
    fail(
      'invalid-option',
      'options.kernels',
      kernels,
      `gather or block in mode ${mode} (tiled is WGSL: webgpu only)`,
    );
  }
  const availability = await probeMode(mode);
  if (!availability.available) {
    fail(
      'unavailable',
      'backend',
      `gpujs:${mode}`,
      `a mode that runs here: ${availability.reason}`,
    );
  }
  const engine = new Engine(mode, lanes, kernels);
  // GL modes keep device tensors in textures, webgpu in storage buffers; cpu and webasm have
  // host arrays only.
  const textures = GL_KERNELS[mode] || mode === 'webgpu' ? new Textures(engine) : null;
  // GPU one-shot calls run through the plans' code too (the kernels of every family).
  const oneShot = textures ? new DeviceOneShot(engine, textures) : engine;
  const name = requested ? `gpujs:${mode}` : 'gpujs';
  const backend = defineBackend<Handle>(name, capabilitiesOf(mode, limit), {
    forward: (desc, x, w, b) => oneShot.forward(desc, x, w, b),
    backward: (desc, dy, x, w, wanted) => {
      checkWeightReduction(mode, desc, wanted);
      return oneShot.backward(desc, dy, x, w, wanted);
    },
    plan: async (desc) => {
      const plan = await createEnginePlan(engine, textures, desc);
      const backward = plan.backward.bind(plan);
      plan.backward = (dy, saved, request) => {
        checkWeightReduction(mode, desc, request.wanted);
        return backward(dy, saved, request);
      };
      return plan;
    },
    store: textures?.store ?? (hostStore as TensorStore<Handle>),
    dispose: () => engine.dispose(),
  });
  return Object.freeze({ ...backend, mode, lanes, kernels, stats: engine.stats });
}

export const backendProvider: BackendProvider = {
  name: 'gpujs',
  variants: ['cpu', 'webasm', 'headlessgl', 'webgl2', 'webgl', 'webgpu'],
  description:
    'gpu.js kernels: webgpu (Dawn or the browser), webgl2/webgl (browser), headlessgl (WebGL via headless-gl), webasm (WebAssembly SIMD), cpu (JavaScript)',
  async probe(variant) {
    if (variant === null) return { available: true, reason: `best mode: ${await bestMode()}` };
    if (!isMode(variant)) return { available: false, reason: `unknown gpujs mode ${variant}` };
    return probeMode(variant);
  },
  options: ['mode', 'kernels'],
  create(variant, options?: BackendCreateOptions) {
    const mode = variant ?? options?.mode;
    const kernels = options?.kernels as KernelFamily | undefined;
    return createGpujsBackend({
      ...(mode == null ? {} : { mode: mode as GpujsMode }),
      ...(kernels === undefined ? {} : { kernels }),
    });
  },
};
