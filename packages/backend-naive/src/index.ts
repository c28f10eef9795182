import {
  type BackendProvider,
  type Capabilities,
  type Conv2dBackend,
  Conv2dError,
  defineBackend,
  MAX_TENSOR_ELEMENTS,
} from '@conv2d/core';
import { biasGradient, forward, inputGradient, weightGradient } from './loops.js';

export { biasGradient, forward, inputGradient, weightGradient } from './loops.js';

export const naiveCapabilities: Capabilities = Object.freeze<Capabilities>({
  layouts: ['NCHW', 'NHWC'],
  groups: true,
  dilation: true,
  maxElements: MAX_TENSOR_ELEMENTS,
  accumulation: 'float64',
  dxMethods: ['direct'],
});

/**
 * The reference backend: direct loops, float64 accumulation, every option. Its plans are core's
 * plans over these kernels (`planFromOneShot`): the loops write into a plan caller's `out`
 * buffers directly, so nothing else needs preparing.
 */
export function createNaiveBackend(): Conv2dBackend {
  return defineBackend('naive', naiveCapabilities, {
    forward: (desc, x, w, b, out) => forward(desc, x, w, b, out),
    backward: (desc, dy, x, w, wanted, out = {}) => ({
      dx: wanted.dx ? inputGradient(desc, dy, w, out.dx) : undefined,
      dw: wanted.dw ? weightGradient(desc, dy, x, out.dw) : undefined,
      db: wanted.db ? biasGradient(desc, dy, out.db) : undefined,
    }),
  });
}

export const backendProvider: BackendProvider = {
  name: 'naive',
  variants: [],
  description: 'Direct loops from the formula, float64 accumulation (the reference oracle)',
  probe: async () => ({ available: true }),
  create: async (variant) => {
    if (variant !== null) {
      throw new Conv2dError('unknown-backend', {
        argument: 'backend variant',
        value: `naive:${variant}`,
        expected: "'naive' (no variants)",
      });
    }
    return createNaiveBackend();
  },
};
