// Headless Chromium on SwiftShader (WebGL and WebGPU without a GPU) and a Vite dev server on
// 127.0.0.1 (WebGPU needs a secure context: localhost counts, a LAN address does not). Shared by
// the playground's browser tests, `conv2d conformance --browser`, `pnpm bench --browser` and
// backend-gpujs's browser-plans check, so every browser run in this repository has the same flags.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { createServer, searchForWorkspaceRoot } from 'vite';

/** Debian's chromium (`apt-get install -y chromium`); nothing here ever downloads a browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * SwiftShader for WebGL (ANGLE) and for WebGPU (Dawn's software adapter); the rest keeps a
 * headless run quiet and offline.
 */
export const CHROMIUM_ARGS = Object.freeze([
  '--no-sandbox',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--ignore-gpu-blocklist',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);

/** Launches headless Chromium with CHROMIUM_ARGS (a fresh temporary profile each time). */
export async function launchChromium() {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` ` +
        '(or set CHROMIUM_PATH); nothing here downloads one',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
  });
}

/**
 * A Vite dev server for the page in `root` on 127.0.0.1 (a free port). The page may load files
 * from the whole workspace (linked packages' dist, fixtures) and from `allow`; `alias` maps
 * import specifiers; `optimize` lists the CommonJS dependencies to pre-bundle (as Vite's
 * `optimizeDeps.include`: `pkg > dep` for a dependency of a dependency); ESM ones load as they are.
 */
export async function servePage({ root, cacheDir, allow = [], alias = {}, optimize = [] }) {
  const server = await createServer({
    root,
    cacheDir,
    logLevel: 'warn',
    clearScreen: false,
    configFile: false,
    server: {
      port: 0,
      host: '127.0.0.1',
      fs: { allow: [searchForWorkspaceRoot(root), ...allow] },
      // no file watching and no HMR client: a package rebuilt while a run goes on (other work
      // in the same checkout) must not reload the page under it
      watch: null,
      hmr: false,
    },
    resolve: { alias },
    // only the listed dependencies are pre-bundled, before the page loads: a dependency Vite
    // discovered later would make it reload the page in the middle of a run
    optimizeDeps: { include: optimize, noDiscovery: true },
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0];
  if (!url) {
    await server.close();
    throw new Error('vite did not report a URL');
  }
  return { url, close: () => server.close() };
}

/**
 * Serves `root`, launches Chromium, opens the page at `path` and gives `use` the page; closes
 * everything after. Errors thrown by the page's scripts are collected in `pageErrors`.
 */
export async function withPage(serve, path, use) {
  const server = await servePage(serve);
  let browser;
  try {
    browser = await launchChromium();
    const page = await browser.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(new URL(path, server.url).href);
    return await use(page, pageErrors);
  } finally {
    await browser?.close();
    await server.close();
  }
}

/**
 * `promise`, or a rejection naming `what` after `ms` milliseconds: a page call that hangs
 * (a lost GPU context, a wedged engine) fails its case instead of stalling the run.
 */
export function within(ms, what, promise) {
  let timer;
  const cap = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, cap]).finally(() => clearTimeout(timer));
}
