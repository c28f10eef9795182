import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ConformanceResults } from '../src/conformance-page.js';
import { launchChromium } from './chromium.js';

const fixturesDir = fileURLToPath(
  new URL('../../../packages/conformance/fixtures/', import.meta.url),
);
const fixtureCount = readdirSync(fixturesDir).filter((f) => f.endsWith('.json')).length;

/**
 * Specs the page must offer as runnable in headless Chromium (WebGL and WebGPU on SwiftShader).
 * A trailing `*` matches any spec with that prefix. CONV2D_BROWSER_REQUIRED overrides the list
 * (comma-separated), e.g. while an engine cannot run in browsers yet.
 */
const REQUIRED = (
  process.env.CONV2D_BROWSER_REQUIRED ??
  'naive,im2col:col2im,im2col:transposed,gpujs:webgl2,gpujs:webgl,gpujs:webgpu'
)
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

function matches(pattern: string, spec: string): boolean {
  return pattern.endsWith('*') ? spec.startsWith(pattern.slice(0, -1)) : spec === pattern;
}

/** The one spec the page runs the fixtures on here. */
const RUN = 'naive';

let browser: Browser;
let results: ConformanceResults;

beforeAll(async () => {
  browser = await launchChromium();
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // The page runs the fixtures on the oracle only: every fixture on every browser spec, both
  // APIs, is `pnpm conformance --browser --backend all` in .ci/run (once, not twice).
  await page.goto(new URL(`conformance.html?run=${RUN}`, inject('baseUrl')).href);
  await page.waitForFunction(() => window.__results?.done === true, null, { timeout: 280_000 });
  results = (await page.evaluate(() => window.__results)) as ConformanceResults;
  console.log(`environment: ${JSON.stringify(results.environment)}`);
  for (const b of results.backends) {
    const failed = b.cases.filter((c) => !c.passed).length;
    console.log(
      `${b.spec}: ${b.status}${b.status === 'ran' ? `, ${b.cases.length - failed}/${b.cases.length} passed in ${b.ms.toFixed(0)} ms` : ''}`,
    );
  }
  expect(errors).toEqual([]);
}, 300_000);

afterAll(async () => {
  await browser?.close();
});

describe('the conformance page in headless Chromium', () => {
  it('the page loaded every fixture and finished without an error', () => {
    expect(results.error).toBeUndefined();
    expect(fixtureCount).toBeGreaterThan(0);
    expect(results.fixtureCount).toBe(fixtureCount);
  });

  it.each(REQUIRED)('%s is listed and can run here', (pattern) => {
    const reports = results.backends.filter((b) => matches(pattern, b.spec));
    const listed = results.backends.map((b) => `${b.spec} (${b.status})`).join('; ');
    expect(reports.length, `no ${pattern} on the page; it lists ${listed}`).toBeGreaterThan(0);
    expect(
      reports.some((b) => !b.status.startsWith('unavailable')),
      `${pattern} cannot run: ${reports.map((b) => `${b.spec} ${b.status}`).join('; ')}`,
    ).toBe(true);
  });

  it(`?run=${RUN} ran ${RUN} alone, and it passed every case`, () => {
    const ran = results.backends.filter((b) => b.status === 'ran');
    expect(ran.map((b) => b.spec)).toEqual([RUN]);
    for (const b of ran) {
      expect(b.cases.length, `${b.spec} ran ${b.cases.length} cases`).toBe(fixtureCount);
      const failures = b.cases
        .filter((c) => !c.passed)
        .map((c) => `${b.spec} ${c.name}: ${c.message}`);
      expect(failures).toEqual([]);
    }
  });
});
