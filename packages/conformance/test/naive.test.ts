import { createNaiveBackend } from '@conv2d/backend-naive';
import { describeConformance } from '../src/index.js';

// The oracle against PyTorch: fixtures, gradient identities, layouts and errors.
describeConformance({
  name: 'naive',
  create: createNaiveBackend,
  isOracle: true,
  stress: { spec: 'naive' },
});
