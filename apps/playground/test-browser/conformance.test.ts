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
 * Specs that must run in headless Chromium. naive always; the engines are listed here once
 * their browser bundles work (see the report printed below for the others).
 */
const REQUIRED = (process.env.CONV2D_BROWSER_REQUIRED ?? 'naive').split(',').filter(Boolean);

let browser: Browser;
let results: ConformanceResults;

beforeAll(async () => {
  browser = await launchChromium();
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(new URL('conformance.html', inject('baseUrl')).href);
  await page.waitForFunction(() => window.__results?.done === true, null, { timeout: 280_000 });
  results = (await page.evaluate(() => window.__results)) as ConformanceResults;
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

describe('conformance fixtures in headless Chromium', () => {
  it('the page loaded every fixture and finished without an error', () => {
    expect(results.error).toBeUndefined();
    expect(fixtureCount).toBeGreaterThan(0);
    expect(results.fixtureCount).toBe(fixtureCount);
  });

  it.each(REQUIRED)('%s is present and ran', (spec) => {
    const report = results.backends.find((b) => b.spec === spec);
    expect(report, `${spec} missing from the page`).toBeDefined();
    expect(report?.status).toBe('ran');
  });

  it('every backend that ran passed every case', () => {
    const ran = results.backends.filter((b) => b.status === 'ran');
    expect(ran.length).toBeGreaterThan(0);
    for (const b of ran) {
      expect(b.cases.length, `${b.spec} ran ${b.cases.length} cases`).toBe(fixtureCount);
      const failures = b.cases
        .filter((c) => !c.passed)
        .map((c) => `${b.spec} ${c.name}: ${c.message}`);
      expect(failures).toEqual([]);
    }
  });
});
