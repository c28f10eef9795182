import { describeConformance } from '@conv2d/conformance';
import { createIm2colBackend } from '../src/index.js';

// Both dX methods, on the calling thread and on the pool. With two threads every pass goes
// to the workers (minThreadedFlops 0), however small, so the pool path sees every case. The
// stress group runs each configuration in a child process created by spec from the package.
describeConformance({
  name: 'im2col:col2im threads 1',
  create: () => createIm2colBackend({ dxMethod: 'col2im', threads: 1 }),
  stress: { spec: 'im2col:col2im', createOptions: { threads: 1 } },
});
describeConformance({
  name: 'im2col:transposed threads 1',
  create: () => createIm2colBackend({ dxMethod: 'transposed', threads: 1 }),
  stress: { spec: 'im2col:transposed', createOptions: { threads: 1 } },
});
describeConformance({
  name: 'im2col:col2im threads 2',
  create: () => createIm2colBackend({ dxMethod: 'col2im', threads: 2, minThreadedFlops: 0 }),
  propertyRuns: 10,
  stress: { spec: 'im2col:col2im', createOptions: { threads: 2, minThreadedFlops: 0 } },
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
  stress: {
    spec: 'im2col:transposed',
    createOptions: { threads: 2, minThreadedFlops: 0, workspaceBytes: 4096 },
  },
});
