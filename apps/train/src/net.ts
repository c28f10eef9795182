import { seededRandom } from '@conv2d/conformance/runner';
import type {
  Conv2dBackend,
  Conv2dOptions,
  Conv2dPlan,
  DeviceTensor,
  SavedActivations,
  Tensor,
} from '@conv2d/core';
import { reluBackwardInPlace, reluInPlace, softmaxCrossEntropy } from './loss.js';

/** One convolution of the net. */
export interface LayerSpec {
  readonly name: string;
  readonly wShape: readonly [number, number, number, number];
  readonly options: Conv2dOptions;
}

export const IMAGE_SIZE = 8;
export const CLASSES = 10;

/**
 * The net of issue 15 (and tooling/train-fixture/trajectory.py): conv 1->8 3x3 pad 1, ReLU,
 * conv 8->16 3x3 stride 2 pad 1, ReLU, conv 16->10 4x4 (a 4x4 kernel over the 4x4 map: the
 * dense classifier). Every layer is a convolution through the library.
 */
export const NET: readonly LayerSpec[] = [
  { name: 'conv1', wShape: [8, 1, 3, 3], options: { padding: 1 } },
  { name: 'conv2', wShape: [16, 8, 3, 3], options: { stride: 2, padding: 1 } },
  { name: 'conv3', wShape: [CLASSES, 16, 4, 4], options: {} },
];

/** Weights and biases of every layer, in NET's order (w: OIHW). */
export interface Params {
  w: Float32Array[];
  b: Float32Array[];
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * He-uniform weights (bound sqrt(6 / fan_in)) and biases uniform in [0.05, 0.15], as the
 * fixture draws them: positive biases keep the units over the blank background (exact zeros,
 * where the pre-activation is the bias) off ReLU's kink.
 */
export function initialParams(seed: number): Params {
  const random = seededRandom(seed);
  const uniform = (n: number, bound: number) =>
    Float32Array.from({ length: n }, () => (random() * 2 - 1) * bound);
  return {
    w: NET.map((l) => uniform(sizeOf(l.wShape), Math.sqrt(6 / sizeOf(l.wShape.slice(1))))),
    b: NET.map((l) => Float32Array.from({ length: l.wShape[0] }, () => 0.05 + random() * 0.1)),
  };
}

export function zerosLike(p: Params): Params {
  return {
    w: p.w.map((a) => new Float32Array(a.length)),
    b: p.b.map((a) => new Float32Array(a.length)),
  };
}

/** The plans of one batch size and the activations they reuse from call to call. */
interface BatchPlans {
  batch: number;
  plans: Conv2dPlan[];
  /** The weights version these plans hold (setWeights only when it changed). */
  version: number;
  /** Each layer's output, ReLU applied in place (the last: the logits). */
  outputs: Float32Array[];
  /** Each layer's upstream gradient dY (index k: dY of layer k). */
  upstream: Float32Array[];
}

export interface NetOptions {
  /**
   * Ask plans for device tensors (`resident: true`) and read them back for the host layers
   * (ReLU, loss). Only useful to exercise the resident path: ReLU runs on the host, so every
   * layer's result crosses to the host either way.
   */
  resident?: boolean;
}

/**
 * The net on one backend: one plan per layer and batch size, weights set on a plan only when
 * they changed since its last call, every activation and gradient in buffers reused across
 * steps.
 */
export class Net {
  /** Bumped by `weightsChanged()` after each optimizer step. */
  private version = 1;
  private readonly sets = new Map<number, BatchPlans>();
  private readonly resident: boolean;
  /** The gradients of the last `gradients` call (reused buffers). */
  readonly grads: Params;

  constructor(
    readonly backend: Conv2dBackend,
    readonly params: Params,
    options: NetOptions = {},
  ) {
    this.resident = options.resident ?? false;
    this.grads = zerosLike(params);
  }

  /** Call after changing `params` in place: every plan sets them again before its next call. */
  weightsChanged(): void {
    this.version++;
  }

