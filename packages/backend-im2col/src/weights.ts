import type { ConvDescription } from '@conv2d/core';
import { gemmImplementation, type PackedA, packedASize, packOperandA } from '@conv2d/gemm';
import { type Buffers, share } from './buffers.js';
import { usesDirectPath } from './direct.js';
import { reorderWeights } from './nhwc.js';
import { flipKernel, transposedDescription } from './transposed.js';

/** The layouts of W a pass may want, each prepared once per `set` (see `Weights.get`). */
export type WeightLayout =
  /** W as given, [Cout, Cin/g, Kh, Kw] (shared with the workers when threaded). */
  | 'plain'
  /** [Cout, Kh, Kw, Cin/g]: the NHWC forward's row order. */
  | 'nhwc'
  /** Flipped 180° with in/out channels swapped per group: the transposed dX's kernel. */
  | 'flipped';

/**
 * The GEMM operands a plan packs once per `set` (`@conv2d/gemm`'s packOperandA), per group:
 * forward's W_g, col2im dX's W_gᵀ, and the transposed dX's flipped kernel.
 */
export type PackedLayout = 'forward' | 'col2im' | 'transposed';

/**
 * A plan's weights and what its passes derived from them. Each layout is prepared on first use
 * after `set` into a buffer the plan keeps (so a training loop reuses the memory), and reused
 * until the next `set`: a plan that runs forward 100 times reorders W once.
 */
export class Weights {
  private w: Float32Array = new Float32Array(0);
  private b: Float32Array | null = null;
  private readonly ready = new Map<WeightLayout, Float32Array>();
  private readonly packs = new Map<PackedLayout, PackedA[]>();

  constructor(
    private readonly d: ConvDescription,
    private readonly shared: boolean,
    private readonly buffers: Buffers,
    /** Called for each layout prepared (the engine's `weightPacks` counter). */
    private readonly packed: () => void,
    /** Whether to pack GEMM operands (plans: yes; a one-shot call's GEMM packs per tile). */
    private readonly prepack: boolean,
  ) {}

  /** New weights: kept as given (the caller guarantees they stay unchanged until the next set). */
  set(w: Float32Array, b: Float32Array | null): void {
    this.w = w;
    this.b = b && share(b, this.shared, this.buffers, 'weights-b');
    this.ready.clear();
    this.packs.clear();
  }

  /** The bias, where the workers can read it. */
  bias(): Float32Array | null {
    return this.b;
  }

  get(layout: WeightLayout): Float32Array {
    let out = this.ready.get(layout);
    if (out) return out;
    const { d, w, buffers: get } = this;
    if (layout === 'plain') out = share(w, this.shared, get, 'weights-w');
    else if (layout === 'nhwc') out = reorderWeights(d, w, get('weights-nhwc', d.wSize));
    else out = flipKernel(d, w, get('weights-flipped', d.wSize));
    if (out !== w) this.packed();
    this.ready.set(layout, out);
    return out;
  }

  /**
   * The GEMM operand of `layout` packed per group for the Wasm kernel, or null where the
   * passes do not take packed weights (one-shot calls, the direct path, the TypeScript GEMM).
   */
  packedGroups(layout: PackedLayout): PackedA[] | null {
    const { d } = this;
    if (!this.prepack || usesDirectPath(d) || gemmImplementation() !== 'wasm-simd') return null;
    let groups = this.packs.get(layout);
    if (groups) return groups;
    const KK = d.kernelHeight * d.kernelWidth;
    const [cig, cog, K] = [d.inChannelsPerGroup, d.outChannelsPerGroup, d.reductionLength];
    // op(A) of each group: rows x depth, from `source` at group g's kernels (g * per floats)
    const [transA, rows, depth, source] =
      layout === 'forward'
        ? [false, cog, K, this.get('plain')]
        : layout === 'col2im'
          ? [true, K, cog, this.get('plain')]
          : [false, cig, transposedDescription(d, 1).reductionLength, this.get('flipped')];
    const per = cig * cog * KK;
    const size = packedASize(rows, depth);
    const out = this.buffers(`weights-packed-${layout}`, size * d.groups);
    groups = [];
    for (let g = 0; g < d.groups; g++) {
      const at = out.subarray(g * size, (g + 1) * size);
      groups.push(packOperandA(transA, rows, depth, source, g * per, transA ? K : depth, at));
    }
    this.packed();
    this.packs.set(layout, groups);
    return groups;
  }
}
