/*
 * Stands in for Node's built-in modules in the browser build (dist/browser.js, the `browser`
 * export condition). They are only reached behind runtime checks: `nodeThreads()` (index.ts)
 * returns null without SharedArrayBuffer, and where a cross-origin isolated page has one, this
 * empty module has no `cpus`, so it throws inside its try and still returns null; the worker
 * pool starts only when it did not. It keeps web bundlers (esbuild, webpack) from failing on a
 * `node:` import.
 */
export {};
