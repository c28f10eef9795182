import { type Conv2dBackend, createBackend, type Gradients, type Tensor } from '@conv2d/core';
import { type Layer, layerOptions } from '../layers.js';
import { type Pass, WANTED } from '../passes.js';
import { concat, type EngineAdapter, type PassInputs, type PreparedPass } from './types.js';

/**
 * A backend from core's registry (`naive`, `im2col:col2im`, ...), with its create options.
 * The caller has registered the providers (see providers.ts).
 */
export async function createConv2dAdapter(
  spec: string,
  options?: Record<string, unknown>,
): Promise<EngineAdapter> {
  const backend: Conv2dBackend = await createBackend(spec, options);
  return {
    absent: () => null,
    async prepare(layer: Layer, pass: Pass, t: PassInputs): Promise<PreparedPass> {
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
        result() {
          if (pass === 'forward') return (y as Tensor | null)?.data ?? new Float32Array(0);
          const grads = g as Gradients | null;
          if (!grads) return new Float32Array(0);
          if (pass === 'dx') return (grads.dx as Tensor).data;
          return concat((grads.dw as Tensor).data, (grads.db as Tensor).data);
        },
        release() {
          y = null;
          g = null;
        },
      };
    },
    dispose: () => backend.dispose(),
  };
}
