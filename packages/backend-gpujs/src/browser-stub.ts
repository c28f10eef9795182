/*
 * Stands in for Node's built-in modules in the browser build (dist/browser.js, the `browser`
 * export condition). Each use of them sits behind a runtime check that fails first in a browser
 * (modes.ts looks for `process.versions.node`), so nothing here is ever called; it only keeps
 * bundlers (esbuild, webpack) from failing on a `node:` import when they target the web.
 */
export {};
