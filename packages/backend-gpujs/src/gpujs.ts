import gpujs from 'gpu.js';

/**
 * The parts of gpu.js this package uses, typed here: gpu.js's own typings lag its runtime
 * (no `input` value, no WebGPUKernel, no `loopMaxIterations` setting).
 */
export interface KernelClass {
  readonly name: string;
  readonly isSupported: boolean;
  readonly features?: { maxTextureSize?: number; isTextureFloat?: boolean };
}

export interface KernelSettings {
  output: number[];
  precision: 'single';
  tactic: 'precision';
  loopMaxIterations: number;
  immutable: boolean;
  /** Return a texture (GL modes) instead of reading the result back. */
  pipeline?: boolean;
  dynamicOutput: boolean;
  dynamicArguments: boolean;
}

/** A compiled kernel: callable; `.kernel` is the backend kernel that actually runs it. */
export interface KernelRun {
  (...args: unknown[]): unknown;
  readonly kernel: {
    readonly constructor: unknown;
    readonly precision?: string;
    readonly fallbackReason?: string | null;
    /** Compiles for arguments like these without running (webgpu: a Promise). */
    build?(...args: unknown[]): unknown;
  };
}

/**
 * A kernel's result kept in GPU memory (`pipeline: true`): a reference to a WebGL texture (GL
 * modes) or a storage buffer (webgpu), counted by gpu.js, that other kernels take as an
 * argument. `clone()` adds a reference to the same memory; `delete()` drops one (it is freed
 * with the last).
 */
export interface GpuTexture {
  /** The result's gpu.js output size, [x] or [x, y, z]: what a kernel reading it was built for. */
  readonly output: readonly number[];
  /**
   * Its values as a non-pipeline run would give them: nested arrays or one Float32Array (GL), a
   * Promise of them (webgpu; a PackedResult through readback.ts's hook).
   */
  toArray(): unknown;
  clone(): GpuTexture;
  delete(): void;
  /** gpu.js's mark of a deleted reference (a kernel would read freed memory). */
  readonly _deleted?: boolean;
}

/** A compiled multi-kernel plan: inputs uploaded once, intermediates on device, one readback. */
export interface PipelineRun {
  (...args: unknown[]): Promise<Record<string, unknown>>;
  /** The mode whose kernels executed (GL kernels say 'gpu'); null before the first call. */
  readonly backend: string | null;
  readonly executorKind: string | null;
  readonly fallbackReason: string | null;
  destroy(): unknown;
}

export interface GPUInstance {
  createKernel(source: string, settings: KernelSettings): KernelRun;
  createPipeline(fn: (...args: unknown[]) => Record<string, unknown>): PipelineRun;
  destroy(): Promise<void> | void;
}

interface GpujsModule {
  GPU: {
    new (settings: { mode: string }): GPUInstance;
    readonly isWebAssemblySupported: boolean;
    readonly isWebGLSupported: boolean;
    readonly isWebGL2Supported: boolean;
    isWebGPUAvailable(): Promise<boolean>;
  };
  input(data: Float32Array, size: number[]): unknown;
  CPUKernel: KernelClass;
  WebAssemblyKernel: KernelClass;
  HeadlessGLKernel: KernelClass;
  WebGLKernel: KernelClass;
  WebGL2Kernel: KernelClass;
  WebGPUKernel: KernelClass;
}

const lib = gpujs as unknown as GpujsModule;
export const {
  GPU,
  input,
  CPUKernel,
  WebAssemblyKernel,
  HeadlessGLKernel,
  WebGLKernel,
  WebGL2Kernel,
  WebGPUKernel,
} = lib;
