// Plans in the browser's gpu.js modes (webgpu, webgl2, webgl), against one-shot calls, in
// headless Chromium on SwiftShader, and every PyTorch fixture through a plan:
// node scripts/browser-plans/run.mjs [modes] (after a build of this package and conformance;
// uses tooling/chromium: Vite, playwright-core and Debian's chromium). Exits 1 on a problem.
import { fileURLToPath } from 'node:url';
// The repository's shared Chromium flags and Vite server (tooling/chromium).
import { launchChromium, servePage } from '../../../../tooling/chromium/index.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const modes = process.argv[2] ?? 'webgpu,webgl2,webgl';
const server = await servePage({
  root: here('.'),
  cacheDir: here('../../node_modules/.vite-browser-plans'),
  alias: {
    '@conv2d/backend-gpujs': here('../../dist/browser.js'),
    '@conv2d/conformance/runner': here('../../../conformance/dist/runner.js'),
    '@conv2d/backend-naive': here('../../../backend-naive/dist/index.js'),
  },
  optimize: ['gpu.js'],
});
const browser = await launchChromium();
let failed = 0;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.goto(`${server.url}?modes=${modes}`);
  await page.waitForFunction(() => window.__results, null, { timeout: 240_000 });
  for (const r of await page.evaluate(() => window.__results)) {
    failed += r.problems.length ? 1 : 0;
    // The first few problems of a check, and how many there were.
    const shown = r.problems.slice(0, 3).join('; ');
    const more = r.problems.length > 3 ? ` (and ${r.problems.length - 3} more)` : '';
    console.log(`${r.mode} ${r.layer}: ${r.problems.length ? shown + more : 'ok'}`);
  }
} finally {
  await browser.close();
  await server.close();
}
process.exit(failed ? 1 : 0);
