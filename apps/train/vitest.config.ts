import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // the trajectory test replays 50 steps on every Node backend (gpujs:cpu is slow)
    testTimeout: 120_000,
  },
});
