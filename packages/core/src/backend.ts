import { engineDescription } from './compact.js';
import {
  type ConvDescription,
  checkTensor,
  validateBackward,
  validateForward,
} from './describe.js';
import { Device, type DeviceTensor, hostStore, type TensorStore } from './device.js';
import { fail } from './errors.js';
import type { Conv2dOptions } from './options.js';
import {
  type Conv2dPlan,
  createPlan,
  type EnginePlan,
  type OneShotKernels,
  type PlanSpec,
  planFromOneShot,
} from './plan.js';
import type { Layout, Tensor } from './tensor.js';

/** What an engine can do; checked by core before the engine sees a call. */
export interface Capabilities {
  readonly layouts: readonly Layout[];
  readonly groups: boolean;
  readonly dilation: boolean;
  /** Largest element count of any one tensor (x, w, y, dy, dx, dw) the engine accepts. */
  readonly maxElements: number;
  /** How results are accumulated: float32 engines, or float64 (the oracle). */
  readonly accumulation: 'float32' | 'float64';
  /** The dX methods the engine implements. */
  readonly dxMethods: readonly ('col2im' | 'transposed' | 'direct')[];
  /**
   * Largest index value the engine's arithmetic handles exactly, sums of two included: per
   * spatial axis the padded input extent, stride and dilation. `INT32_MAX_COORDINATE` for 32-bit
   * integer indexing, `FLOAT32_MAX_COORDINATE` for float32; absent: any (float64, as core).
   * A larger call runs on an equivalent compacted description or is rejected `too-large`.
   */
  readonly maxCoordinate?: number;
}

/** Which gradients a backward call should compute. Missing fields mean true. */
export interface Wanted {
  dx?: boolean;
  dw?: boolean;
  db?: boolean;
}

export interface Gradients {
  dx: Tensor | null;
  dw: Tensor | null;
  db: Tensor | null;
}

export interface Conv2dBackend {
  /** The backend spec that created it: `naive`, `im2col:col2im`, `gpujs:webasm`, ... */
  readonly name: string;
  readonly capabilities: Capabilities;
  forward(x: Tensor, w: Tensor, b?: Tensor | null, options?: Conv2dOptions): Promise<Tensor>;
  backward(
    dy: Tensor,
    x: Tensor,
    w: Tensor,
    options?: Conv2dOptions,
    wanted?: Wanted,
  ): Promise<Gradients>;
  /**
   * Prepares one convolution to run many times: validation once, weights packed or uploaded
   * once by `setWeights`, results into reused buffers or kept on the device.
   */
  plan(spec: PlanSpec): Promise<Conv2dPlan>;
  /** Copies a tensor to where this backend computes (free of readbacks in plan chains). */
  upload(t: Tensor): Promise<DeviceTensor>;
  /** Frees everything: plans, device tensors, workers, GPU memory. */
  dispose(): void;
}

/**
 * What an engine implements: pure computation on validated, non-empty input. `defineBackend`
 * adds validation, capability checks, empty-batch handling and the disposed state, so every
 * engine rejects and accepts exactly the same inputs.
 */
export interface BackendKernels<H = Float32Array> extends OneShotKernels {
  /**
   * Prepares one (validated) convolution for a plan. Without it a plan runs on `forward` and
   * `backward` above (`planFromOneShot`): correct, but nothing prepared.
   */
  plan?(desc: ConvDescription): EnginePlan<H, unknown> | Promise<EnginePlan<H, unknown>>;
  /** Where device tensors live. Default: host arrays (`hostStore`), for CPU engines. */
  store?: TensorStore<H>;
  /**
   * Set when `forward` and `backward` have read x, w, b and dy before they return (a synchronous
   * engine, or one that copies or uploads them first). Otherwise `defineBackend` hands them
   * copies: a caller may change its arrays as soon as a call has returned its promise.
   */
  readsInputsAtCall?: boolean;
  dispose?(): void;
}

/**
 * Rejects a description the engine cannot run, with the reason; returns the description its
 * kernels run (see `engineDescription`: `desc`, or an equivalent with smaller index values).
 */
