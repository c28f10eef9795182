import { type ConvDescription, fail } from '@conv2d/core';
import {
  CPUKernel,
  GPU,
  type GPUInstance,
  HeadlessGLKernel,
  input,
  type KernelRun,
  type PipelineRun,
  WebAssemblyKernel,
  WebGL2Kernel,
  WebGLKernel,
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
  webgl2: WebGL2Kernel,
  webgl: WebGLKernel,
  webgpu: WebGPUKernel,
};

/** Counters a test (or a curious user) can read: compiling is the expensive part. */
export interface EngineStats {
  /** Kernels created (each compiles on its first call, alone or inside a backward pipeline). */
  compiles: number;
  /** Forward and backward calls answered by an already compiled kernel or pipeline. */
  cacheHits: number;
  /** Milliseconds spent in first calls (compile + first run), and in later calls. */
  compileMs: number;
  runMs: number;
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

/**
 * Copies a gpu.js result ([x] output: one array; [x, y, z]: planes of rows) into one flat array
 * in the tensor's order. With 4 lanes, each element is 4 consecutive channels, which sit along
 * `laneAxis` of the tensor: that axis is 4 times longer than the kernel's output.
 */
function flatten(result: unknown, ks: KernelSource, size: number): Float32Array {
  // Always a copy: gpu.js reuses its output buffers on the next call.
  if (result instanceof Float32Array) return result.slice();
  const out = new Float32Array(size);
  const planes = result as ArrayLike<ArrayLike<Float32Array>>;
  if (ks.lanes === 1) {
    let at = 0;
    for (let z = 0; z < planes.length; z++) {
      for (let y = 0; y < planes[z].length; y++) {
        out.set(planes[z][y], at);
        at += planes[z][y].length;
      }
    }
    if (at !== size) throw new Error(`gpu.js returned ${at} values instead of ${size}`);
    return out;
  }
  const [nx, ny] = ks.output as [number, number, number];
  const lanes = ks.lanes;
  const sx = ks.laneAxis === 0 ? nx * lanes : nx;
  const sy = ks.laneAxis === 1 ? ny * lanes : ny;
  const laneStride = ks.laneAxis === 0 ? 1 : ks.laneAxis === 1 ? sx : sx * sy;
  const [fx, fy, fz] = [0, 1, 2].map((axis) => (axis === ks.laneAxis ? lanes : 1));
  let count = 0;
  for (let z = 0; z < planes.length; z++) {
    const plane = planes[z];
    for (let y = 0; y < plane.length; y++) {
      const row = plane[y] as unknown as ArrayLike<ArrayLike<number>>;
      for (let x = 0; x < row.length; x++) {
        const v = row[x];
        const base = (z * fz * sy + y * fy) * sx + x * fx;
        for (let l = 0; l < lanes; l++) out[base + l * laneStride] = v[l];
        count += lanes;
      }
    }
  }
  if (count !== size) throw new Error(`gpu.js returned ${count} values instead of ${size}`);
  return out;
}

/** What a pipeline's `backend` reports for each mode (gpu.js GL kernels call themselves 'gpu'). */
const PIPELINE_BACKEND: Record<GpujsMode, string> = {
  cpu: 'cpu',
  webasm: 'webasm',
  headlessgl: 'gpu',
  webgl2: 'gpu',
  webgl: 'gpu',
  webgpu: 'webgpu',
};

type Gradient = 'dx' | 'dw' | 'db';
const GRADIENT_SOURCES = { dx: dxSource, dw: dwSource, db: dbSource };

interface Program<R> {
  readonly run: R;
  calls: number;
}

/**
 * Owns one gpu.js instance in one mode and caches what it compiles, keyed by the generated
 * source (which holds every size), so the same convolution never compiles twice.
 */
export class Engine {
  readonly stats: EngineStats = { compiles: 0, cacheHits: 0, compileMs: 0, runMs: 0 };
  private readonly gpu: GPUInstance;
  private readonly kernels = new Map<string, Program<KernelRun>>();
  private readonly pipelines = new Map<string, Program<PipelineRun>>();
  /** The last queued call: gpu.js kernels reuse their output buffers, so calls never overlap. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly mode: GpujsMode) {
    this.gpu = new GPU({ mode });
  }

  private createKernel(ks: KernelSource): KernelRun {
    this.stats.compiles++;
    return this.gpu.createKernel(ks.source, {
      output: ks.output,
      precision: 'single',
      tactic: 'precision',
      loopMaxIterations: ks.longestLoop + 1,
      // Results are copied out at once, so reusing the output buffer between calls is safe.
      immutable: false,
      dynamicOutput: false,
      dynamicArguments: false,
    });
  }

  /** Runs `work` after every call queued before it has settled. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private cached<R>(cache: Map<string, Program<R>>, key: string, make: () => R): Program<R> {
    const hit = cache.get(key);
    if (hit) {
      this.stats.cacheHits++;
      return hit;
    }
    const program = { run: make(), calls: 0 };
    cache.set(key, program);
    return program;
  }

  /** Times a call; a program whose first call fails is dropped rather than kept half-built. */
  private async timed<R, T>(
    cache: Map<string, Program<R>>,
    key: string,
    program: Program<R>,
    call: () => Promise<T>,
  ): Promise<T> {
    const start = performance.now();
    let result: T;
    try {
      result = await call();
    } catch (e) {
      if (program.calls === 0) cache.delete(key);
      throw e;
    }
    const ms = performance.now() - start;
    if (program.calls++ === 0) this.stats.compileMs += ms;
    else this.stats.runMs += ms;
    return result;
  }

