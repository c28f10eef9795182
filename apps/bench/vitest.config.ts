import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // engines start in child processes and the machine is shared: generous, no timing asserts
    testTimeout: 60_000,
  },
});