export function checkCapabilities(
  desc: ConvDescription,
  caps: Capabilities,
  backendName: string,
): ConvDescription {
  if (!caps.layouts.includes(desc.layout)) {
    fail(
      'unsupported',
      'options.layout',
      desc.layout,
      `one of ${caps.layouts.join(', ')} (backend ${backendName})`,
    );
  }
  if (!caps.groups && desc.groups !== 1) {
    fail(
      'unsupported',
      'options.groups',
      desc.groups,
      `1 (backend ${backendName} has no grouped convolution)`,
    );
  }
  if (!caps.dilation && (desc.dilationHeight !== 1 || desc.dilationWidth !== 1)) {
    fail(
      'unsupported',
      'options.dilation',
      [desc.dilationHeight, desc.dilationWidth],
      `[1, 1] (backend ${backendName} has no dilation)`,
    );
  }
  const sizes: [string, number][] = [
    ['x', desc.xSize],
    ['w', desc.wSize],
    ['y', desc.ySize],
  ];
  for (const [name, size] of sizes) {
    if (size > caps.maxElements) {
      fail(
        'too-large',
        `${name} element count`,
        size,
        `at most ${caps.maxElements} elements (backend ${backendName})`,
      );
    }
  }
  return engineDescription(desc, caps, backendName);
}

function tensorOf(shape: readonly number[], data: Float32Array): Tensor {
  return { shape: [...shape], data };
}

function checkResult(
  backendName: string,
  what: string,
  data: Float32Array | undefined,
  size: number,
): Float32Array {
  if (!(data instanceof Float32Array) || data.length !== size) {
    // An engine bug, not a user error: never hand back a tensor of the wrong size.
    throw new Error(
      `backend ${backendName} returned ${what} of length ${data?.length} instead of ${size}`,
    );
  }
  return data;
}

/** Wraps engine kernels into a full `Conv2dBackend`. */
export function defineBackend<H = Float32Array>(
  name: string,
  capabilities: Capabilities,
  kernels: BackendKernels<H>,
): Conv2dBackend {
  let disposed = false;
  const ensureLive = () => {
    if (disposed) fail('disposed', 'backend', name, 'a backend that has not been disposed');
  };
  const device = new Device<H>(name, kernels.store ?? (hostStore as unknown as TensorStore<H>));
  const plans = new Set<Conv2dPlan>();
  // The values at call time, for an engine that may read them after it first yields.
  const atCall = (data: Float32Array) => (kernels.readsInputsAtCall ? data : data.slice());
  const prepare = (desc: ConvDescription) => {
    const run = checkCapabilities(desc, capabilities, name);
    return kernels.plan
      ? kernels.plan(run)
      : (planFromOneShot(run, kernels) as unknown as EnginePlan<H, unknown>);
  };
  return {
    name,
    capabilities,
    async forward(x, w, b, options) {
      ensureLive();
      const desc = validateForward(x, w, b, options);
      const run = checkCapabilities(desc, capabilities, name);
      if (desc.ySize === 0) return tensorOf(desc.yShape, new Float32Array(0));
      const y = await kernels.forward(
        run,
        atCall(x.data),
        atCall(w.data),
        b ? atCall(b.data) : null,
      );
      return tensorOf(desc.yShape, checkResult(name, 'y', y, desc.ySize));
    },
    async backward(dy, x, w, options, wanted = {}) {
      ensureLive();
      const desc = validateBackward(dy, x, w, options);
      const run = checkCapabilities(desc, capabilities, name);
      const want = { dx: wanted.dx ?? true, dw: wanted.dw ?? true, db: wanted.db ?? true };
      let grads: Partial<Record<'dx' | 'dw' | 'db', Float32Array>> = {};
      if (desc.batch === 0) {
        // Empty batch: nothing flows back; weight and bias gradients are zero.
        grads = {
          dx: new Float32Array(0),
          dw: new Float32Array(desc.wSize),
          db: new Float32Array(desc.outChannels),
        };
      } else if (want.dx || want.dw || want.db) {
        grads = await kernels.backward(run, atCall(dy.data), atCall(x.data), atCall(w.data), want);
      }
      return {
        dx: want.dx ? tensorOf(desc.xShape, checkResult(name, 'dx', grads.dx, desc.xSize)) : null,
        dw: want.dw ? tensorOf(desc.wShape, checkResult(name, 'dw', grads.dw, desc.wSize)) : null,
        db: want.db
          ? tensorOf([desc.outChannels], checkResult(name, 'db', grads.db, desc.outChannels))
          : null,
      };
    },
    async plan(spec) {
      ensureLive();
      const check = (desc: ConvDescription) => checkCapabilities(desc, capabilities, name);
      const plan = await createPlan(
        { name, capabilities, device, check, prepare, ensureLive, forget: (p) => plans.delete(p) },
        spec,
      );
      if (disposed) {
        plan.dispose();
        ensureLive();
      }
      plans.add(plan);
      return plan;
    },
    async upload(t) {
      ensureLive();
      const rank = Array.isArray((t as Tensor | null)?.shape) ? t.shape.length : 4;
      checkTensor('tensor', t, rank, '(any shape)');
      return device.upload(t);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const plan of [...plans]) plan.dispose();
      device.disposeAll();
      kernels.dispose?.();
    },
  };
}
