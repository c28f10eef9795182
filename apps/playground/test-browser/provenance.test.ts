import { mkdirSync } from 'node:fs';
import seed from '@conv2d/conformance/fixtures/seed-example.json';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ExampleConfig, SEED_CONFIG } from '../src/example.js';
import { toQuery } from '../src/url-state.js';
import { STRIDED_CONFIG } from '../test/cases.js';
import { evaluateWrittenOut } from '../test/written-sum.js';
import { artifactPath, launchChromium } from './chromium.js';

/*
 * Provenance in the page: point at (hover, then focus) a cell of each kind and check which
 * cells light up, computed here from the convolution's formula, and that the written-out sum
 * adds up to the number in the cell. On the seed example and on a strided, dilated, padded
 * case opened from a link. `pnpm screenshot` also writes the README's backward-pass frames.
 */

let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** The geometry the test computes its expectations from (groups 1, batch 1), and the page's link. */
interface Case {
  name: string;
  query: string;
  cin: number;
  cout: number;
  h: number;
  w: number;
  k: [number, number];
  stride: [number, number];
  /** [top, bottom, left, right] */
  pad: [number, number, number, number];
  dil: [number, number];
}

function caseOf(name: string, c: ExampleConfig): Case {
  const view = { config: c, step: 0, showAll: false, backend: 'naive', cell: null };
  return {
    name,
    query: toQuery(view, { ...view, config: SEED_CONFIG }),
    cin: c.inChannels,
    cout: c.outChannels,
    h: c.height,
    w: c.width,
    k: [c.kernelHeight, c.kernelWidth],
    stride: c.stride,
    pad: c.padding,
    dil: c.dilation,
  };
}

const SEED = caseOf('the seed example', SEED_CONFIG);
const STRIDED = caseOf('a strided, dilated, padded case', STRIDED_CONFIG);

function geometry(c: Case) {
  const hp = c.h + c.pad[0] + c.pad[1];
  const wp = c.w + c.pad[2] + c.pad[3];
  const ho = Math.floor((hp - c.dil[0] * (c.k[0] - 1) - 1) / c.stride[0]) + 1;
  const wo = Math.floor((wp - c.dil[1] * (c.k[1] - 1) - 1) / c.stride[1]) + 1;
  const taps = c.cin * c.k[0] * c.k[1];
  /** The padded-input cells window (i, j) reads, in X_hat column order. */
  const window = (i: number, j: number) => {
    const out: number[] = [];
    for (let ci = 0; ci < c.cin; ci++)
      for (let m = 0; m < c.k[0]; m++)
        for (let q = 0; q < c.k[1]; q++)
          out.push(
            (ci * hp + i * c.stride[0] + m * c.dil[0]) * wp + j * c.stride[1] + q * c.dil[1],
          );
    return out;
  };
  return { hp, wp, ho, wo, windows: ho * wo, taps, window };
}

const range = (n: number, f: (k: number) => string) => Array.from({ length: n }, (_, k) => f(k));

/** Opens the page from a link; the steps are drawn before the engines finish loading. */
async function open(query: string, engines: 'wait for engines' | 'steps only' = 'steps only') {
  await page.goto(`${inject('baseUrl')}?${query}`);
  await page.waitForSelector(
    engines === 'steps only' ? 'section.step' : 'body[data-ready="true"] [data-testid="timing"]',
  );
}

async function lit(): Promise<string[]> {
  const keys = await page.$$eval('.lit', (els) => els.map((e) => (e as HTMLElement).dataset.cell));
  return [...new Set(keys)].sort() as string[];
}

/** Points at the first drawn copy of a cell, by mouse or by keyboard focus; returns its number. */
async function point(key: string, how: 'hover' | 'focus'): Promise<number> {
  await page.keyboard.press('Escape');
  await page.mouse.move(0, 0);
  const cell = page.locator(`#steps [data-cell="${key}"]`).first();
  await cell[how]();
  expect(
    await page.$$eval('.origin', (els) => els.map((e) => (e as HTMLElement).dataset.cell)),
  ).toContain(key);
  return Number((await cell.evaluate((e) => e.firstChild?.textContent)) ?? Number.NaN);
}

/** The explanation bar, checked to add up to `value`. */
async function writtenSum(value: number): Promise<string> {
  const text = (await page.textContent('#explain')) ?? '';
  const evaluated = evaluateWrittenOut(text);
  expect([text, evaluated.sum, evaluated.value]).toEqual([text, value, value]);
  return text;
}

const sorted = (keys: string[]) => [...keys].sort();

