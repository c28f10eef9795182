import { readFileSync } from 'node:fs';
import { build, defineConfig } from 'tsup';

/**
 * The worker, bundled with everything it imports into one CommonJS script (dist/worker.cjs).
 * The index builds carry it as a string and start workers from it (`eval: true`), so a worker
 * starts wherever the index runs: after an app bundler (esbuild, webpack, ncc) has moved the
 * index into a bundle of its own, a worker file next to it would be missing.
 */
async function workerSource(): Promise<string> {
  await build({
    // not this file again (that would recurse)
    config: false,
    entry: { worker: 'src/worker.ts' },
    format: ['cjs'],
    platform: 'node',
    target: 'node20',
    noExternal: [/.*/],
    minify: true,
    clean: false,
    silent: true,
  });
  return readFileSync('dist/worker.cjs', 'utf8');
}

export default defineConfig(async () => {
  const source = await workerSource();
  return [
    {
      entry: ['src/index.ts'],
      format: ['esm', 'cjs'],
      dts: { entry: 'src/index.ts' },
      // The browser build below writes into the same folder at the same time; the worker
      // script stays for the tests, which run the sources (it is not packed).
      clean: ['!browser.js', '!browser.js.map', '!worker.cjs'],
      sourcemap: true,
      target: 'es2022',
      shims: true,
      define: { __IM2COL_WORKER_SOURCE__: JSON.stringify(source) },
    },
    {
      // Browsers: the same code with node:fs, node:os and node:worker_threads replaced by an empty module
      // (see browser-stub.ts), and no worker script; it runs single-threaded there.
      entry: { browser: 'src/index.ts' },
      format: ['esm'],
      platform: 'browser',
      removeNodeProtocol: false,
      splitting: false,
      sourcemap: true,
      target: 'es2022',
      define: { __IM2COL_WORKER_SOURCE__: 'undefined' },
      esbuildOptions(options) {
        options.alias = {
          'node:fs': './src/browser-stub.ts',
          'node:os': './src/browser-stub.ts',
          'node:worker_threads': './src/browser-stub.ts',
        };
      },
    },
  ];
});