  private x(desc: ConvDescription, data: Float32Array) {
    return input(data, activationDims(desc, desc.inChannels, desc.inHeight, desc.inWidth));
  }

  private y(desc: ConvDescription, data: Float32Array) {
    return input(data, activationDims(desc, desc.outChannels, desc.outHeight, desc.outWidth));
  }

  forward(desc: ConvDescription, x: Float32Array, w: Float32Array, b: Float32Array | null) {
    return this.exclusive(() => this.forwardNow(desc, x, w, b));
  }

  private async forwardNow(
    desc: ConvDescription,
    x: Float32Array,
    w: Float32Array,
    b: Float32Array | null,
  ) {
    const ks = forwardSource(desc);
    const key = `forward\n${ks.output.join('x')}\n${ks.source}`;
    const program = this.cached(this.kernels, key, () => this.createKernel(ks));
    const args: unknown[] = [this.x(desc, x), input(w, weightDims(desc))];
    if (b) args.push(b);
    const result = await this.timed(this.kernels, key, program, async () => {
      const r = await program.run(...args);
      checkRanInMode(program.run, this.mode);
      return r;
    });
    return flatten(result, ks, desc.ySize);
  }

  /**
   * The wanted gradients as one gpu.js pipeline: dy, x and w are uploaded once, the kernels run
   * back to back on the device (fused into one WebAssembly plan in webasm mode), and the
   * results are read back once.
   */
  backward(
    desc: ConvDescription,
    dy: Float32Array,
    x: Float32Array,
    w: Float32Array,
    wanted: Record<Gradient, boolean>,
  ): Promise<Partial<Record<Gradient, Float32Array>>> {
    return this.exclusive(() => this.backwardNow(desc, dy, x, w, wanted));
  }

  private async backwardNow(
    desc: ConvDescription,
    dy: Float32Array,
    x: Float32Array,
    w: Float32Array,
    wanted: Record<Gradient, boolean>,
  ): Promise<Partial<Record<Gradient, Float32Array>>> {
    const passes = (['dx', 'dw', 'db'] as const).filter((p) => wanted[p]);
    const sources = passes.map((p) => GRADIENT_SOURCES[p](desc));
    const key = passes
      .map((p, i) => `${p}\n${sources[i].output.join('x')}\n${sources[i].source}`)
      .join('\n');
    const program = this.cached(this.pipelines, key, () => {
      const kernels = passes.map((p, i) => [p, this.createKernel(sources[i])] as const);
      return this.gpu.createPipeline((dyIn, xIn, wIn) => {
        const out: Record<string, unknown> = {};
        for (const [p, k] of kernels) {
          out[p] = p === 'dx' ? k(dyIn, wIn) : p === 'dw' ? k(dyIn, xIn) : k(dyIn);
        }
        return out;
      });
    });
    const args = [this.y(desc, dy), this.x(desc, x), input(w, weightDims(desc))];
    const result = await this.timed(this.pipelines, key, program, async () => {
      const r = await program.run(...args);
      const ran = program.run.backend;
      if (ran !== PIPELINE_BACKEND[this.mode]) {
        const why = program.run.fallbackReason;
        fail(
          'unavailable',
          'gpujs mode',
          this.mode,
          `the mode that ran; the gpu.js pipeline ran on ${ran}${why ? ` (${why})` : ''}`,
        );
      }
      return r;
    });
    const size = { dx: desc.xSize, dw: desc.wSize, db: desc.outChannels };
    return Object.fromEntries(passes.map((p, i) => [p, flatten(result[p], sources[i], size[p])]));
  }

  dispose() {
    for (const p of this.pipelines.values()) p.run.destroy();
    this.pipelines.clear();
    this.kernels.clear();
    void this.gpu.destroy();
  }
}