beforeAll(async () => {
  browser = await launchChromium();
  // 1000 px wide: the narrowest supported page.
  page = await browser.newPage({ viewport: { width: 1000, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

afterAll(async () => {
  await browser?.close();
});

describe.each([SEED, STRIDED])('provenance on $name', (c) => {
  const g = geometry(c);
  const { taps, windows } = g;
  // A middle output, and an input element several windows overlap where there is one.
  const [i, j] = [g.ho - 1, Math.min(1, g.wo - 1)];
  const r = i * g.wo + j;

  beforeAll(async () => {
    await open(`${c.query}&all=1`);
  });

  it.each(['hover', 'focus'] as const)(
    'an output lights its window, X̂ row, Ŵ row and bias (%s)',
    async (how) => {
      const co = c.cout - 1;
      const value = await point(`y:${(co * g.ho + i) * g.wo + j}`, how);
      expect(await lit()).toEqual(
        sorted([
          `b:${co}`,
          `yHat.0:${co * windows + r}`,
          ...range(taps, (k) => `xHat.0:${r * taps + k}`),
          ...range(taps, (k) => `wHat.0:${co * taps + k}`),
          ...g.window(i, j).map((p) => `xPadded:${p}`),
        ]),
      );
      const text = await writtenSum(value);
      expect(text).toMatch(
        new RegExp(`^y\\[0,${co},${i},${j}\\] = b\\[${co}\\] \\+ x̂\\[${r},:\\]·ŵ\\[${co},:\\] = `),
      );
      if (c === SEED) expect(value).toBe(seed.y.data[(co * g.ho + i) * g.wo + j]);
    },
  );

  it.each(['hover', 'focus'] as const)(
    'an X̂ cell lights the input element it copies, or says padding (%s)',
    async (how) => {
      // Tap 0 of window 0 is the top-left corner: padding in both cases.
      await point('xHat.0:0', how);
      expect(await lit()).toEqual(['xPadded:0']);
      expect(await page.textContent('#explain')).toMatch(
        /\(padding: x_pad\[0,0,0,0\] is in the zero border\)$/,
      );
      // The last tap of the last window that reads an input element.
      const inside = (p: number) => {
        const [ph, pw] = [Math.floor(p / g.wp) % g.hp, p % g.wp];
        return ph >= c.pad[0] && ph < c.pad[0] + c.h && pw >= c.pad[2] && pw < c.pad[2] + c.w;
      };
      const tap = g
        .window(g.ho - 1, g.wo - 1)
        .map(inside)
        .lastIndexOf(true);
      const padded = g.window(g.ho - 1, g.wo - 1)[tap];
      const value = await point(`xHat.0:${(windows - 1) * taps + tap}`, how);
      const [ph, pw] = [Math.floor(padded / g.wp) % g.hp, padded % g.wp];
      const x = ((c.cin - 1) * c.h + ph - c.pad[0]) * c.w + pw - c.pad[2];
      expect(await lit()).toEqual(sorted([`xPadded:${padded}`, `x:${x}`]));
      await writtenSum(value);
    },
  );

  it.each(['hover', 'focus'] as const)(
    'a dW cell lights the dŶ row and the X̂ column (%s)',
    async (how) => {
      const [co, k] = [1, taps - 2];
      const value = await point(`dw:${co * taps + k}`, how);
      expect(await lit()).toEqual(
        sorted([
          `dwHat.0:${co * taps + k}`,
          ...range(windows, (w) => `dyHat.0:${co * windows + w}`),
          ...range(windows, (w) => `xHat.0:${w * taps + k}`),
        ]),
      );
      expect(await page.textContent('#explain')).toContain(`= dŷ[${co},:]·x̂[:,${k}] = `);
      await writtenSum(value);
      if (c === SEED) expect(value).toBe(seed.dw.data[co * taps + k]);
    },
  );

  it.each(['hover', 'focus'] as const)(
    'a col2im dX cell lights every X̂-gradient cell scattered onto it (%s)',
    async (how) => {
      // The input element of channel 0 covered by the most windows.
      const covering = (h: number, w: number) => {
        const out: string[] = [];
        for (let wi = 0; wi < g.ho; wi++)
          for (let wj = 0; wj < g.wo; wj++)
            for (let m = 0; m < c.k[0]; m++)
              for (let q = 0; q < c.k[1]; q++)
                if (
                  wi * c.stride[0] + m * c.dil[0] === h + c.pad[0] &&
                  wj * c.stride[1] + q * c.dil[1] === w + c.pad[2]
                )
                  out.push(`dxHat.0:${(wi * g.wo + wj) * taps + m * c.k[1] + q}`);
        return out;
      };
      let best = [0, 0];
      for (let h = 0; h < c.h; h++)
        for (let w = 0; w < c.w; w++)
          if (covering(h, w).length > covering(best[0], best[1]).length) best = [h, w];
      const [h, w] = best;
      const sources = covering(h, w);
      expect(sources.length).toBeGreaterThan(1);
      const value = await point(`dxCol2im:${h * c.w + w}`, how);
      const padded = (h + c.pad[0]) * g.wp + w + c.pad[2];
      expect(await lit()).toEqual(sorted([`dxPadded:${padded}`, ...sources]));
      const text = await writtenSum(value);
      expect(text.split(' = ')[1].split(' + ')).toHaveLength(sources.length);
      if (c === SEED) expect(value).toBe(seed.dx.data[h * c.w + w]);

      // The transposed convolution: the window over the upsampled, padded dY and the flipped kernel.
      const uh = (g.ho - 1) * c.stride[0] + 1;
      const uw = (g.wo - 1) * c.stride[1] + 1;
      const [top, left] = [(c.k[0] - 1) * c.dil[0] - c.pad[0], (c.k[1] - 1) * c.dil[1] - c.pad[2]];
      const extraW = (g.wp - (c.k[1] - 1) * c.dil[1] - 1) % c.stride[1];
      const extraH = (g.hp - (c.k[0] - 1) * c.dil[0] - 1) % c.stride[0];
      const ph = uh + top + (c.k[0] - 1) * c.dil[0] - c.pad[1] + extraH;
      const pw = uw + left + (c.k[1] - 1) * c.dil[1] - c.pad[3] + extraW;
      const window: string[] = [];
      for (let co = 0; co < c.cout; co++)
        for (let m = 0; m < c.k[0]; m++)
          for (let q = 0; q < c.k[1]; q++)
            window.push(`paddedDy:${(co * ph + h + m * c.dil[0]) * pw + w + q * c.dil[1]}`);
      const kernel = c.cout * c.k[0] * c.k[1];
      expect(await point(`dxTransposed:${h * c.w + w}`, how)).toBe(value);
      expect(await lit()).toEqual(sorted([...window, ...range(kernel, (k) => `flipped:${k}`)]));
      expect(await writtenSum(value)).toContain('·w_rot[0,:,:,:] = ');
    },
  );
});

describe('keyboard, colour-free marks, width, links', () => {
  it('arrow keys walk the cells of a table, each explained in turn', async () => {
    await open('step=4');
    const first = page.locator('[data-testid="yhat-0"] td').first();
    await first.focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.cell)).toBe(
      'yHat.0:1',
    );
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.cell)).toBe(
      'yHat.0:5',
    );
    expect(await page.textContent('#explain')).toMatch(/^ŷ\[1,1\] = x̂\[1,:\]·ŵ\[1,:\] = /);
    // One tab stop per table: the focused cell now holds it.
    expect(await page.locator('[data-testid="yhat-0"] td[tabindex="0"]').count()).toBe(1);
    // The db list: down from db[0] to db[1], which sums dY's channel 1.
    await page.click('#step-tab-5');
    await page.locator('[data-cell="db:0"]').focus();
    await page.keyboard.press('ArrowDown');
    expect(await page.textContent('#explain')).toMatch(/^db\[1\] = Σ dy\[:,1,:,:\] = /);
  });

  it('lit and pointed-at cells differ without colour: dashed and solid outlines', async () => {
    const styles = await page.evaluate(() => {
      const style = (sel: string) => getComputedStyle(document.querySelector(sel) as Element);
      return [
        style('.lit').outlineStyle,
        style('.lit').backgroundImage,
        style('.origin').outlineStyle,
      ];
    });
    expect(styles[0]).toBe('dashed');
    expect(styles[1]).toContain('repeating-linear-gradient');
    expect(styles[2]).toBe('solid');
  });

  it('stays within 1000 px: no sideways scrolling of the page, in any step', async () => {
    await open('all=1');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      1000,
    );
  });

  it('a link reproduces the view, and the view writes its link', async () => {
    await open(`${STRIDED.query}&step=9&cell=dxTransposed:9`);
    expect(await page.inputValue('#in-stride-1')).toBe('3');
    // The pinned cell is explained: index 9 of a [1, 2, 6, 8] dX is (0, 0, 1, 1).
    expect(await page.textContent('#explain')).toMatch(/^dx\[0,0,1,1\] = dy_pad/);
    await page.locator('[data-cell="flipped:3"]').click();
    expect(new URL(page.url()).searchParams.get('cell')).toBe('flipped:3');
    expect(await page.inputValue('#in-padding-2')).toBe('2');
    expect(await page.inputValue('#in-dilation-0')).toBe('2');
    expect(await page.textContent('section.step h2')).toContain('9. Backward: dX by transposed');
    await page.click('#next');
    expect(new URL(page.url()).searchParams.get('step')).toBe('10');
    expect(new URL(page.url()).searchParams.get('w')).toBe('8');
  });
});

