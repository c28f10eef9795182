import { defineConfig } from 'tsup';

export default defineConfig({
  // the CLI, the child process it forks for each engine and layer, and the chart re-renderer
  entry: ['src/cli.ts', 'src/child.ts', 'src/chart-cli.ts'],
  format: ['esm'],
  clean: true,
  sourcemap: true,
  target: 'node20',
  banner: { js: '#!/usr/bin/env node' },
});
