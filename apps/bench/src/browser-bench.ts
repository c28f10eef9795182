import { fileURLToPath } from 'node:url';
import { type Page, within, withPage } from '@conv2d/chromium';
import type { Conv2dBackend } from '@conv2d/core';

import { type BenchPage, BROWSER_ENGINES, type BrowserEngine } from './browser-engines.js';
import { matchesEngine } from './discover.js';
import type { Layer } from './layers.js';
import { gflops, PASSES, type Pass, passFlops } from './passes.js';
import type { EngineInfo, Row } from './results.js';
import { checkedLabel, type Method, plannedReps } from './runner.js';
import { summarize } from './stats.js';
import {
  checkAgainst,
  computeReference,
  describeSlice,
  planSlices,
  type Reference,
} from './verify.js';

/**
 * A page call that takes longer than this fails its cell: SwiftShader is slow, but a prepared
 * pass of the largest layer uploads and compiles in well under this.
 */
const CALL_CAP_MS = 60_000;

type PageWindow = { conv2dBench: BenchPage };

/** The engines `--backends` keeps (exact names or `prefix*`); all without it. */
export function selectBrowserEngines(patterns: readonly string[]): BrowserEngine[] {
  if (patterns.length === 0) return [...BROWSER_ENGINES];
  for (const p of patterns) {
    if (!BROWSER_ENGINES.some((e) => matchesEngine(e.name, p))) {
      throw new Error(
        `--backends: no browser engine ${p}; known: ${BROWSER_ENGINES.map((e) => e.name).join(', ')}`,
      );
    }
  }
  return BROWSER_ENGINES.filter((e) => patterns.some((p) => matchesEngine(e.name, p)));
}

const capped = <T>(what: string, promise: Promise<T>) => within(CALL_CAP_MS, what, promise);

export interface BrowserBenchOptions {
  layers: readonly Layer[];
  engines: readonly BrowserEngine[];
  method: Method;
  oracle: Conv2dBackend;
  onProgress?: (label: string, row?: Row) => void;
}

/**
 * Runs each engine on every layer and pass in headless Chromium (WebGL and WebGPU on
 * SwiftShader, tooling/chromium): prepared once in plan mode, a warm-up run, a second run
 * checked against the naive oracle (on slices for big layers, as in Node), then timed
 * repetitions within the cell's budget. One page for the whole run; each engine opened once.
 * Peak RSS is not measured in a browser (null).
 */
export async function runBrowserBench(
  o: BrowserBenchOptions,
): Promise<{ rows: Row[]; engines: EngineInfo[] }> {
  const refs = new Map<string, { refs: Reference[]; checked: string }>();
  const referenceOf = async (layer: Layer, pass: Pass) => {
    const key = `${layer.name}|${pass}`;
    let r = refs.get(key);
    if (!r) {
      const slices = planSlices(layer, pass, o.method.maxReferenceFlops);
      const computed: Reference[] = [];
      for (const s of slices) computed.push(await computeReference(o.oracle, layer, pass, s));
      r = { refs: computed, checked: checkedLabel(layer, slices) };
      refs.set(key, r);
    }
    return r;
  };
  const rows: Row[] = [];
  const engines: EngineInfo[] = [];
  const rates = new Map<string, number>();
  const serve = {
    root: fileURLToPath(new URL('../browser/', import.meta.url)),
    cacheDir: fileURLToPath(new URL('../node_modules/.vite-browser-bench', import.meta.url)),
    optimize: [
      '@conv2d/backend-gpujs > gpu.js',
      '@tensorflow/tfjs-core',
      '@tensorflow/tfjs-backend-webgpu',
      '@tensorflow/tfjs-backend-webgl',
      '@tensorflow/tfjs-backend-wasm',
    ],
  };
  await withPage(serve, '/', async (first, pageErrors) => {
    let page = first;
    const url = page.url();
    const ready = () =>
      page.waitForFunction(() => 'conv2dBench' in globalThis, null, { timeout: 120_000 });
    await ready();
    let bench = remote(page);
    // A call that timed out may still hold its page (a shader compile cannot be interrupted)
    // and a lost GPU device stays lost: the next cell gets a new page, in a new renderer.
    const freshPage = async (engine: BrowserEngine) => {
      const old = page;
      const browser = old.context().browser();
      if (!browser) throw new Error('the page has no browser to open another in');
      page = await browser.newPage();
      void old.close({ runBeforeUnload: false }).catch(() => undefined);
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await page.goto(url);
      await ready();
      bench = remote(page);
      await bench.open(engine.name);
    };
    for (const engine of o.engines) {
      const unavailable = await bench.open(engine.name);
      engines.push({
        name: engine.name,
        peer: engine.peer,
        modes: ['plan'],
        available: unavailable === null,
        ...(unavailable ? { reason: unavailable } : {}),
      });
      if (unavailable !== null) {
        o.onProgress?.(`unavailable: ${engine.name} (${unavailable})`);
        continue;
      }
      for (const layer of o.layers) {
        let timedOut: string | null = null;
        for (const pass of PASSES) {
          const label = `${layer.name} ${pass} ${engine.name}`;
          o.onProgress?.(label);
          const row: Row | null = timedOut
            ? {
                ...cellBase(layer, pass, engine),
                medianMs: null,
                gflops: null,
                status: 'skipped',
                reason: `not run: ${timedOut} on this layer`,
              }
            : await measureCell(
                bench,
                layer,
                pass,
                engine,
                o.method,
                await referenceOf(layer, pass),
                rates,
              );
          if (row?.status === 'failed') {
            if (row.reason?.includes(`over ${CALL_CAP_MS / 1000} s`))
              timedOut = `${pass} timed out`;
            await freshPage(engine);
          }
          if (row) {
            rows.push(row);
            o.onProgress?.(label, row);
          }
        }
      }
      await bench.close();
    }
    if (pageErrors.length) console.error(`page errors: ${pageErrors.join('; ')}`);
  });
  return { rows, engines };
}

