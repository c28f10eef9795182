// Plans in the browser's gpu.js modes (webgpu, webgl2, webgl), against one-shot calls, in
// headless Chromium on SwiftShader, and every PyTorch fixture through a plan:
// node scripts/browser-plans/run.mjs [modes] (after a build of this package and conformance;
// uses the playground's vite and playwright-core, and Debian's chromium). Exits 1 on a problem.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const playground = createRequire(here('../../../../apps/playground/package.json'));
const { createServer } = await import(playground.resolve('vite'));
const playwright = await import(playground.resolve('playwright-core'));
const { chromium } = playwright.chromium ? playwright : playwright.default;

const modes = process.argv[2] ?? 'webgpu,webgl2,webgl';
const server = await createServer({
  root: here('.'),
  cacheDir: here('../../node_modules/.vite-browser-plans'),
  logLevel: 'warn',
  server: { port: 0, host: '127.0.0.1', fs: { allow: [here('../../..')] } },
  resolve: {
    alias: {
      '@conv2d/backend-gpujs': here('../../dist/browser.js'),
      '@conv2d/conformance/runner': here('../../../conformance/dist/runner.js'),
    },
  },
});
await server.listen();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  // SwiftShader for WebGL and WebGPU (as the playground's browser tests, plus WebGPU).
  args: [
    '--no-sandbox',
    '--use-angle=swiftshader',
    '--enable-unsafe-swiftshader',
    '--enable-unsafe-webgpu',
    '--use-webgpu-adapter=swiftshader',
  ],
});
let failed = 0;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.goto(`${server.resolvedUrls.local[0]}?modes=${modes}`);
  await page.waitForFunction(() => window.__results, null, { timeout: 240_000 });
  for (const r of await page.evaluate(() => window.__results)) {
    failed += r.problems.length ? 1 : 0;
    console.log(`${r.mode} ${r.layer}: ${r.problems.length ? r.problems.join('; ') : 'ok'}`);
  }
} finally {
  await browser.close();
  await server.close();
}
process.exit(failed ? 1 : 0);
