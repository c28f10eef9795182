import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const NODE_BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/**
 * Packages whose browser entry points must not import Node built-ins at all, and
 * @conv2d/train's library (the Train page runs it).
 */
const BROWSER_SAFE =
  /\/(packages\/(core|backend-naive|backend-im2col|backend-gpujs|conformance)|apps\/train)\//;

/**
 * Fails the build when a conv2d package's browser entry (core, backend-naive,
 * @conv2d/conformance/runner, and the engines' `browser` export condition) imports a Node
 * built-in: Vite would only warn and substitute an empty module, other bundlers fail.
 */
export function browserSafety(): Plugin {
  return {
    name: 'conv2d-browser-safety',
    enforce: 'pre',
    resolveId(source, importer) {
      if (importer && NODE_BUILTINS.has(source) && BROWSER_SAFE.test(importer)) {
        this.error(`${importer} imports the Node built-in "${source}": it must stay browser-safe`);
      }
      return null;
    },
  };
}

// Three pages: the playground, the conformance page the browser tests load, and the Train page
// (apps/train's net trained live). `base: './'` makes the built site work from any folder (a
// static host, GitHub Pages, file copies).
export default defineConfig({
  base: './',
  plugins: [browserSafety()],
  build: {
    target: 'es2022',
    // The conformance page embeds all fixtures (about 1.8 MB): that is its purpose.
    chunkSizeWarningLimit: 2500,
    rollupOptions: {
      input: {
        main: resolve(import.meta.dirname, 'index.html'),
        conformance: resolve(import.meta.dirname, 'conformance.html'),
        train: resolve(import.meta.dirname, 'train.html'),
      },
    },
  },
});
