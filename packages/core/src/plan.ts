import type { Capabilities, Gradients, Wanted } from './backend.js';
import { type ConvDescription, checkTensor, describeConv } from './describe.js';
import { type Device, type DeviceTensor, isDeviceTensor } from './device.js';
import { fail, formatValue } from './errors.js';
import type { Conv2dOptions } from './options.js';
import type { Tensor } from './tensor.js';

/** What a plan is prepared for: the shapes and options of every call it will run. */
export interface PlanSpec {
  /** x's shape in `options.layout`. */
  xShape: readonly number[];
  /** [Cout, Cin/groups, Kh, Kw]. */
  wShape: readonly number[];
  /** Whether `setWeights` gets a bias. Default false. */
  bias?: boolean;
  options?: Conv2dOptions;
}

/** A host tensor, or a device tensor of the plan's backend (`backend.upload`, `resident`). */
export type TensorInput = Tensor | DeviceTensor;

export interface PlanForwardOptions<Resident extends boolean = boolean> {
  /** Keep what backward needs (a copy of x, or X_hat): `saved`, owned by the plan. */
  save?: boolean;
  /** A caller-owned y of the plan's output shape, written in place and returned. */
  out?: Tensor;
  /** Return y as a device tensor (no readback): for chains of plan calls. */
  resident?: Resident;
}

export interface PlanBackwardOptions<Resident extends boolean = boolean> {
  /** Which gradients to compute; missing fields mean true. */
  wanted?: Wanted;
  /** Caller-owned results, written in place and returned. */
  out?: { dx?: Tensor; dw?: Tensor; db?: Tensor };
  /** Return the gradients as device tensors. */
  resident?: Resident;
}

/**
 * What backward needs from one forward, held by the plan: changing the caller's x later
 * cannot change the gradients. Free it with `dispose()` (the plan's dispose frees it too).
 */
export interface SavedActivations {
  readonly disposed: boolean;
  dispose(): void;
}

export interface PlanForwardResult<Y> {
  y: Y;
  /** Present when `save` was asked. */
  saved: SavedActivations | null;
}

export interface PlanGradients<T> {
  dx: T | null;
  dw: T | null;
  db: T | null;
}

/**
 * One convolution prepared once and run many times. Validation and shape math happen when it
 * is made; the engine keeps what it prepared (compiled kernels, packed or uploaded weights,
 * workspaces). Calls on one plan run one at a time, in call order; a call reads its input
 * tensors while it runs, so do not change them until its promise settles.
 */
export interface Conv2dPlan {
  readonly backend: string;
  /** Every size of the convolution, from core's `describeConv`. */
  readonly description: ConvDescription;
  readonly disposed: boolean;
  /** Packs / uploads the weights (a copy: change w afterwards and call it again). */
  setWeights(w: Tensor, b?: Tensor | null): Promise<void>;
  forward(x: TensorInput, options?: PlanForwardOptions<false>): Promise<PlanForwardResult<Tensor>>;
  forward(
    x: TensorInput,
    options: PlanForwardOptions<true>,
  ): Promise<PlanForwardResult<DeviceTensor>>;
  forward(
    x: TensorInput,
    options?: PlanForwardOptions,
  ): Promise<PlanForwardResult<Tensor | DeviceTensor>>;
  /**
   * Gradients for the upstream gradient dy, from a forward's `saved` state or from x itself.
   * dX uses the plan's weights, which must be those of the forward that saved (else
   * `plan-mismatch`, as PyTorch refuses a weight changed in place before backward).
   */
  backward(
    dy: TensorInput,
    from: SavedActivations | TensorInput,
    options?: PlanBackwardOptions<false>,
  ): Promise<Gradients>;
  backward(
    dy: TensorInput,
    from: SavedActivations | TensorInput,
    options: PlanBackwardOptions<true>,
  ): Promise<PlanGradients<DeviceTensor>>;
  backward(
    dy: TensorInput,
    from: SavedActivations | TensorInput,
    options?: PlanBackwardOptions,
  ): Promise<PlanGradients<Tensor | DeviceTensor>>;
  /** Frees everything the plan prepared and every saved state it holds. */
  dispose(): void;
}

type Awaitable<T> = T | Promise<T>;
export type GradientName = 'dx' | 'dw' | 'db';

/** What an engine's plan gets for one forward: where y goes. */
export interface ForwardRequest {
  save: boolean;
  /** Return y as a handle the plan wraps in a device tensor (a fresh one per call). */
  resident: boolean;
  /** Write y here (length ySize) when given; returning another array is allowed (copied). */
  out: Float32Array | null;
}

