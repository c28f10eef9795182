import { defineConfig } from 'vitest/config';
import '../vitest.node20.js';

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test-browser/**/*.test.ts'],
    globalSetup: ['test-browser/serve.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