/** The page's `conv2dBench`, called from Node, each call capped. */
function remote(page: Page): Promisified<BenchPage> {
  return {
    open: (name) =>
      capped(
        `opening ${name}`,
        page.evaluate((n) => (globalThis as unknown as PageWindow).conv2dBench.open(n), name),
      ),
    prepare: (layer, pass) =>
      capped(
        `preparing ${layer.name} ${pass}`,
        page.evaluate(([l, p]) => (globalThis as unknown as PageWindow).conv2dBench.prepare(l, p), [
          layer,
          pass,
        ] as const),
      ),
    run: () =>
      capped(
        'a run',
        page.evaluate(() => (globalThis as unknown as PageWindow).conv2dBench.run()),
      ),
    slices: (slices) =>
      capped(
        'reading slices',
        page.evaluate((s) => (globalThis as unknown as PageWindow).conv2dBench.slices(s), slices),
      ),
    close: () =>
      capped(
        'closing',
        page.evaluate(() => (globalThis as unknown as PageWindow).conv2dBench.close()),
      ),
  };
}

type Promisified<T> = {
  [K in keyof T]: T[K] extends (...a: infer A) => infer R
    ? (...a: A) => Promise<Awaited<R>>
    : never;
};

/** One cell: null when the engine lacks the pass (no row, never a zero). */
async function measureCell(
  bench: Promisified<BenchPage>,
  layer: Layer,
  pass: Pass,
  engine: BrowserEngine,
  method: Method,
  ref: { refs: Reference[]; checked: string },
  rates: Map<string, number>,
): Promise<Row | null> {
  const flops = passFlops(layer, pass);
  const base = cellBase(layer, pass, engine);
  // a run cannot be stopped inside the page: one predicted (from the engine's best rate on
  // this pass so far) to take longer than the cap is not started
  const rateKey = `${engine.name}|${pass}`;
  const rate = rates.get(rateKey);

  const notRun = { medianMs: null, gflops: null };
  const predictedMs = rate ? flops / (rate * 1e6) : 0;
  if (predictedMs > method.runCapMs) {
    const reason = `predicted ${(predictedMs / 1000).toFixed(0)} s per run at its best ${pass} rate so far (${rate?.toPrecision(3)} GFLOP/s), over the ${method.runCapMs / 1000} s cap: not run`;
    return { ...base, ...notRun, status: 'skipped', reason };
  }
  try {
    const absent = await bench.prepare(layer, pass);
    if (absent !== null) return null;
    const run = () => bench.run();
    await run(); // compiles and warms up
    const ms0 = await run(); // a plan is checked on its second run: reused buffers, saved state
    rates.set(rateKey, Math.max(rate ?? 0, gflops(flops, ms0)));
    const got = await bench.slices(ref.refs.map((r) => r.slice));
    const mismatches = ref.refs
      .map((r, i) => {
        const m = checkAgainst(r, Float32Array.from(got[i] ?? []), pass);
        return m && ref.refs.length > 1 ? `${describeSlice(r.slice)}: ${m}` : m;
      })
      .filter((m): m is string => m !== null);
    if (mismatches.length) {
      return {
        ...base,
        ...notRun,
        status: 'wrong',
        reason: mismatches.join('; '),
        checked: ref.checked,
      };
    }
    if (ms0 > method.runCapMs) {
      return {
        ...base,
        ...notRun,
        status: 'skipped',
        reason: `one run took ${(ms0 / 1000).toFixed(1)} s, over the ${method.runCapMs / 1000} s cap`,
        checked: ref.checked,
      };
    }
    const times: number[] = [];
    for (let i = plannedReps(method, ms0); i > 0; i--) times.push(await run());
    const s = summarize(times);
    return { ...base, status: 'ok', ...s, gflops: gflops(flops, s.medianMs), checked: ref.checked };
  } catch (e) {
    return { ...base, ...notRun, status: 'failed', reason: (e as Error).message };
  }
}

/** The fields every row of a cell has, whatever came of it. */
function cellBase(layer: Layer, pass: Pass, engine: BrowserEngine) {
  return {
    layer: layer.name,
    pass,
    engine: engine.name,
    mode: 'plan' as const,
    peer: engine.peer,
    flops: passFlops(layer, pass),
    peakRssMiB: null,
  };
}