export interface BackwardRequest {
  wanted: Required<Wanted>;
  resident: boolean;
  out: Partial<Record<GradientName, Float32Array>>;
}

/**
 * What an engine prepares for one convolution (`BackendKernels.plan`). Core has validated
 * everything: inputs have the plan's shapes, weights were set, saved states are this plan's.
 * Inputs are host arrays or the engine's own device handles (`H`); they are the caller's,
 * so keep nothing of them past the call except through `save` (a copy or X_hat).
 */
export interface EnginePlan<H = Float32Array, S = unknown> {
  /** w and b are core's private copies: the engine may keep them as they are. */
  setWeights(w: Float32Array, b: Float32Array | null): Awaitable<void>;
  forward(
    x: Float32Array | H,
    request: ForwardRequest,
  ): Awaitable<{ y: Float32Array | H; saved: S | null }>;
  backward(
    dy: Float32Array | H,
    saved: S,
    request: BackwardRequest,
  ): Awaitable<Partial<Record<GradientName, Float32Array | H>>>;
  /** A saved state from x alone, for `plan.backward(dy, x)`. */
  save(x: Float32Array | H): Awaitable<S>;
  release(saved: S): void;
  dispose?(): void;
}

/**
 * An engine's one-shot kernels (the core of `BackendKernels`), which a plan falls back on when
 * the engine prepares nothing. A plan passes the caller's result buffers as `out` (sharing no
 * memory with the inputs): a kernel may write into them and return them (no fresh array, no
 * copy), or ignore them (core copies what it returns).
 */
export interface OneShotKernels {
  /** Returns y in desc.layout, length desc.ySize. */
  forward(
    desc: ConvDescription,
    x: Float32Array,
    w: Float32Array,
    b: Float32Array | null,
    out?: Float32Array,
  ): Awaitable<Float32Array>;
  backward(
    desc: ConvDescription,
    dy: Float32Array,
    x: Float32Array,
    w: Float32Array,
    wanted: Required<Wanted>,
    out?: Partial<Record<GradientName, Float32Array>>,
  ): Awaitable<Partial<Record<GradientName, Float32Array>>>;
}

/**
 * The plan of an engine that prepares nothing: weights and saved x are private copies, every
 * call goes through the one-shot kernels. A new backend starts here and gets faster by
 * implementing `BackendKernels.plan`.
 */
export function planFromOneShot(
  desc: ConvDescription,
  kernels: OneShotKernels,
): EnginePlan<Float32Array, Float32Array> {
  let w: Float32Array = new Float32Array(0);
  let b: Float32Array | null = null;
  return {
    setWeights(wd, bd) {
      w = wd;
      b = bd;
    },
    async forward(x, request) {
      const saved = request.save ? x.slice() : null; // before the kernel: x as it is now
      return { y: await kernels.forward(desc, x, w, b, request.out ?? undefined), saved };
    },
    backward: (dy, saved, request) =>
      kernels.backward(desc, dy, saved, w, request.wanted, request.out),
    save: (x) => x.slice(),
    release() {},
  };
}

/** Runs calls one at a time in call order; a failed call does not stop the next. */
class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => {});
    return result;
  }
}

interface SavedEntry {
  plan: object;
  state: unknown;
  /** The weights version of the forward that saved (0 for a saved state of an empty batch). */
  version: number;
}

const savedEntries = new WeakMap<SavedActivations, SavedEntry>();

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

type ShapeCode = 'plan-mismatch' | 'bias-shape';

function mismatch(
  argument: string,
  value: unknown,
  expected: readonly number[],
  what: string,
  code: ShapeCode = 'plan-mismatch',
) {
  fail(code, argument, value, `${formatValue(expected)} (the plan's ${what})`);
}

/** Whether two arrays share memory. */
function overlaps(a: Float32Array, b: Float32Array): boolean {
  return (
    a.buffer === b.buffer &&
    a.byteOffset < b.byteOffset + b.byteLength &&
    b.byteOffset < a.byteOffset + a.byteLength
  );
}

/**
 * Rejects an out buffer that shares memory with an input or with another out: an engine may
 * write results while it still reads its inputs, so an alias would give a wrong tensor.
 */
function checkOutsApart(outs: [string, Float32Array][], inputs: [string, unknown][]): void {
  outs.forEach(([name, data], k) => {
    for (const [other, array] of [...inputs, ...outs.slice(0, k)]) {
      if (array instanceof Float32Array && overlaps(data, array)) {
        fail(
          'invalid-option',
          name,
          `a buffer sharing memory with ${other}`,
          `a result buffer that shares no memory with ${other}`,
        );
      }
    }
  });
}