  private async plansFor(batch: number): Promise<BatchPlans> {
    let set = this.sets.get(batch);
    if (!set) {
      const plans: Conv2dPlan[] = [];
      let xShape = [batch, 1, IMAGE_SIZE, IMAGE_SIZE];
      for (const layer of NET) {
        const plan = await this.backend.plan({
          xShape,
          wShape: layer.wShape,
          bias: true,
          options: layer.options,
        });
        plans.push(plan);
        xShape = [...plan.description.yShape];
      }
      const outputs = plans.map((p) => new Float32Array(p.description.ySize));
      const upstream = plans.map((p) => new Float32Array(p.description.ySize));
      set = { batch, plans, version: 0, outputs, upstream };
      this.sets.set(batch, set);
    }
    if (set.version !== this.version) {
      for (let k = 0; k < NET.length; k++) {
        const shapes = NET[k].wShape;
        await set.plans[k].setWeights(
          { shape: shapes, data: this.params.w[k] },
          { shape: [shapes[0]], data: this.params.b[k] },
        );
      }
      set.version = this.version;
    }
    return set;
  }

  /** Into `out`: a host result, or a device tensor read back (resident mode). */
  private async land(result: Tensor | DeviceTensor, out: Float32Array): Promise<void> {
    if ('data' in result) {
      if (result.data !== out) out.set(result.data);
      return;
    }
    const host = await result.read();
    out.set(host.data);
    result.dispose();
  }

  /** Runs the layers on x ([batch, 1, 8, 8]); returns the logits ([batch, 10], reused). */
  private async forward(
    set: BatchPlans,
    x: Float32Array,
    save: boolean,
  ): Promise<{ logits: Float32Array; saved: SavedActivations[] }> {
    const saved: SavedActivations[] = [];
    let input: Tensor = { shape: set.plans[0].description.xShape, data: x };
    for (let k = 0; k < set.plans.length; k++) {
      const plan = set.plans[k];
      const out = set.outputs[k];
      const result = this.resident
        ? await plan.forward(input, { save, resident: true })
        : await plan.forward(input, { save, out: { shape: plan.description.yShape, data: out } });
      await this.land(result.y, out);
      if (result.saved) saved.push(result.saved);
      if (k < set.plans.length - 1) reluInPlace(out);
      input = { shape: plan.description.yShape, data: out };
    }
    return { logits: set.outputs[set.plans.length - 1], saved };
  }

  /** The logits of a batch (forward only), in a buffer the next call on this batch size reuses. */
  async logits(x: Float32Array, batch: number): Promise<Float32Array> {
    const set = await this.plansFor(batch);
    return (await this.forward(set, x, false)).logits;
  }

  /**
   * Forward and backward on one batch: fills `grads` with d(mean loss)/d(params) and returns
   * the loss and the logits (reused buffer).
   */
  async gradients(
    x: Float32Array,
    labels: Uint8Array,
  ): Promise<{ loss: number; logits: Float32Array }> {
    const batch = labels.length;
    const set = await this.plansFor(batch);
    const { logits, saved } = await this.forward(set, x, true);
    const last = set.plans.length - 1;
    const loss = softmaxCrossEntropy(logits, labels, CLASSES, set.upstream[last]);
    try {
      for (let k = last; k >= 0; k--) {
        const plan = set.plans[k];
        const d = plan.description;
        const dy: Tensor = { shape: d.yShape, data: set.upstream[k] };
        const dx = k > 0 ? set.upstream[k - 1] : null; // the first layer needs no dX
        const wanted = { dx: dx !== null, dw: true, db: true };
        const g = this.resident
          ? await plan.backward(dy, saved[k], { wanted, resident: true })
          : await plan.backward(dy, saved[k], {
              wanted,
              out: {
                dx: dx ? { shape: d.xShape, data: dx } : undefined,
                dw: { shape: d.wShape, data: this.grads.w[k] },
                db: { shape: [d.outChannels], data: this.grads.b[k] },
              },
            });
        if (g.dw) await this.land(g.dw, this.grads.w[k]);
        if (g.db) await this.land(g.db, this.grads.b[k]);
        if (dx && g.dx) {
          await this.land(g.dx, dx);
          reluBackwardInPlace(dx, set.outputs[k - 1]);
        }
      }
    } finally {
      for (const s of saved) s.dispose();
    }
    return { loss, logits };
  }

  dispose(): void {
    for (const set of this.sets.values()) for (const p of set.plans) p.dispose();
    this.sets.clear();
  }
}
