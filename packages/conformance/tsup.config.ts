import { defineConfig } from 'tsup';

const shared = {
  dts: true,
  sourcemap: true,
  // import.meta.url locates the bundled fixtures from the CJS build too.
  shims: true,
  target: 'es2022',
  external: ['vitest'],
} as const;

export default defineConfig([
  {
    // Every entry as ESM (one set of shared chunks).
    ...shared,
    entry: ['src/index.ts', 'src/runner.ts', 'src/node.ts', 'src/stress-child.ts'],
    format: ['esm'],
    // The build below writes the CJS entries into the same folder at the same time.
    clean: ['!*.cjs', '!*.cjs.map', '!*.d.cts'],
  },
  {
    // CommonJS only for the framework-free entries: the suite (index) imports vitest, which
    // cannot be required, so `require('@conv2d/conformance')` is not offered.
    ...shared,
    entry: ['src/runner.ts', 'src/node.ts'],
    format: ['cjs'],
  },
]);
