import type { Capabilities } from '../src/index.js';

/** Capabilities of the small engines the core tests define, with what a test changes. */
export function testCaps(overrides: Partial<Capabilities> = {}): Capabilities {
  return {
    layouts: ['NCHW'],
    groups: true,
    dilation: true,
    maxElements: 1e6,
    accumulation: 'float32',
    dxMethods: [],
    ...overrides,
  };
}