/** A caller-owned result buffer: a tensor of exactly the plan's shape. */
function checkOut(argument: string, t: Tensor, shape: readonly number[], what: string): Tensor {
  checkTensor(argument, t, shape.length, `(the ${what})`);
  if (!sameShape(t.shape, shape)) mismatch(`${argument}.shape`, t.shape, shape, what);
  return t;
}

function checkResult(backend: string, what: string, data: unknown, size: number): Float32Array {
  if (!(data instanceof Float32Array) || data.length !== size) {
    // An engine bug, not a user error: never hand back a tensor of the wrong size.
    throw new Error(
      `backend ${backend} returned ${what} of length ${(data as Float32Array | undefined)?.length} instead of ${size}`,
    );
  }
  return data;
}

export interface PlanContext<H> {
  name: string;
  capabilities: Capabilities;
  device: Device<H>;
  /** Rejects a description the engine cannot run (core's capability check). */
  check(desc: ConvDescription): void;
  /** Throws `disposed` once the backend is disposed. */
  ensureLive(): void;
  /** Told when a plan is disposed (the backend stops tracking it). */
  forget(plan: Conv2dPlan): void;
  prepare(desc: ConvDescription): Awaitable<EnginePlan<H, unknown>>;
}

/** Validates a plan spec once and wraps the engine's prepared state into a `Conv2dPlan`. */
export async function createPlan<H>(ctx: PlanContext<H>, spec: PlanSpec): Promise<Conv2dPlan> {
  if (spec === null || typeof spec !== 'object') {
    fail('invalid-option', 'plan spec', spec, '{ xShape, wShape, bias?, options? }');
  }
  if (spec.bias !== undefined && typeof spec.bias !== 'boolean') {
    fail('invalid-option', 'spec.bias', spec.bias, 'a boolean');
  }
  const cout = Array.isArray(spec.wShape) ? spec.wShape[0] : undefined;
  const desc = describeConv(spec.xShape, spec.wShape, spec.bias ? [cout as number] : null, {
    ...spec.options,
  });
  ctx.check(desc);
  const engine = desc.batch === 0 ? emptyBatchPlan() : await ctx.prepare(desc);
  return new PreparedPlan(ctx, desc, engine);
}

/**
 * The engine side of an empty batch's plan: core answers its calls (empty results, zero weight
 * gradients), and engines are promised non-empty input, so none is asked to prepare one.
 */
function emptyBatchPlan<H>(): EnginePlan<H, unknown> {
  const unreachable = () => {
    throw new Error('an empty batch never reaches the engine');
  };
  return {
    setWeights() {},
    forward: unreachable,
    backward: unreachable,
    save: unreachable,
    release() {},
  };
}

const GRADIENT_SHAPES = (d: ConvDescription): Record<GradientName, readonly number[]> => ({
  dx: d.xShape,
  dw: d.wShape,
  db: [d.outChannels],
});

const GRADIENT_MEANING: Record<GradientName, string> = {
  dx: 'input shape',
  dw: 'weight shape',
  db: 'bias shape',
};

class PreparedPlan<H> implements Conv2dPlan {
  readonly backend: string;
  private readonly queue = new SerialQueue();
  private readonly saved = new Set<SavedActivations>();
  /** Counts the setWeights calls applied, so a stale saved state is caught. */
  private weightsVersion = 0;
  /** A setWeights call was made (it may still wait in the queue). */
  private weightsGiven = false;
  private isDisposed = false;

