import { type ConvDescription, fail } from '@conv2d/core';
import { dwBlockSource, dxBlockSource, forwardBlockSource } from './block-sources.js';
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
import { flatten, readPacked } from './readback.js';
import {
  activationDims,
  dbSource,
  dwSource,
  dxSource,
  forwardSource,
  type KernelSource,
  type Lanes,
  weightDims,
} from './sources.js';
import { forwardDepthwiseSource } from './wgsl-depthwise.js';
import { hostWgsl } from './wgsl-kernel.js';
import {
  dwTiledSource,
  dxTiledSource,
  forwardTiledSource,
  type WgslKernelSource,
} from './wgsl-sources.js';

/** The gpu.js kernel class each mode must end up running on (gpu.js may swap it silently). */
const KERNEL_CLASS: Record<GpujsMode, unknown> = {
  cpu: CPUKernel,
  webasm: WebAssemblyKernel,
  headlessgl: HeadlessGLKernel,
  webgl2: WebGL2Kernel,
  webgl: WebGLKernel,
  webgpu: WebGPUKernel,
};

/**
 * Where one call's time went, in milliseconds, from the moment gpu.js is called until the
 * result is in tensor order. The phases add up to the call's time in the engine.
 */
export interface CallPhases {
  readonly call: 'forward' | 'backward';
  /** The call compiled its kernels first (its time is then mostly compiling). */
  readonly compiled: boolean;
  /**
   * gpu.js's synchronous part: copying the arguments, uploading them and dispatching; the whole
   * computation for a synchronous webasm kernel; for a pipeline only the copies gpu.js takes of
   * its arguments (the rest of the call queues). GPU modes (whose one-shot calls run through
   * device-one-shot.ts): the uploads and every kernel run, and in webgpu the wait for the device
   * too (their `waitMs` is 0; GL's readback is `shapeMs`).
   */
  readonly submitMs: number;
  /**
   * From then until the last result was copied off the device: on webgpu the GPU's work, the
   * staging map and the copy out (plus, for a pipeline, its upload). Kernels that read back
   * without the hook of readback.ts (cpu, GL) count their whole wait as `shapeMs` instead.
   */
  readonly waitMs: number;
  /** From then until gpu.js's promise settled: gpu.js shaping its results. */
  readonly shapeMs: number;
  /** This package putting the results in tensor order (lanes to channels). */
  readonly unpackMs: number;
}

/** Counters a test (or a curious user) can read: compiling is the expensive part. */
export interface EngineStats {
  /** Kernels created (each compiles on its first call, alone or inside a backward pipeline). */
  compiles: number;
  /** Forward and backward calls answered by an already compiled kernel or pipeline. */
  cacheHits: number;
  /** Milliseconds spent in first calls (compile + first run), and in later calls. */
  compileMs: number;
  runMs: number;
  /** The phases of the last one-shot call that succeeded, or null before the first. */
  last: CallPhases | null;
  /**
   * Tensors a plan, a GPU mode's one-shot call or a device tensor copied from host to GPU memory, and
   * back (GL and webgpu modes; cpu and webasm keep host arrays and count neither): a resident
   * chain of plan calls adds none until `read()`.
   */
  uploads: number;
  readbacks: number;
  /** GPU textures (webgpu: buffers) held for plans, saved states and device tensors. */
  textures: number;
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

/** What a pipeline's `backend` reports for each mode (gpu.js GL kernels call themselves 'gpu'). */
const PIPELINE_BACKEND: Record<GpujsMode, string> = {
  cpu: 'cpu',
  webasm: 'webasm',
  headlessgl: 'gpu',
  webgl2: 'gpu',
  webgl: 'gpu',
  webgpu: 'webgpu',
};

export type Gradient = 'dx' | 'dw' | 'db';
/** The kernel source of each pass (one-shot kernels and plans share them). */
export const PASS_SOURCES = { forward: forwardSource, dx: dxSource, dw: dwSource, db: dbSource };
export type PassName = keyof typeof PASS_SOURCES;

/**
 * Which kernels run: `gather`, one output (or 4 channels) per thread (sources.ts); `block`, a
 * block of neighbouring outputs per thread (block-sources.ts), where the shape allows it.
 */
export type KernelFamily = 'gather' | 'block' | 'tiled';
export const KERNEL_FAMILIES: readonly KernelFamily[] = ['gather', 'block', 'tiled'];
const BLOCK_SOURCES: Partial<
  Record<PassName, (d: ConvDescription, unroll: boolean) => KernelSource | null>
> = {
  forward: forwardBlockSource,
  dx: dxBlockSource,
  dw: dwBlockSource,
};
/** `tiled` (webgpu only): WGSL matrix products through workgroup memory (wgsl-sources.ts). */
const TILED_SOURCES: Partial<Record<PassName, (d: ConvDescription) => WgslKernelSource | null>> = {
  forward: (d) => forwardTiledSource(d) ?? forwardDepthwiseSource(d),
  dx: dxTiledSource,
  dw: dwTiledSource,
};

interface Program<R> {
  readonly run: R;
  calls: number;
}

/**
 * Owns one gpu.js instance in one mode and caches what it compiles, keyed by the generated
 * source (which holds every size), so the same convolution never compiles twice.
 */
export class Engine {
  readonly stats: EngineStats = {
    compiles: 0,
    cacheHits: 0,
    compileMs: 0,
    runMs: 0,
    last: null,
    uploads: 0,
    readbacks: 0,
    textures: 0,
  };
  private readonly gpu: GPUInstance;
  /** When the current call's last result was copied off the device (see readPacked). */
  private readAt = Number.NaN;
  private readonly kernels = new Map<string, Program<KernelRun>>();
  private readonly pipelines = new Map<string, Program<PipelineRun>>();
  /** The last queued call: gpu.js kernels reuse their output buffers, so calls never overlap. */
  private tail: Promise<unknown> = Promise.resolve();

