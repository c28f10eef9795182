import { type ConvDescription, fail } from '@conv2d/core';
import {
  CPUKernel,
  GPU,
  type GPUInstance,
  HeadlessGLKernel,
  input,
  type KernelRun,
  WebAssemblyKernel,
  WebGPUKernel,
} from './gpujs.js';
import type { GpujsMode } from './modes.js';
import {
  activationDims,
  dbSource,
  dwSource,
  dxSource,
  forwardSource,
  type KernelSource,
  weightDims,
} from './sources.js';

/** The gpu.js kernel class each mode must end up running on (gpu.js may swap it silently). */
const KERNEL_CLASS: Record<GpujsMode, unknown> = {
  cpu: CPUKernel,
  webasm: WebAssemblyKernel,
  headlessgl: HeadlessGLKernel,
  webgpu: WebGPUKernel,
};

/** Counters a test (or a curious user) can read: compiling is the expensive part. */
export interface EngineStats {
  /** Kernels created (each compiles on its first call). */
  compiles: number;
  /** Kernel calls answered by an already compiled kernel. */
  cacheHits: number;
  /** Milliseconds spent in first calls (compile + first run), and in later calls. */
  compileMs: number;
  runMs: number;
}

type Pass = 'forward' | 'dx' | 'dw' | 'db';

interface CachedKernel {
  readonly key: string;
  readonly run: KernelRun;
  calls: number;
}

/**
 * gpu.js swaps a kernel for its CPU fallback without telling the caller (webasm does for
 * argument kinds it lacks, GL modes when a build fails). A result from another mode than the one
 * requested is never handed out as if it were that mode's.
 */
export function checkRanInMode(run: Pick<KernelRun, 'kernel'>, mode: GpujsMode): void {
  const inner = run.kernel;
  if (inner.constructor !== KERNEL_CLASS[mode]) {
    const ran = (inner.constructor as { name?: string }).name;
    const why = inner.fallbackReason;
    fail(
      'unavailable',
      'gpujs mode',
      mode,
      `the mode that ran; gpu.js ran ${ran} instead${why ? ` (${why})` : ''}`,
    );
  }
  if (inner.precision !== undefined && inner.precision !== 'single') {
    fail('unavailable', 'gpujs precision', inner.precision, `'single' in mode ${mode}`);
  }
}

/** gpu.js result of a [x] or [x, y, z] output, copied out into one flat array. */
function flatten(result: unknown, size: number): Float32Array {
  if (result instanceof Float32Array) return result.slice(); // never hand out gpu.js's buffer
  const out = new Float32Array(size);
  let at = 0;
  for (const plane of result as Float32Array[][]) {
    for (const row of plane) {
      out.set(row, at);
      at += row.length;
    }
  }
  if (at !== size) throw new Error(`gpu.js returned ${at} values instead of ${size}`);
  return out;
}

/**
 * Owns one gpu.js instance in one mode and a cache of compiled kernels, keyed by their generated
 * source (which holds every size), so the same convolution never compiles twice.
 */
export class Engine {
  readonly stats: EngineStats = { compiles: 0, cacheHits: 0, compileMs: 0, runMs: 0 };
  private readonly gpu: GPUInstance;
  private readonly kernels = new Map<string, CachedKernel>();

  constructor(readonly mode: GpujsMode) {
    this.gpu = new GPU({ mode });
  }

  private kernel(pass: Pass, ks: KernelSource): CachedKernel {
    const key = `${pass}\n${ks.output.join('x')}\n${ks.source}`;
    let k = this.kernels.get(key);
    if (k) {
      this.stats.cacheHits++;
      return k;
    }
    const run = this.gpu.createKernel(ks.source, {
      output: ks.output,
      precision: 'single',
      tactic: 'precision',
      loopMaxIterations: ks.longestLoop + 1,
      // Results are copied out at once, so reusing the output buffer between calls is safe.
      immutable: false,
      dynamicOutput: false,
      dynamicArguments: false,
    });
    k = { key, run, calls: 0 };
    this.kernels.set(key, k);
    this.stats.compiles++;
    return k;
  }

  /** Runs a kernel, checks that gpu.js really ran it in the requested mode, reads it back. */
  private async call(pass: Pass, ks: KernelSource, size: number, args: unknown[]) {
    const k = this.kernel(pass, ks);
    const start = performance.now();
    let result: unknown;
    try {
      result = await k.run(...args);
    } catch (e) {
      if (k.calls === 0) this.kernels.delete(k.key); // do not keep a kernel that never ran
      throw e;
    }
    checkRanInMode(k.run, this.mode);
    const ms = performance.now() - start;
    if (k.calls++ === 0) this.stats.compileMs += ms;
    else this.stats.runMs += ms;
    return flatten(result, size);
  }

  private x(desc: ConvDescription, data: Float32Array) {
    return input(data, activationDims(desc, desc.inChannels, desc.inHeight, desc.inWidth));
  }

  private y(desc: ConvDescription, data: Float32Array) {
    return input(data, activationDims(desc, desc.outChannels, desc.outHeight, desc.outWidth));
  }

  forward(desc: ConvDescription, x: Float32Array, w: Float32Array, b: Float32Array | null) {
    const args: unknown[] = [this.x(desc, x), input(w, weightDims(desc))];
    if (b) args.push(b);
    return this.call('forward', forwardSource(desc), desc.ySize, args);
  }

  dx(desc: ConvDescription, dy: Float32Array, w: Float32Array) {
    const args = [this.y(desc, dy), input(w, weightDims(desc))];
    return this.call('dx', dxSource(desc), desc.xSize, args);
  }

  dw(desc: ConvDescription, dy: Float32Array, x: Float32Array) {
    return this.call('dw', dwSource(desc), desc.wSize, [this.y(desc, dy), this.x(desc, x)]);
  }

  db(desc: ConvDescription, dy: Float32Array) {
    return this.call('db', dbSource(desc), desc.outChannels, [this.y(desc, dy)]);
  }

  dispose() {
    this.kernels.clear();
    void this.gpu.destroy();
  }
}
