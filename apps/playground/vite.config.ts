import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// Two pages: the playground and the conformance page the browser tests load. `base: './'`
// makes the built site work from any folder (a static host, GitHub Pages, file copies).
export default defineConfig({
  base: './',
  build: {
    target: 'es2022',
    rollupOptions: {
      input: {
        main: resolve(import.meta.dirname, 'index.html'),
        conformance: resolve(import.meta.dirname, 'conformance.html'),
      },
    },
  },
});
