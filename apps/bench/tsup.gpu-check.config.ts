import { defineConfig } from 'tsup';

// The self-contained gpu-check bundle for the GPU machine (scripts/prepare-gpu-check.sh):
// everything bundled except gpu.js (copied beside it; it finds webgpu from its own folder)
// and the native modules.
export default defineConfig({
  entry: ['src/gpu-check.ts'],
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  splitting: false,
  // prepare-gpu-check.sh empties the folder itself; cleaning here would drop the copied modules
  clean: false,
  outDir: process.env.GPU_CHECK_OUT ?? 'dist-gpu-check',
  // (a regex in noExternal wins over `external`, so the copied modules are left out here)
  noExternal: [/^(?!(gpu\.js|webgpu|gl)(\/|$))/],
  external: ['gpu.js', 'webgpu', 'gl'],
  // bundled CommonJS code (worker_threads, ...) needs a real require in an ES module
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