  /** `lanes`: the most channels one GPU thread computes (4 where the channel count allows). */
  constructor(
    readonly mode: GpujsMode,
    readonly lanes: Lanes = 4,
    readonly family: KernelFamily = 'gather',
  ) {
    this.gpu = new GPU({ mode });
    // Every kernel this instance creates, the private copies a pipeline makes included, hands
    // back its packed result instead of gpu.js's nested arrays where gpu.js allows it.
    const create = this.gpu.createKernel.bind(this.gpu);
    const onRead = () => {
      this.readAt = performance.now();
    };
    this.gpu.createKernel = (source, settings) => {
      const run = create(source, settings);
      readPacked(run.kernel, onRead);
      return run;
    };
  }

  /**
   * The kernel source of one pass in this engine's family: a block kernel where the shape
   * allows one, else the gather kernel with `lanes` channels per thread.
   */
  passSource(name: PassName, desc: ConvDescription, lanes: Lanes = this.lanes): KernelSource {
    // Kernel rows unrolled except in webgpu (measured: faster in webgl2, slower in webgpu).
    const tiled = this.family === 'tiled' ? TILED_SOURCES[name]?.(desc) : null;
    const block =
      this.family !== 'gather' ? BLOCK_SOURCES[name]?.(desc, this.mode !== 'webgpu') : null;
    return tiled ?? block ?? PASS_SOURCES[name](desc, lanes);
  }

  /**
   * `pipeline`: the kernel returns a texture (GL modes) that stays valid until deleted, however
   * often the kernel runs again (`immutable`; without it gpu.js would render the next call into
   * the texture it returned). Otherwise results are copied out at once, so reusing the output
   * buffer between calls is safe.
   */
  private createKernel(ks: KernelSource, pipeline = false): KernelRun {
    this.stats.compiles++;
    const run = this.gpu.createKernel(ks.source, {
      output: ks.output,
      precision: 'single',
      tactic: 'precision',
      loopMaxIterations: ks.longestLoop + 1,
      immutable: pipeline,
      pipeline,
      dynamicOutput: false,
      dynamicArguments: false,
    });
    if (ks.wgsl) hostWgsl(run.kernel, ks.wgsl);
    return run;
  }

  /**
   * The kernel of `ks` that returns textures (GL plans), compiled once per engine: plans of the
   * same convolution share it. Made when a plan is made, so plan calls compile nothing.
   */
  textureKernel(ks: KernelSource): KernelRun {
    const key = `texture\n${ks.output.join('x')}\n${ks.source}\n${ks.wgsl?.body ?? ''}`;
    return this.cached(this.kernels, key, () => this.createKernel(ks, true)).run;
  }

