import type {
  BackwardRequest,
  ConvDescription,
  EnginePlan,
  ForwardRequest,
  GradientName,
} from '@conv2d/core';
import { gemmImplementation } from '@conv2d/gemm';
import { alloc, type Buffers } from './buffers.js';
import { usesDirectPath } from './direct.js';
import { isPointwise } from './im2col.js';
import { backwardPass, type DxMethod } from './passes/backward.js';
import type { PassContext } from './passes/context.js';
import { forwardPass } from './passes/forward.js';
import type { Runner } from './runner.js';
import { after, drive } from './steps.js';
import { Weights } from './weights.js';

export interface EngineStats {
  /** Jobs that ran on the worker pool. */
  threadedJobs: number;
  /**
   * Weight layouts prepared by plans and calls: copied for the workers, reordered for NHWC,
   * flipped for the transposed dX, packed for the Wasm GEMM (plans only).
   */
  weightPacks: number;
  /** Backward passes that read dW's X_hat from a plan's saved state instead of rebuilding it. */
  im2colReused: number;
}

/** What a plan runs with: the backend's runner, settings and counters. */
export interface PlanEngine {
  runner: Runner;
  workspaceBytes: number;
  dxMethod: DxMethod;
  stats: EngineStats;
}

/**
 * What backward needs from one forward, owned by the plan: X_hat (NCHW, the whole batch) where
 * keeping it pays (`keepsXhat`), else a copy of x. `owned: false` is x itself, for a backward from
 * x alone, which core releases when that call ends.
 */
export interface SavedInput {
  x: Float32Array | null;
  xhat: Float32Array | null;
  owned: boolean;
}

type Grads = Partial<Record<GradientName, Float32Array>>;

const xhatFloats = (d: ConvDescription) =>
  d.batch * d.groups * d.reductionLength * d.outHeight * d.outWidth;

/**
 * Whether forward saves X_hat for dW rather than a copy of x: for NCHW GEMM convolutions (X_hat
 * is x itself when pointwise, the direct path has none, and NHWC's forward builds it in another
 * order) whose X_hat fits the workspace bound, and only where keeping it is cheaper than
 * rebuilding it. The Wasm GEMM builds each tile inside its own memory from rows of x (SIMD row
 * copies, in cache), which costs less than writing a K/Cin times larger X_hat out and reading it
 * back in: forward with save + dW from X_hat took 42 ms against 37 from x on layer B, 32-40
 * against 29-33 on A (medians, one thread). So on Wasm X_hat is kept only where it is no larger
 * than x (strided 1x1 layers such as D: a quarter of x); on the TypeScript GEMM, whose tiles
 * are built by JavaScript loops, wherever it fits.
 */
function keepsXhat(d: ConvDescription, workspaceBytes: number): boolean {
  if (d.layout !== 'NCHW' || usesDirectPath(d) || isPointwise(d)) return false;
  const size = xhatFloats(d);
  if (size * 4 > workspaceBytes) return false;
  return gemmImplementation() !== 'wasm-simd' || size <= d.xSize;
}

/** Released saved buffers kept for the next forward that saves (a training loop's steady state). */
const SPARE_BUFFERS = 2;

/**
 * One convolution prepared for many calls (core's `EnginePlan`): its description, thread count,
 * weights and the layouts derived from them (`Weights`), and the buffers its passes reuse. The
 * one-shot `forward` / `backward` run through a plan made for the call, so both give the same
 * numbers.
 */
export class ConvPlan implements EnginePlan<Float32Array, SavedInput> {
  private readonly ctx: PassContext;
  private readonly weights: Weights;
  /** Floats of the whole X_hat when forward may save it, else 0 (a copy of x is saved). */
  private readonly xhatSize: number;
  private spare: Float32Array[] = [];

  constructor(
    private readonly engine: PlanEngine,
    readonly d: ConvDescription,
    readonly threads: number,
    /** Where its passes get their buffers: the plan's own arena, or one leased for a call. */
    private readonly buffers: { get: Buffers; clear?(): void },
    /** Pack the GEMM's weight operands once (a plan), or let it pack per tile (one call). */
    prepack = true,
  ) {
    const get = buffers.get;
    this.ctx = { runner: engine.runner, d, threads, get };
    const counted = () => {
      engine.stats.weightPacks++;
    };
    this.weights = new Weights(d, threads > 1, get, counted, prepack);
    this.xhatSize = keepsXhat(d, engine.workspaceBytes) ? xhatFloats(d) : 0;
  }

  setWeights(w: Float32Array, b: Float32Array | null): void {
    this.weights.set(w, b);
  }

  /** A buffer of `size` floats: a released saved one, or a new one (shared when threaded). */
  private take(size: number): Float32Array {
    const i = this.spare.findIndex((a) => a.length === size);
    if (i < 0) return alloc(size, this.threads > 1);
    return this.spare.splice(i, 1)[0];
  }

  forward(x: Float32Array, request: ForwardRequest) {
    const { d } = this;
    const y = request.out ?? new Float32Array(d.ySize);
    let saved: SavedInput | null = null;
    if (request.save && this.xhatSize > 0) {
      saved = { x: null, xhat: this.take(this.xhatSize), owned: true };
    } else if (request.save) {
      const copy = this.take(d.xSize);
      copy.set(x);
      saved = { x: copy, xhat: null, owned: true };
    }
    const done = drive(forwardPass(this.ctx, x, this.weights, y, saved?.xhat ?? null));
    return after(done, () => ({ y, saved }));
  }

  backward(dy: Float32Array, saved: SavedInput, request: BackwardRequest): Grads | Promise<Grads> {
    if (saved.xhat && request.wanted.dw) this.engine.stats.im2colReused++;
    const { wanted, out } = request;
    return drive(
      backwardPass(this.ctx, dy, saved, this.weights, wanted, this.engine.dxMethod, out),
    );
  }

  /** x itself: core releases this state when the backward that asked for it ends. */
  save(x: Float32Array): SavedInput {
    return { x, xhat: null, owned: false };
  }

  release(saved: SavedInput): void {
    if (!saved.owned) return;
    const buffer = saved.xhat ?? saved.x;
    saved.x = null;
    saved.xhat = null;
    if (buffer && this.spare.length < SPARE_BUFFERS) this.spare.push(buffer);
  }

  dispose(): void {
    this.spare = [];
    this.buffers.clear?.();
  }
}
