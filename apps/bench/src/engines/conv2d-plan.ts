import {
  type Conv2dBackend,
  type ConvDescription,
  type DeviceTensor,
  type GradientName,
  isDeviceTensor,
  type SavedActivations,
  type Tensor,
  type TensorInput,
  tensor,
  type Wanted,
} from '@conv2d/core';
import { type Layer, layerOptions } from '../layers.js';
import { describeLayer, type Pass, WANTED } from '../passes.js';
import { type PassInputs, type PreparedPass, passResult } from './types.js';

type Results = Partial<Record<'y' | GradientName, Float32Array>>;

/**
 * A pass driven the way a training loop drives it: the plan made and the weights set once
 * (outside the timed region), forward with `save`, backward from a saved state.
 *
 * - Host engines: host inputs, results written into caller-owned buffers reused by every run.
 * - Resident engines (`resident`): inputs uploaded once, results returned as device tensors
 *   and read back inside the timed region, as the tfjs peer's `dataSync`, so the time holds
 *   the device's work (a GPU may still be computing when the call returns).
 *
 * The timed forward disposes the previous run's saved state first, as a training step does.
 * dX and dW run from one saved state made when the pass is prepared.
 */
export async function preparePlanPass(
  backend: Conv2dBackend,
  layer: Layer,
  pass: Pass,
  t: PassInputs,
  resident: boolean,
): Promise<PreparedPass> {
  const d = describeLayer(layer);
  const plan = await backend.plan({
    xShape: d.xShape,
    wShape: d.wShape,
    bias: true,
    options: layerOptions(layer),
  });
  const uploaded: DeviceTensor[] = [];
  const input = async (tensor: Tensor): Promise<TensorInput> => {
    if (!resident) return tensor;
    const device = await backend.upload(tensor);
    uploaded.push(device);
    return device;
  };
  let results: Results = {};
  let saved: SavedActivations | null = null;
  let run: () => Promise<void>;
  try {
    await plan.setWeights(t.w, t.b);
    const x = await input(t.x);
    if (pass === 'forward') {
      const out = resident ? undefined : tensor(d.yShape);
      run = async () => {
        saved?.dispose();
        saved = null;
        const r = resident
          ? await plan.forward(x, { save: true, resident: true })
          : await plan.forward(x, { save: true, out });
        saved = r.saved;
        results = { y: await hostData(r.y) };
      };
    } else {
      const dy = await input(t.dy);
      const first = resident
        ? await plan.forward(x, { save: true, resident: true })
        : await plan.forward(x, { save: true });
      if (isDeviceTensor(first.y)) first.y.dispose();
      const from = first.saved as SavedActivations;
      saved = from;
      const wanted = WANTED[pass];
      const out = resident ? undefined : gradientBuffers(d, wanted);
      run = async () => {
        const g = resident
          ? await plan.backward(dy, from, { wanted, resident: true })
          : await plan.backward(dy, from, { wanted, out });
        const next: Results = {};
        for (const name of ['dx', 'dw', 'db'] as const) {
          const v = g[name];
          if (v) next[name] = await hostData(v);
        }
        results = next;
      };
    }
  } catch (e) {
    plan.dispose();
    for (const u of uploaded) u.dispose();
    throw e;
  }
  return {
    run,
    result: () => passResult(pass, results.y, results.dx, results.dw, results.db),
    release() {
      results = {};
      plan.dispose(); // frees the saved states too
      for (const u of uploaded) u.dispose();
    },
  };
}

/** A result's data on the host: a device tensor is read back, then freed. */
async function hostData(t: Tensor | DeviceTensor): Promise<Float32Array> {
  if (!isDeviceTensor(t)) return t.data;
  try {
    return (await t.read()).data;
  } finally {
    t.dispose();
  }
}

/** The caller-owned gradient buffers a backward writes into, one per wanted gradient. */
function gradientBuffers(
  d: ConvDescription,
  wanted: Required<Wanted>,
): Partial<Record<GradientName, Tensor>> {
  const shapes: Record<GradientName, readonly number[]> = {
    dx: d.xShape,
    dw: d.wShape,
    db: [d.outChannels],
  };
  const out: Partial<Record<GradientName, Tensor>> = {};
  for (const name of ['dx', 'dw', 'db'] as const)
    if (wanted[name]) out[name] = tensor(shapes[name]);
  return out;
}
