import { defineConfig } from 'tsup';

export default defineConfig({
  // the CLI, the child process it forks for each engine and layer, the chart re-renderer, and
  // the headless vega-lite renderer apps/train imports (@conv2d/bench/vega-svg)
  entry: ['src/cli.ts', 'src/child.ts', 'src/chart-cli.ts', 'src/vega-svg.ts'],
  format: ['esm'],
  clean: true,
  sourcemap: true,
  target: 'node20',
  banner: { js: '#!/usr/bin/env node' },
});