  /**
   * Compiles what the one-shot calls of `desc` run (the forward kernel and the backward
   * pipeline of all three gradients), so a plan of a host-array mode has them from the start.
   */
  prepareOneShot(desc: ConvDescription): void {
    this.forwardProgram(desc);
    this.backwardProgram(desc, ['dx', 'dw', 'db']);
  }

  /** Counts a one-shot call timed elsewhere (GPU modes run theirs through device-one-shot.ts). */
  record(phases: CallPhases): void {
    const ms = phases.submitMs + phases.waitMs + phases.shapeMs + phases.unpackMs;
    if (phases.compiled) this.stats.compileMs += ms;
    else this.stats.runMs += ms;
    this.stats.last = phases;
  }

  /** Runs `work` after every call queued before it has settled (gpu.js state is shared). */
  exclusive<T>(work: () => T | Promise<T>): Promise<T> {
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

  /**
   * Runs `call` (gpu.js's call, then `check` on what ran) and `unpack`, timing each phase; a
   * program whose first call fails is dropped rather than kept half-built.
   */
  private async timed<R, T, U>(
    what: CallPhases['call'],
    cache: Map<string, Program<R>>,
    key: string,
    program: Program<R>,
    call: () => T | Promise<T>,
    check: () => void,
    unpack: (result: T) => U,
  ): Promise<U> {
    this.readAt = Number.NaN;
    const start = performance.now();
    let result: T;
    let submitted = start;
    try {
      const pending = call();
      submitted = performance.now();
      result = await pending;
      check();
    } catch (e) {
      if (program.calls === 0) cache.delete(key);
      throw e;
    }
    const settled = performance.now();
    const unpacked = unpack(result);
    const end = performance.now();
    // A synchronous kernel reads back inside its call: its wait is 0.
    const read = Number.isNaN(this.readAt) ? submitted : Math.max(submitted, this.readAt);
    const compiled = program.calls++ === 0;
    if (compiled) this.stats.compileMs += end - start;
    else this.stats.runMs += end - start;
    this.stats.last = {
      call: what,
      compiled,
      submitMs: submitted - start,
      waitMs: read - submitted,
      shapeMs: settled - read,
      unpackMs: end - settled,
    };
    return unpacked;
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

  private forwardProgram(desc: ConvDescription) {
    const ks = this.passSource('forward', desc);
    const key = `forward\n${ks.output.join('x')}\n${ks.source}`;
    return { ks, key, program: this.cached(this.kernels, key, () => this.createKernel(ks)) };
  }

  private async forwardNow(
    desc: ConvDescription,
    x: Float32Array,
    w: Float32Array,
    b: Float32Array | null,
  ) {
    const { ks, key, program } = this.forwardProgram(desc);
    const args: unknown[] = [this.x(desc, x), input(w, weightDims(desc))];
    if (b) args.push(b);
    return this.timed(
      'forward',
      this.kernels,
      key,
      program,
      () => program.run(...args),
      () => checkRanInMode(program.run, this.mode),
      (result) => flatten(result, ks, desc.ySize),
    );
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

  private backwardProgram(desc: ConvDescription, passes: readonly Gradient[]) {
    const sources = passes.map((p) => this.passSource(p, desc));
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
    return { sources, key, program };
  }

  private async backwardNow(
    desc: ConvDescription,
    dy: Float32Array,
    x: Float32Array,
    w: Float32Array,
    wanted: Record<Gradient, boolean>,
  ): Promise<Partial<Record<Gradient, Float32Array>>> {
    const passes = (['dx', 'dw', 'db'] as const).filter((p) => wanted[p]);
    const { sources, key, program } = this.backwardProgram(desc, passes);
    const args = [this.y(desc, dy), this.x(desc, x), input(w, weightDims(desc))];
    const size = { dx: desc.xSize, dw: desc.wSize, db: desc.outChannels };
    return this.timed(
      'backward',
      this.pipelines,
      key,
      program,
      () => program.run(...args),
      () => {
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
      },
      (result) =>
        Object.fromEntries(passes.map((p, i) => [p, flatten(result[p], sources[i], size[p])])),
    );
  }

  dispose() {
    for (const p of this.pipelines.values()) p.run.destroy();
    this.pipelines.clear();
    this.kernels.clear();
    void this.gpu.destroy();
  }
}
