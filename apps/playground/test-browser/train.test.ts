import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchChromium } from './chromium.js';

/** Every run takes the screenshot; `pnpm screenshot:train` (UPDATE_SCREENSHOT=1) writes the README's copy. */
const screenshot = fileURLToPath(
  process.env.UPDATE_SCREENSHOT
    ? new URL('../../../docs/train.png', import.meta.url)
    : new URL('./output/train.png', import.meta.url),
);

/** The backends the page must train on here: the oracle, the Wasm engine and a gpu.js WebGL mode. */
const REQUIRED = ['naive', 'im2col', /^gpujs:webgl/];
const EPOCHS = 2;

let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(new URL('train.html', inject('baseUrl')).href);
  await page.waitForSelector('body[data-ready="true"]');
});

afterAll(async () => {
  await browser?.close();
});

async function trainOn(spec: string): Promise<number> {
  await page.selectOption('#train-backend', spec);
  await page.fill('#train-epochs', String(EPOCHS));
  await page.click('#train-start');
  await page.waitForSelector('#train-status[data-state="training"]');
  await page.waitForSelector('#train-status:is([data-state="done"], [data-state="failed"])', {
    timeout: 240_000,
  });
  expect(await page.textContent('#train-error')).toBe('');
  expect(await page.getAttribute('#train-status', 'data-backend')).toBe(spec);
  return Number(await page.getAttribute('#train-status', 'data-test-accuracy'));
}

describe('the Train page in headless Chromium', () => {
  it('offers the backends this browser runs', async () => {
    const offered = await page.$$eval('#train-backend option:not([disabled])', (options) =>
      options.map((o) => (o as HTMLOptionElement).value),
    );
    for (const want of REQUIRED) {
      expect(
        offered.some((s) => (typeof want === 'string' ? s === want : want.test(s))),
        `${want} among ${offered}`,
      ).toBe(true);
    }
  });

  it(`trains on naive: test accuracy climbs past 0.9 in ${EPOCHS} epochs`, async () => {
    const accuracy = await trainOn('naive');
    expect(accuracy).toBeGreaterThan(0.9);
    // one row per epoch, the loss curve drawn for every step, every digit shown with a prediction
    const rows = await page.locator('[data-testid="epochs"] tbody tr').allTextContents();
    expect(rows).toHaveLength(EPOCHS);
    expect(Number(await page.getAttribute('[data-testid="loss-curve"]', 'data-steps'))).toBe(
      EPOCHS * Math.floor(1437 / 32),
    );
    const shown = await page.locator('[data-testid="digits"] .digit').count();
    const right = await page.locator('[data-testid="digits"] .digit.right').count();
    expect(shown).toBe(48);
    expect(right / shown).toBeGreaterThan(0.8);
  });

  it('trains on im2col (WebAssembly) and on gpu.js WebGL past 0.9 too', async () => {
    const specs = await page.$$eval('#train-backend option:not([disabled])', (options) =>
      options.map((o) => (o as HTMLOptionElement).value),
    );
    const webgl = specs.find((s) => /^gpujs:webgl/.test(s));
    for (const spec of ['im2col', webgl as string]) {
      expect(await trainOn(spec), spec).toBeGreaterThan(0.9);
    }
    // the page as it ends on the GPU mode
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
