import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    // The browser build below writes into the same folder at the same time.
    clean: ['!browser.js', '!browser.js.map'],
    sourcemap: true,
    target: 'es2022',
    // import.meta.url in the CJS build (modes.ts resolves gpu.js's optional native modules).
    shims: true,
  },
  {
    // Browsers: the same code with `node:module` replaced by an empty module (see browser-stub.ts).
    entry: { browser: 'src/index.ts' },
    format: ['esm'],
    platform: 'browser',
    removeNodeProtocol: false,
    splitting: false,
    sourcemap: true,
    target: 'es2022',
    esbuildOptions(options) {
      options.alias = { 'node:module': './src/browser-stub.ts' };
    },
  },
]);
