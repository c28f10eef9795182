import {
  type BackendCreateOptions,
  type BackendProvider,
  type Capabilities,
  type Conv2dBackend,
  checkOptionsObject,
  defineBackend,
  fail,
  INT32_MAX_COORDINATE,
  MAX_TENSOR_ELEMENTS,
  requireInteger,
  resolveThreads,
} from '@conv2d/core';
import { createEngine, type DxMethod, type EngineStats } from './engine.js';
import { WorkerPool } from './pool.js';

export type { DxMethod, EngineStats } from './engine.js';

export interface Im2colBackendOptions {
  /**
   * Threads per pass, the calling thread included. Default: the number of cores
   * (`os.availableParallelism()`) in Node, 1 where there are no worker threads. A count given
   * here runs as asked or fails (`unavailable`: in a browser, or when the workers cannot start);
   * the default falls back to 1 thread with a process warning (`CONV2D_NO_WORKERS`).
   */
  threads?: number;
  /** Bound on the im2col workspace, all threads together. Default 64 MiB. */
  workspaceBytes?: number;
  /** How dX is computed. Default: `col2im` (measured faster, see README). */
  dxMethod?: DxMethod;
  /**
   * Passes below this many flops run on the calling thread, where handing work to the pool
   * costs more than it saves. Default 2e7 (about a millisecond of GEMM work): on smaller
   * passes (the bench's 1x1/2 projection D, 13 MFLOP, and depthwise E, 7 MFLOP) waking a
   * worker and waiting for it made 2 threads slower than one.
   */
  minThreadedFlops?: number;
}

export interface Im2colBackend extends Conv2dBackend {
  /** The threads really running: 1 once the worker threads could not start. */
  readonly threads: number;
  readonly workspaceBytes: number;
  readonly dxMethod: DxMethod;
  readonly stats: Readonly<EngineStats>;
}

export const DEFAULT_WORKSPACE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_DX_METHOD: DxMethod = 'col2im';
export const DX_METHODS: readonly DxMethod[] = ['col2im', 'transposed'];

const KNOWN_OPTIONS = new Set(['threads', 'workspaceBytes', 'dxMethod', 'minThreadedFlops']);
export const DEFAULT_MIN_THREADED_FLOPS = 2e7;

export const capabilities: Capabilities = Object.freeze({
  layouts: Object.freeze(['NCHW', 'NHWC'] as const),
  groups: true,
  dilation: true,
  maxElements: MAX_TENSOR_ELEMENTS,
  accumulation: 'float32',
  dxMethods: Object.freeze([...DX_METHODS]),
  // The Wasm kernels index in i32: larger strides, paddings and dilations run compacted.
  maxCoordinate: INT32_MAX_COORDINATE,
});

interface NodeThreads {
  cores: number;
}

/** Cores and worker threads, when this runtime has them (Node); null in browsers. */
async function nodeThreads(): Promise<NodeThreads | null> {
  if (typeof SharedArrayBuffer === 'undefined') return null;
  try {
    const os = await import('node:os');
    await import('node:worker_threads');
    const cores =
      typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    return { cores: Math.max(1, cores) };
  } catch {
    return null;
  }
}

function checkOptions(options: Im2colBackendOptions): void {
  checkOptionsObject('options', options, KNOWN_OPTIONS);
  if (
    options.workspaceBytes !== undefined &&
    requireInteger('options.workspaceBytes', options.workspaceBytes) < 1024
  ) {
    fail('invalid-option', 'options.workspaceBytes', options.workspaceBytes, 'an integer >= 1024');
  }
  if (options.dxMethod !== undefined && !DX_METHODS.includes(options.dxMethod)) {
    fail('invalid-option', 'options.dxMethod', options.dxMethod, `one of ${DX_METHODS.join(', ')}`);
  }
  const minFlops = options.minThreadedFlops;
  if (minFlops !== undefined && !(typeof minFlops === 'number' && minFlops >= 0)) {
    fail('invalid-option', 'options.minThreadedFlops', minFlops, 'a number >= 0');
  }
}

/**
 * Creates the im2col + GEMM backend. Its name is the backend spec: `im2col` with the default
 * dX method, `im2col:col2im` / `im2col:transposed` when `dxMethod` is given.
 */
export async function createIm2colBackend(
  options: Im2colBackendOptions = {},
): Promise<Im2colBackend> {
  checkOptions(options);
  const node = await nodeThreads();
  // core's rule: an explicit count runs as asked or is an error, never silently fewer
  const threads = resolveThreads(
    options.threads,
    node
      ? { default: node.cores, max: Number.POSITIVE_INFINITY, why: '' }
      : { default: 1, max: 1, why: 'this runtime has no worker threads (node:worker_threads)' },
  );
  let running = threads;
  /** Starts the pool; when it cannot, says so and falls back to one thread (see Runner.run). */
  const startPool = async (workers: number): Promise<WorkerPool> => {
    try {
      return await WorkerPool.create(workers);
    } catch (e) {
      const why = `worker threads did not start (${e instanceof Error ? e.message : String(e)})`;
      // asked for explicitly: every threaded call fails, as a browser's would
      if (options.threads !== undefined) resolveThreads(options.threads, { ...ONE, why });
      running = 1;
      process.emitWarning(`conv2d im2col runs on 1 thread: ${why}`, { code: 'CONV2D_NO_WORKERS' });
      throw e;
    }
  };
  const workspaceBytes = options.workspaceBytes ?? DEFAULT_WORKSPACE_BYTES;
  const dxMethod = options.dxMethod ?? DEFAULT_DX_METHOD;
  const engine = createEngine({
    threads,
    workspaceBytes,
    dxMethod,
    minThreadedFlops: options.minThreadedFlops ?? DEFAULT_MIN_THREADED_FLOPS,
    startPool: node && threads > 1 ? startPool : null,
  });
  const name = options.dxMethod ? `im2col:${dxMethod}` : 'im2col';
  const backend = defineBackend(name, capabilities, engine);
  return Object.defineProperties(Object.assign(backend, { workspaceBytes, dxMethod }), {
    // the threads really running: falls to 1 when the workers could not start
    threads: { get: () => running, enumerable: true },
    stats: { value: engine.stats, enumerable: true },
  }) as Im2colBackend;
}

const ONE = { default: 1, max: 1 };

export const backendProvider: BackendProvider = {
  name: 'im2col',
  variants: DX_METHODS,
  options: [...KNOWN_OPTIONS],
  description:
    'im2col + GEMM (WebAssembly SIMD or TypeScript), col2im or transposed-convolution dX, bounded workspace, worker threads',
  async probe(variant) {
    if (variant !== null && !DX_METHODS.includes(variant as DxMethod)) {
      return {
        available: false,
        reason: `no variant ${variant}; variants: ${DX_METHODS.join(', ')}`,
      };
    }
    const node = await nodeThreads();
    return {
      available: true,
      reason: node ? `${node.cores} threads available` : 'single-threaded (no worker_threads)',
    };
  },
  async create(variant, options: BackendCreateOptions = {}) {
    if (variant !== null && !DX_METHODS.includes(variant as DxMethod)) {
      fail(
        'unavailable',
        'backend variant',
        `im2col:${variant}`,
        `one of im2col, ${DX_METHODS.map((m) => `im2col:${m}`).join(', ')}`,
      );
    }
    const o = options as Im2colBackendOptions;
    return createIm2colBackend(variant === null ? o : { ...o, dxMethod: variant as DxMethod });
  },
};
