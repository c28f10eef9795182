import { createNaiveBackend } from '@conv2d/backend-naive';
import { afterAll, describe, expect, it } from 'vitest';
import { runBrowserBench, selectBrowserEngines } from '../src/browser-bench.js';
import { LAYERS, quickLayer } from '../src/layers.js';
import { QUICK_METHOD } from '../src/runner.js';

// `pnpm bench --browser` in headless Chromium (WebGPU on SwiftShader): one small layer, our
// WebGPU mode beside tfjs-webgpu, every result checked against the oracle before timing.
const oracle = createNaiveBackend();
afterAll(() => oracle.dispose());

describe('the browser bench', () => {
  it('checks, then times, gpujs:webgpu and tfjs-webgpu in Chromium, in plan mode', async () => {
    const layer = quickLayer(LAYERS.find((l) => l.id === 'B') as (typeof LAYERS)[number]);
    const { rows, engines } = await runBrowserBench({
      layers: [layer],
      engines: selectBrowserEngines(['gpujs:webgpu*', 'tfjs-webgpu*']),
      method: QUICK_METHOD,
      oracle,
    });
    expect(engines.map((e) => [e.name, e.available, e.peer])).toEqual([
      ['gpujs:webgpu (browser)', true, false],
      ['tfjs-webgpu (browser)', true, true],
    ]);
    expect(rows.map((r) => `${r.engine} ${r.pass} ${r.status} ${r.reason ?? ''}`.trim())).toEqual([
      'gpujs:webgpu (browser) forward ok',
      'gpujs:webgpu (browser) dx ok',
      'gpujs:webgpu (browser) dw ok',
      'tfjs-webgpu (browser) forward ok',
      'tfjs-webgpu (browser) dx ok',
      'tfjs-webgpu (browser) dw ok',
    ]);
    for (const r of rows) {
      expect(r.mode).toBe('plan');
      expect(r.checked).toBe('naive, whole layer');
      expect(r.medianMs).toBeGreaterThan(0);
      expect(r.peakRssMiB).toBeNull();
    }
  }, 180_000);

  it('refuses an engine it does not have, naming the ones it has', () => {
    expect(() => selectBrowserEngines(['tfjs-cpu'])).toThrow(
      /no browser engine tfjs-cpu; known: gpujs:webgpu \(browser\), /,
    );
  });
});
