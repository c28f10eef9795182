import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Threaded tests start workers from dist/worker.cjs: build it first.
    globalSetup: ['./test/build-worker.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
