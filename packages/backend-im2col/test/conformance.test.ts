import { describeConformance } from '@conv2d/conformance';
import { createIm2colBackend } from '../src/index.js';

// Both dX methods, on the calling thread and on the pool. With two threads every pass goes
// to the workers (minThreadedFlops 0), however small, so the pool path sees every case.
describeConformance({
  name: 'im2col:col2im threads 1',
  create: () => createIm2colBackend({ dxMethod: 'col2im', threads: 1 }),
});
describeConformance({
  name: 'im2col:transposed threads 1',
  create: () => createIm2colBackend({ dxMethod: 'transposed', threads: 1 }),
});
describeConformance({
  name: 'im2col:col2im threads 2',
  create: () => createIm2colBackend({ dxMethod: 'col2im', threads: 2, minThreadedFlops: 0 }),
  propertyRuns: 10,
});
describeConformance({
  name: 'im2col:transposed threads 2, 4 KiB workspace',
  create: () =>
    createIm2colBackend({
      dxMethod: 'transposed',
      threads: 2,
      minThreadedFlops: 0,
      workspaceBytes: 4096,
    }),
  propertyRuns: 10,
});
