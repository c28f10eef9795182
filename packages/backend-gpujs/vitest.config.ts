import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // gpu.js compiles on first calls, and cpu mode is plain JavaScript: give each test room.
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
