import { defineConfig } from 'vitest/config';
import './vitest.node20.js';

// Unit tests only; the Chromium tests have their own config (test-browser/vitest.config.ts).
export default defineConfig({ test: { include: ['test/**/*.test.ts'] } });
