import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerStandardBackends } from '../src/index.js';
import { dumped, fixtureFolder, run } from './cli-run.js';

// `--browser` in headless Chromium (Debian's chromium, WebGL and WebGPU on SwiftShader): a few
// cases here; .ci/run runs every fixture on every spec there, both APIs.
const cases = ['seed-example.json', 'nhwc-stride2-pad1.json', 'error-data-length-x.json'];
let root = '';
let fixtures = '';

beforeAll(() => {
  registerStandardBackends();
  ({ root, fixtures } = fixtureFolder('conv2d-cli-browser-', cases));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('pnpm conformance --browser', () => {
  it('runs the oracle in Chromium with the lines and dumps it gives in Node', async () => {
    const nodeDump = join(root, 'node');
    const browserDump = join(root, 'browser');
    const node = await run('--backend', 'naive', '--fixtures', fixtures, '--dump', nodeDump);
    const browser = await run(
      '--backend',
      'naive',
      '--fixtures',
      fixtures,
      '--dump',
      browserDump,
      '--browser',
    );
    expect(browser.code).toBe(0);
    expect(browser.lines).toEqual(node.lines);
    // float64 loops in V8 either way: the same numbers, bit for bit
    for (const file of cases) {
      expect(dumped(browserDump, 'naive', file)).toEqual(dumped(nodeDump, 'naive', file));
    }
    expect(dumped(browserDump, 'naive', 'seed-example.json').y.length).toBeGreaterThan(0);
  }, 120_000);

  it('runs gpujs:webgpu through plans on SwiftShader', async () => {
    const dump = join(root, 'webgpu');
    const { code, lines } = await run(
      '--backend',
      'gpujs:webgpu',
      '--fixtures',
      fixtures,
      '--api',
      'plan',
      '--dump',
      dump,
      '--browser',
    );
    expect(lines.at(-1)).toBe(`${cases.length} passed, 0 failed`);
    expect(code).toBe(0);
    expect(lines[0]).toMatch(
      /^PASS gpujs:webgpu error-data-length-x\.json: rejected: \[data-length\]/,
    );
    expect(dumped(dump, 'gpujs-webgpu', 'seed-example.json').dw.length).toBeGreaterThan(0);
  }, 120_000);

  it('reports a mode the browser lacks as unavailable and exits 1, never another mode', async () => {
    const { code, lines } = await run(
      '--backend',
      'gpujs:headlessgl',
      '--fixtures',
      fixtures,
      '--browser',
    );
    expect(code).toBe(1);
    expect(lines).toEqual([
      'UNAVAILABLE gpujs:headlessgl: headless-gl runs only in Node',
      '0 passed, 0 failed',
    ]);
  }, 120_000);

  it('rejects an unknown spec with the typed error before starting a browser', async () => {
    await expect(
      run('--backend', 'gpujs:metal', '--fixtures', fixtures, '--browser'),
    ).rejects.toThrow(/gpujs:metal/);
  });
});