describe('the window moving', () => {
  const frame = async (player: string) => {
    await page.click(`[data-testid="${player}"] button[title="next frame"]`);
    return {
      counter: await page.textContent(`[data-testid="${player}"] .counter`),
      origin: await page.$$eval('.origin', (els) => [
        ...new Set(els.map((e) => (e as HTMLElement).dataset.cell)),
      ]),
      lit: await lit(),
    };
  };

  it.each([SEED, STRIDED])(
    'forward and col2im: the window strides over the padded grid, one output (window) at a time ($name)',
    async (c) => {
      const g = geometry(c);
      await open(c.query);
      const players = [
        { tab: 3, id: 'player-forward', frames: c.cout * g.windows, grid: 'xPadded' },
        { tab: 7, id: 'player-col2im', frames: g.windows, grid: 'dxPadded' },
      ];
      // Frame k: the forward pass's output k (Y_hat row 0), col2im's window k (its dX_hat row).
      const origin = (id: string, k: number) =>
        id === 'player-forward'
          ? [`yHat.0:${k}`]
          : range(g.taps, (t) => `dxHat.0:${k * g.taps + t}`);
      for (const p of players) {
        await page.click(`#step-tab-${p.tab}`);
        for (let k = 0; k < 2; k++) {
          const f = await frame(p.id);
          expect(f.counter).toBe(`${k + 1} / ${p.frames}`);
          expect(sorted(f.origin as string[])).toEqual(sorted(origin(p.id, k)));
          const [i, j] = [Math.floor(k / g.wo), k % g.wo];
          expect(f.lit.filter((l) => l.startsWith(`${p.grid}:`))).toEqual(
            sorted(g.window(i, j).map((x) => `${p.grid}:${x}`)),
          );
        }
      }
    },
  );

  it('transposed convolution: plays by itself, one dX at a time, and pauses', async () => {
    await open(`${STRIDED.query}&step=9`);
    const counter = '[data-testid="player-transposed"] .counter';
    await page.click('[data-testid="player-transposed"] button[title^="play"]');
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent?.startsWith('2 /'),
      counter,
    );
    await page.click('[data-testid="player-transposed"] button[title^="play"]');
    const paused = await page.textContent(counter);
    expect(paused).toMatch(new RegExp(`^[23] / ${STRIDED.cin * STRIDED.h * STRIDED.w}$`));
    await page.waitForTimeout(900);
    expect(await page.textContent(counter)).toBe(paused);
    expect(await page.textContent('#explain')).toMatch(/^dx\[0,0,0,[12]\] = dy_pad/);
  });

  it('frames of the backward steps for the README', async () => {
    const frames = artifactPath('');
    mkdirSync(frames, { recursive: true });
    await page.setViewportSize({ width: 1000, height: 800 });
    const shot = async (name: string) => {
      await page.screenshot({ path: `${frames}playground-backward-${name}.png` });
    };
    const next = (player: string) =>
      page.click(`[data-testid="${player}"] button[title="next frame"]`);
    await open('step=7', 'wait for engines');
    await page.locator('[data-cell="dwHat.0:28"]').first().hover();
    await shot('1-dw');
    await page.click('#step-tab-7');
    await page.locator('[data-testid="player-col2im"]').scrollIntoViewIfNeeded();
    await next('player-col2im');
    await shot('2-col2im-window0');
    await next('player-col2im');
    await shot('3-col2im-window1');
    await page.locator('#steps [data-cell="dxCol2im:4"]').first().hover();
    await shot('4-col2im-sum');
    await page.click('#step-tab-8');
    // The player at the top: padded dY, the dX being made and the kernel below it in view.
    await page.$eval('[data-testid="player-transposed"]', (e) => e.scrollIntoView());
    for (let k = 0; k < 5; k++) await next('player-transposed');
    await shot('5-transposed');
    expect(pageErrors).toEqual([]);
  });
});
