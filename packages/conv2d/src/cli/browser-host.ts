import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CaseResult, ConformanceApi, Fixture } from '@conv2d/conformance/runner';
import type { ConformanceHost, OpenBackend } from './hosts.js';
import type { SpecAvailability } from './specs.js';

/** What browser/page.ts publishes as `window.conv2dConformance`. */
export interface PageApi {
  probe(backend: string): Promise<SpecAvailability[]>;
  open(spec: string): Promise<void>;
  run(fixture: Fixture, api: ConformanceApi): Promise<CaseResult>;
  close(): void;
}

/** A case that takes longer than this is a failure, not a hung CI job (SwiftShader is slow). */
const CASE_TIMEOUT_MS = 120_000;

/**
 * The package folder holding browser/index.html (dist/cli.js and src/cli/*.ts both sit two
 * levels below it), and the repository's tooling/chromium harness; null outside the conv2d
 * repository: the published package ships neither the page nor the harness.
 */
function browserParts(): { page: string; harness: string } | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 3; up++, dir = dirname(dir)) {
    const page = join(dir, 'browser');
    const harness = join(dir, '../../tooling/chromium/index.mjs');
    if (existsSync(join(page, 'index.html')) && existsSync(harness)) return { page, harness };
  }
  return null;
}

type Harness = typeof import('../../../../tooling/chromium/index.mjs');

/**
 * Headless Chromium (WebGL and WebGPU on SwiftShader) on the repository's conformance page,
 * served from 127.0.0.1; or the reason it cannot start here.
 */
export async function openBrowserHost(): Promise<ConformanceHost | { unavailable: string }> {
  const parts = browserParts();
  if (!parts) {
    return {
      unavailable:
        '--browser runs from the conv2d repository (its browser/ page and tooling/chromium); the published package does not ship them',
    };
  }
  const harness = (await import(pathToFileURL(parts.harness).href)) as Harness;
  let server: Awaited<ReturnType<Harness['servePage']>> | undefined;
  let browser: Awaited<ReturnType<Harness['launchChromium']>> | undefined;
  try {
    server = await harness.servePage({
      root: parts.page,
      cacheDir: join(parts.page, '../node_modules/.vite-browser-conformance'),
      optimize: ['@conv2d/backend-gpujs > gpu.js'],
    });
    browser = await harness.launchChromium();
  } catch (e) {
    await server?.close();
    return { unavailable: `headless Chromium did not start: ${(e as Error).message}` };
  }
  const { url } = server;
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // each spec runs on a freshly loaded page: nothing one engine leaves behind (WebAssembly
  // memories, GL contexts) can make the next one fail
  const load = async () => {
    await page.goto(url);
    await page.waitForFunction(() => 'conv2dConformance' in globalThis, null, { timeout: 60_000 });
  };
  await load();
  type PageWindow = { conv2dConformance: PageApi };
  const host: ConformanceHost = {
    async probe(backend) {
      return harness.within(
        CASE_TIMEOUT_MS,
        'probing',
        page.evaluate(
          (b) => (globalThis as unknown as PageWindow).conv2dConformance.probe(b),
          backend,
        ),
      );
    },
    async open(spec): Promise<OpenBackend> {
      await load();
      await harness.within(
        CASE_TIMEOUT_MS,
        `creating ${spec}`,
        page.evaluate((s) => (globalThis as unknown as PageWindow).conv2dConformance.open(s), spec),
      );
      return {
        // a case that hangs or crashes the page fails, and the run goes on to report the rest
        run: (fixture, api) =>
          harness
            .within(
              CASE_TIMEOUT_MS,
              `${spec} ${fixture.name}`,
              page.evaluate(
                ([f, a]) => (globalThis as unknown as PageWindow).conv2dConformance.run(f, a),
                [fixture, api] as const,
              ),
            )
            .catch((e: Error) => ({
              name: fixture.name,
              passed: false,
              message: `threw ${e.message}`,
              dump: { error: e.message },
            })),
        close: () =>
          page.evaluate(() => (globalThis as unknown as PageWindow).conv2dConformance.close()),
      };
    },
    async close() {
      await browser?.close();
      await server?.close();
      if (pageErrors.length) console.error(`page errors: ${pageErrors.join('; ')}`);
    },
  };
  return host;
}
