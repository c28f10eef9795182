import { defineConfig } from 'tsup';

export default defineConfig({
  // The worker is its own entry: the pool starts it by file name next to index.
  entry: ['src/index.ts', 'src/worker.ts'],
  format: ['esm', 'cjs'],
  dts: { entry: 'src/index.ts' },
  clean: true,
  sourcemap: true,
  target: 'es2022',
  shims: true,
});
