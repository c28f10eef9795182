import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // The worker is its own entry: the pool starts it by file name next to index.
    entry: ['src/index.ts', 'src/worker.ts'],
    format: ['esm', 'cjs'],
    dts: { entry: 'src/index.ts' },
    // The browser build below writes into the same folder at the same time.
    clean: ['!browser.js', '!browser.js.map'],
    sourcemap: true,
    target: 'es2022',
    shims: true,
  },
  {
    // Browsers: the same code with node:os and node:worker_threads replaced by an empty module
    // (see browser-stub.ts); it runs single-threaded there.
    entry: { browser: 'src/index.ts' },
    format: ['esm'],
    platform: 'browser',
    removeNodeProtocol: false,
    splitting: false,
    sourcemap: true,
    target: 'es2022',
    esbuildOptions(options) {
      options.alias = {
        'node:os': './src/browser-stub.ts',
        'node:worker_threads': './src/browser-stub.ts',
      };
    },
  },
]);
