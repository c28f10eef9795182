import { defineConfig } from 'tsup';

export default defineConfig({
  // the CLI and the child process it forks for each engine and layer
  entry: ['src/cli.ts', 'src/child.ts'],
  format: ['esm'],
  clean: true,
  sourcemap: true,
  target: 'node20',
  banner: { js: '#!/usr/bin/env node' },
});
