import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/runner.ts', 'src/node.ts', 'src/stress-child.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  // import.meta.url locates the bundled fixtures from the CJS build too.
  shims: true,
  target: 'es2022',
  external: ['vitest'],
});
