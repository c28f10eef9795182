import { describeConformance } from '@conv2d/conformance';
import { createGpujsBackend, type KernelFamily } from '../src/index.js';
import { availability, TESTED_MODES } from './modes.js';

// The shared suite on every mode that runs here, with each kernel family (both stay tested
// against the oracle until one wins everywhere). A mode that cannot run is reported by
// availability.test.ts, which fails when CI requires it (CONV2D_REQUIRE_HEADLESSGL=1).
const FAMILIES: KernelFamily[] = ['gather', 'block'];
for (const mode of TESTED_MODES.filter((m) => availability[m].available)) {
  for (const kernels of FAMILIES) {
    describeConformance({
      name: `gpujs:${mode} (${kernels} kernels)`,
      create: () => createGpujsBackend({ mode, kernels }),
      // Every random convolution compiles new kernels (a gpu.js compile is 10-100 ms): keep the
      // count modest so the modes and families together stay within a few minutes on two cores.
      propertyRuns: kernels === 'gather' ? 10 : 6,
      // In a child process; cpu mode is plain JavaScript, so it gets fewer calls (40 overlapping
      // at the least, and the long run never drops below its 2048).
      stress: {
        spec: `gpujs:${mode}`,
        createOptions: { kernels },
        scale: mode === 'cpu' ? 0.3 : 0.5,
      },
    });
  }
}
