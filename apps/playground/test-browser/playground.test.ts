import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import seed from '@conv2d/conformance/fixtures/seed-example.json';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { artifactPath, launchChromium } from './chromium.js';

/** Every run takes the screenshot; `pnpm screenshot` (UPDATE_SCREENSHOT=1) writes the README's copy. */
const screenshot = artifactPath('playground.png');

let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** The numbers of every cell of the tables under a data-testid, in order. */
async function numbers(testId: string): Promise<number[]> {
  const cells = await page.locator(`[data-testid="${testId}"] td`).allTextContents();
  return cells.map((t) => Number(t.replace(/×\d+$/, '')));
}

async function setField(id: string, value: number): Promise<void> {
  await page.fill(`#${id}`, String(value));
  await page.dispatchEvent(`#${id}`, 'change');
}

beforeAll(async () => {
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(inject('baseUrl'));
  await page.waitForSelector('body[data-ready="true"]');
});

afterAll(async () => {
  await browser?.close();
});

describe('the playground in headless Chromium', () => {
  it('opens on the seed example with its padded input', async () => {
    expect(await page.textContent('#shapes')).toContain('y [1, 2, 2, 2]');
    expect(await numbers('x')).toEqual(seed.x.data);
    const padded = await numbers('padded');
    expect(padded).toHaveLength(3 * 5 * 5);
    expect(padded.slice(0, 5)).toEqual([0, 0, 0, 0, 0]); // the zero border
  });

  it('clicks through every step, showing the numbers of the fixture', async () => {
    const titles: string[] = [];
    const tabs = await page.locator('#step-nav button').count();
    for (let k = 0; k < tabs; k++) {
      if (k > 0) await page.click('#next');
      const h = await page.textContent(`section.step[data-step="${k}"] h2`);
      titles.push(h ?? '');
      if (k === 1) {
        expect(await page.textContent('section.step')).toContain('X_hat [4, 27]');
        // Row 3 is the bottom-right window: its 3x3 taps on 3 channels light up.
        await page.click('[data-testid="xhat-0"] tr:nth-child(5)');
        expect(await page.locator('[data-testid="padded"] td.win').count()).toBe(27);
        mkdirSync(dirname(screenshot), { recursive: true });
        await page.screenshot({ path: screenshot, fullPage: true });
      }
      if (k === 4) expect(await numbers('y')).toEqual(seed.y.data);
      if (k === 5)
        expect(await page.textContent('[data-testid="db"]')).toContain(`= ${seed.db.data[0]}`);
      if (k === 6) expect(await numbers('dw')).toEqual(seed.dw.data);
      if (k === 7) expect(await numbers('dx-col2im')).toEqual(seed.dx.data);
      if (k === 8) expect(await numbers('dx-transposed')).toEqual(seed.dx.data);
      if (k === 9) expect(await page.textContent('[data-testid="dx-equal"]')).toContain('equal');
    }
    expect(titles).toHaveLength(10);
    expect(titles.at(-1)).toContain('Both dX agree');
    await page.click('#prev');
    expect(await page.textContent('section.step h2')).toBe(titles[8]);
    await page.check('#show-all');
    expect(await page.locator('section.step').count()).toBe(10);
    await page.uncheck('#show-all');
  });

  it('the backend agrees with the steps and reports its time', async () => {
    await page.waitForSelector('[data-testid="agreement"]');
    expect(await page.textContent('[data-testid="agreement"]')).toContain('y 0, dx 0, dw 0');
    expect(await page.textContent('[data-testid="timing"]')).toMatch(/naive: forward [\d.]+ ms/);
    expect(await numbers('backend-y')).toEqual(seed.y.data);
  });

  it('every backend offered agrees with the steps', async () => {
    const specs = await page.$$eval('#in-backend option:not([disabled])', (options) =>
      options.map((o) => (o as HTMLOptionElement).value),
    );
    expect(specs).toContain('naive');
    for (const spec of specs) {
      await page.selectOption('#in-backend', spec);
      await page.waitForFunction(
        (s) => document.querySelector('[data-testid="timing"]')?.textContent?.startsWith(`${s}:`),
        spec,
      );
      const agreement = await page.textContent('[data-testid="agreement"]');
      expect(`${spec}: ${agreement}`).toContain('y 0, dx 0, dw 0');
    }
    await page.selectOption('#in-backend', 'naive');
  });

  it('recomputes everything when the stride changes', async () => {
    await page.click('#step-tab-4');
    const before = await numbers('y');
    await setField('in-stride-0', 1);
    await setField('in-stride-1', 1);
    expect(await page.textContent('#shapes')).toContain('y [1, 2, 3, 3]');
    const after = await numbers('y');
    expect(after).toHaveLength(18);
    expect(after).not.toEqual(before);
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="backend-y"]')?.querySelectorAll('td').length === 18,
    );
    expect(await numbers('backend-y')).toEqual(after);
    expect(await page.textContent('[data-testid="agreement"]')).toContain('y 0, dx 0, dw 0');
  });

  it('explains invalid options with the core error', async () => {
    await setField('in-groups', 2);
    expect(await page.textContent('#error')).toContain('options.groups');
    await setField('in-groups', 1);
    expect(await page.textContent('#error')).toBe('');
  });

  it('shows summary numbers for sizes too big to draw', async () => {
    await setField('in-height', 64);
    await setField('in-width', 64);
    await setField('in-outChannels', 16);
    expect(await page.textContent('[data-testid="too-big"]')).toContain('Too big to draw');
    await page.waitForSelector('[data-testid="timing"]');
    expect(await page.textContent('#result')).toMatch(/y: 65536 values/);
    expect(pageErrors).toEqual([]);
  });
});
