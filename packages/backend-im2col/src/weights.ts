import type { ConvDescription } from '@conv2d/core';
import { type Buffers, share } from './buffers.js';
import { reorderWeights } from './nhwc.js';
import { flipKernel } from './transposed.js';

/** The layouts of W a pass may want, each prepared once per `set` (see `Weights.get`). */
export type WeightLayout =
  /** W as given, [Cout, Cin/g, Kh, Kw] (shared with the workers when threaded). */
  | 'plain'
  /** [Cout, Kh, Kw, Cin/g]: the NHWC forward's row order. */
  | 'nhwc'
  /** Flipped 180° with in/out channels swapped per group: the transposed dX's kernel. */
  | 'flipped';

/**
 * A plan's weights and what its passes derived from them. Each layout is prepared on first use
 * after `set` into a buffer the plan keeps (so a training loop reuses the memory), and reused
 * until the next `set`: a plan that runs forward 100 times reorders W once.
 */
export class Weights {
  private w: Float32Array = new Float32Array(0);
  private b: Float32Array | null = null;
  private readonly ready = new Map<WeightLayout, Float32Array>();

  constructor(
    private readonly d: ConvDescription,
    private readonly shared: boolean,
    private readonly buffers: Buffers,
    /** Called for each layout prepared (the engine's `weightPacks` counter). */
    private readonly packed: () => void,
  ) {}

  /** New weights: kept as given (the caller guarantees they stay unchanged until the next set). */
  set(w: Float32Array, b: Float32Array | null): void {
    this.w = w;
    this.b = b && share(b, this.shared, this.buffers, 'weights-b');
    this.ready.clear();
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
}
