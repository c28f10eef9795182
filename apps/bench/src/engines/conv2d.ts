import { type Conv2dBackend, createBackend, type Gradients, type Tensor } from '@conv2d/core';
import { type Layer, layerOptions } from '../layers.js';
import { type Mode, type Pass, WANTED } from '../passes.js';
import { preparePlanPass } from './conv2d-plan.js';
import { type EngineAdapter, type PassInputs, type PreparedPass, passResult } from './types.js';

/**
 * A backend from core's registry (`naive`, `im2col:col2im`, ...), with its create options,
 * driven by one-shot calls or by a plan. The caller has registered the providers (see
 * providers.ts).
 */
export async function createConv2dAdapter(
  spec: string,
  options?: Record<string, unknown>,
  resident = false,
): Promise<EngineAdapter> {
  const backend: Conv2dBackend = await createBackend(spec, options);
  return {
    absent: () => null,
    prepare: (layer: Layer, pass: Pass, t: PassInputs, mode: Mode) =>
      mode === 'plan'
        ? preparePlanPass(backend, layer, pass, t, resident)
        : prepareCallPass(backend, layer, pass, t),
    dispose: () => backend.dispose(),
  };
}

/** One-shot calls on plain arrays: every run validates, packs and allocates anew. */
async function prepareCallPass(
  backend: Conv2dBackend,
  layer: Layer,
  pass: Pass,
  t: PassInputs,
): Promise<PreparedPass> {
  const o = layerOptions(layer);
  let y: Tensor | null = null;
  let g: Gradients | null = null;
  const run =
    pass === 'forward'
      ? async () => {
          y = await backend.forward(t.x, t.w, t.b, o);
        }
      : async () => {
          g = await backend.backward(t.dy, t.x, t.w, o, WANTED[pass]);
        };
  return {
    run,
    result: () => passResult(pass, y?.data, g?.dx?.data, g?.dw?.data, g?.db?.data),
    release() {
      y = null;
      g = null;
    },
  };
}
