// Median ms per pass of the gather and block kernel families beside tfjs-webgpu, in headless
// Chromium on SwiftShader (plans, resident tensors):
// node scripts/browser-measure/run.mjs [modes] [layers] [reps] [families]
// e.g. `webgpu B,T2 5` (after a build of this package; uses the playground's vite and
// playwright-core, apps/bench's tfjs, Debian's chromium). Prints one line per layer, pass and
// engine, then the results as JSON. The launcher follows browser-plans/run.mjs (the shared one
// in tooling/chromium is not a dependency of this package yet).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const playground = createRequire(here('../../../../apps/playground/package.json'));
const bench = createRequire(here('../../../../apps/bench/package.json'));
const { createServer } = await import(playground.resolve('vite'));
const playwright = await import(playground.resolve('playwright-core'));
const { chromium } = playwright.chromium ? playwright : playwright.default;

const [modes = 'webgpu', layers = 'B', reps = '5', families = 'gather,block'] =
  process.argv.slice(2);
const tfjs = (name) => bench.resolve(`@tensorflow/${name}`);
const server = await createServer({
  root: here('.'),
  cacheDir: here('../../node_modules/.vite-browser-measure'),
  logLevel: 'warn',
  server: { port: 0, host: '127.0.0.1', fs: { allow: [here('../../../..')] } },
  resolve: {
    alias: {
      '@conv2d/backend-gpujs': here('../../dist/browser.js'),
      '@tensorflow/tfjs-core': tfjs('tfjs-core'),
      '@tensorflow/tfjs-backend-webgpu': tfjs('tfjs-backend-webgpu'),
    },
  },
  // Pre-bundled before the page loads, so Vite never reloads it halfway through a run.
  optimizeDeps: { include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu'] },
});
await server.listen();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
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
  page.on('pageerror', (e) => {
    failed++;
    console.log(`page error: ${e.message}`);
  });
  page.on('console', (m) => console.log(m.text()));
  await page.goto(
    `${server.resolvedUrls.local[0]}?modes=${modes}&layers=${layers}&reps=${reps}&families=${families}`,
  );
  await page.waitForFunction(() => window.__results, null, { timeout: 590_000, polling: 1000 });
  const results = await page.evaluate(() => window.__results);
  failed += results.filter((r) => r.problem).length;
  console.log(JSON.stringify(results));
} finally {
  await browser.close();
  await server.close();
}
process.exit(failed ? 1 : 0);