  constructor(
    private readonly ctx: PlanContext<H>,
    readonly description: ConvDescription,
    private readonly engine: EnginePlan<H, unknown>,
  ) {
    this.backend = ctx.name;
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  private ensureLive(): void {
    if (this.isDisposed)
      fail('disposed', 'plan', this.backend, 'a plan that has not been disposed');
  }

  private ensureWeights(): void {
    if (!this.weightsGiven) {
      fail(
        'plan-mismatch',
        'weights',
        'not set',
        'a setWeights(w, b) call before running the plan',
      );
    }
  }

  /**
   * Queues a call. Calls made before the plan's dispose still run; when the backend itself was
   * disposed meanwhile, the engine is gone and they reject with `disposed`.
   */
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      this.ctx.ensureLive();
      return task();
    });
  }

  /** A host array or this backend's device handle, of exactly `shape`. */
  private operand(
    argument: string,
    t: TensorInput,
    shape: readonly number[],
    what: string,
    code: ShapeCode = 'plan-mismatch',
  ) {
    if (isDeviceTensor(t)) {
      const handle = this.ctx.device.handleOf(argument, t);
      if (!sameShape(t.shape, shape)) mismatch(`${argument}.shape`, t.shape, shape, what, code);
      return handle;
    }
    checkTensor(argument, t, shape.length, `(the ${what})`);
    if (!sameShape(t.shape, shape)) mismatch(`${argument}.shape`, t.shape, shape, what, code);
    return t.data;
  }

  async setWeights(w: Tensor, b: Tensor | null = null): Promise<void> {
    this.ensureLive();
    const d = this.description;
    // Checked by kind, not by handle: a CPU engine's device handle is a Float32Array too.
    for (const [name, t] of [
      ['w', w],
      ['b', b],
    ] as const) {
      if (isDeviceTensor(t)) {
        fail(
          'invalid-tensor',
          name,
          'a device tensor',
          'a host tensor (weights are set from host arrays)',
        );
      }
    }
    const wd = this.operand('w', w, d.wShape, 'weight shape') as Float32Array;
    let bd: Float32Array | null = null;
    if (d.hasBias) {
      if (b === null || b === undefined) {
        fail(
          'bias-shape',
          'b',
          b,
          `a [${d.outChannels}] tensor (the plan was made with bias: true)`,
        );
      }
      // The spec gives no bias shape: [Cout] follows from w, the one-shot calls' bias rule.
      bd = this.operand('b', b, [d.outChannels], 'bias shape', 'bias-shape') as Float32Array;
    } else if (b !== null && b !== undefined) {
      fail('bias-shape', 'b', formatValue(b.shape), 'no bias (the plan was made with bias: false)');
    }
    // Copied now, so the caller may change w and b as soon as this returns.
    const wCopy = wd.slice();
    const bCopy = bd ? bd.slice() : null;
    this.weightsGiven = true;
    await this.enqueue(async () => {
      await this.engine.setWeights(wCopy, bCopy);
      this.weightsVersion++;
    });
  }

  forward(x: TensorInput, options: PlanForwardOptions = {}): Promise<PlanForwardResult<never>> {
    return this.runForward(x, options) as Promise<PlanForwardResult<never>>;
  }

  private async runForward(
    x: TensorInput,
    options: PlanForwardOptions,
  ): Promise<PlanForwardResult<Tensor | DeviceTensor>> {
    this.ensureLive();
    const d = this.description;
    const { save = false, resident = false, out } = options ?? {};
    const xd = this.operand('x', x, d.xShape, 'input shape');
    const outTensor =
      out === undefined ? null : checkOut('options.out', out, d.yShape, 'output shape');
    if (outTensor && resident) {
      fail(
        'invalid-option',
        'options.out',
        'a tensor with resident: true',
        'one of out or resident',
      );
    }
    if (outTensor) checkOutsApart([['options.out', outTensor.data]], [['x', xd]]);
    this.ensureWeights();
    return this.enqueue(async () => {
      if (d.batch === 0) {
        const y = outTensor ?? { shape: [...d.yShape], data: new Float32Array(0) };
        return {
          y: resident ? this.wrap(new Float32Array(0), d.yShape) : y,
          saved: save ? this.keep(null, 0) : null,
        };
      }
      const r = await this.engine.forward(xd, { save, resident, out: outTensor?.data ?? null });
      if (save && r.saved === null) throw new Error(`backend ${this.backend} saved nothing`);
      const saved = save ? this.keep(r.saved, this.weightsVersion) : null;
      if (resident) return { y: this.ctx.device.wrap(r.y as H, d.yShape), saved };
      const y = checkResult(this.backend, 'y', r.y, d.ySize);
      if (!outTensor) return { y: { shape: [...d.yShape], data: y }, saved };
      if (y !== outTensor.data) outTensor.data.set(y);
      return { y: outTensor, saved };
    });
  }

  backward(
    dy: TensorInput,
    from: SavedActivations | TensorInput,
    options: PlanBackwardOptions = {},
  ): Promise<PlanGradients<never>> {
    return this.runBackward(dy, from, options) as Promise<PlanGradients<never>>;
  }

  private async runBackward(
    dy: TensorInput,
    from: SavedActivations | TensorInput,
    options: PlanBackwardOptions,
  ): Promise<PlanGradients<Tensor | DeviceTensor>> {
    this.ensureLive();
    const d = this.description;
    const { resident = false, wanted = {}, out = {} } = options ?? {};
    const want = { dx: wanted.dx ?? true, dw: wanted.dw ?? true, db: wanted.db ?? true };
    const dyd = this.operand('dy', dy, d.yShape, 'output shape');
    const entry = savedEntries.get(from as SavedActivations);
    const xd = entry ? null : this.operand('x', from as TensorInput, d.xShape, 'input shape');
    if (entry) this.checkSaved(from as SavedActivations, entry, want.dx);
    const shapes = GRADIENT_SHAPES(d);
    const outs: Partial<Record<GradientName, Tensor>> = {};
    for (const name of ['dx', 'dw', 'db'] as const) {
      const t = out?.[name];
      if (t === undefined) continue;
      if (resident)
        fail(
          'invalid-option',
          `options.out.${name}`,
          'a tensor with resident: true',
          'one of out or resident',
        );
      outs[name] = checkOut(`options.out.${name}`, t, shapes[name], GRADIENT_MEANING[name]);
    }
    checkOutsApart(
      Object.entries(outs).map(([name, t]) => [`options.out.${name}`, t.data]),
      [
        ['dy', dyd],
        ['x', xd],
      ],
    );
    this.ensureWeights();
    return this.enqueue(async () => {
      if (entry) this.checkSaved(from as SavedActivations, entry, want.dx);
      let grads: Partial<Record<GradientName, Float32Array | H>> = {};
      if (d.batch === 0) {
        // Empty batch: nothing flows back; weight and bias gradients are zero.
        grads = {
          dx: new Float32Array(0),
          dw: new Float32Array(d.wSize),
          db: new Float32Array(d.outChannels),
        };
        for (const name of ['dw', 'db'] as const) outs[name]?.data.fill(0);
      } else if (want.dx || want.dw || want.db) {
        const request = {
          wanted: want,
          resident,
          out: Object.fromEntries(Object.entries(outs).map(([k, t]) => [k, t.data])),
        };
        const state = entry ? entry.state : await this.engine.save(xd as Float32Array | H);
        try {
          grads = await this.engine.backward(dyd, state, request);
        } finally {
          if (!entry) this.engine.release(state);
        }
      }
      const result: PlanGradients<Tensor | DeviceTensor> = { dx: null, dw: null, db: null };
      for (const name of ['dx', 'dw', 'db'] as const) {
        if (!want[name]) continue;
        const shape = shapes[name];
        if (resident) {
          result[name] = this.wrap(grads[name] as H, shape);
          continue;
        }
        const data = checkResult(
          this.backend,
          name,
          grads[name],
          shape.reduce((a, b) => a * b, 1),
        );
        const target = outs[name];
        if (target && data !== target.data) target.data.set(data);
        result[name] = target ?? { shape: [...shape], data };
      }
      return result;
    });
  }

  private wrap(handle: H | Float32Array, shape: readonly number[]): DeviceTensor {
    return this.ctx.device.wrap(handle as H, shape);
  }

  private checkSaved(saved: SavedActivations, entry: SavedEntry, needsWeights: boolean): void {
    if (saved.disposed) fail('disposed', 'saved', 'a disposed saved state', 'a live saved state');
    if (entry.plan !== this) {
      fail('plan-mismatch', 'saved', 'a saved state of another plan', 'a saved state of this plan');
    }
    if (needsWeights && entry.version !== 0 && entry.version !== this.weightsVersion) {
      fail(
        'plan-mismatch',
        'saved',
        `a saved state of a forward with weights version ${entry.version}`,
        `one saved with the current weights (version ${this.weightsVersion}): setWeights was called in between, and dX depends on the weights; run forward again, or ask only for dw and db`,
      );
    }
  }

  /** Wraps an engine's saved state into the handle the caller gets. */
  private keep(state: unknown, version: number): SavedActivations {
    const { saved, engine } = this;
    let disposed = false;
    const handle: SavedActivations = {
      get disposed() {
        return disposed;
      },
      dispose() {
        if (disposed) return;
        disposed = true;
        saved.delete(handle);
        if (state !== null) engine.release(state);
      },
    };
    savedEntries.set(handle, { plan: this, state, version });
    saved.add(handle);
    return handle;
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.ctx.forget(this);
    // After the calls already made; later calls reject (ensureLive).
    void this.queue.run(async () => {
      for (const s of [...this.saved]) s.dispose();
      this.engine.dispose?.();
    });
  }
}
