import { describeConformance } from '@conv2d/conformance';
import { createGpujsBackend } from '../src/index.js';
import { availability, TESTED_MODES } from './modes.js';

// The shared suite on every mode that runs here. A mode that cannot run is reported by
// availability.test.ts, which fails when CI requires it (CONV2D_REQUIRE_HEADLESSGL=1).
for (const mode of TESTED_MODES.filter((m) => availability[m].available)) {
  describeConformance({
    name: `gpujs:${mode}`,
    create: () => createGpujsBackend({ mode }),
    // Every random convolution compiles new kernels (a gpu.js compile is 10-100 ms): keep the
    // count modest so the three modes together stay within a few minutes on two cores.
    propertyRuns: 10,
    // In a child process; cpu mode is plain JavaScript, so it gets fewer calls (40 overlapping
    // at the least, and the long run never drops below its 2048).
    stress: { spec: `gpujs:${mode}`, scale: mode === 'cpu' ? 0.3 : 0.5 },
  });
}
