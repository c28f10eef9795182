import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ConformanceApi, FixtureFile } from '@conv2d/conformance/runner';
import { resolveBackendSpec } from '@conv2d/core';
import { openBrowserHost } from './browser-host.js';
import type { ConformanceHost } from './hosts.js';
import { nodeHost } from './node-host.js';

const USAGE =
  'usage: conv2d conformance --backend <spec|all> --fixtures <dir> [--dump <dir>] [--api call|plan] [--browser]';

/**
 * The suite's runner, loaded only by this command: `conv2d backends` works without
 * `@conv2d/conformance` installed (an optional peer of conv2d).
 */
async function loadSuite() {
  try {
    const [node, runner] = await Promise.all([
      import('@conv2d/conformance/node'),
      import('@conv2d/conformance/runner'),
    ]);
    const { CONFORMANCE_APIS, runFixture } = runner;
    const isApi = (value: string): value is ConformanceApi =>
      (CONFORMANCE_APIS as readonly string[]).includes(value);
    return { loadFixtures: node.loadFixtures, runFixture, isApi };
  } catch (e) {
    const code = (e as { code?: string }).code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
    if (missing && String(e).includes('@conv2d/conformance')) return null;
    throw e;
  }
}

/**
 * `conformance --backend <spec|all> --fixtures <dir> [--dump <dir>] [--api call|plan]`
 * (DESIGN.md contract). `all` runs every spec available here and lists the others as
 * unavailable; a spec named explicitly that cannot run here is a failure (exit 1), never
 * replaced by another. `--api plan` runs each case through a plan (plan, setWeights, forward
 * with save, backward from the saved state) instead of the one-shot calls; output and dumps
 * keep their format. `--browser` runs the cases in headless Chromium (WebGL and WebGPU on
 * SwiftShader) on the backends the page registers there, with the same output, dumps and exit
 * codes; when Chromium cannot run, every spec asked for is unavailable. Returns the exit code.
 */
export async function conformanceCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      backend: { type: 'string' },
      fixtures: { type: 'string' },
      dump: { type: 'string' },
      api: { type: 'string', default: 'call' },
      browser: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.backend || !values.fixtures) {
    console.error(USAGE);
    return 2;
  }
  const suite = await loadSuite();
  if (!suite) {
    console.error('conv2d conformance needs the suite: npm i -D @conv2d/conformance');
    return 2;
  }
  const { loadFixtures, runFixture, isApi } = suite;
  const api = values.api ?? 'call';
  if (!isApi(api)) {
    console.error(`--api is ${JSON.stringify(api)}; expected call or plan\n${USAGE}`);
    return 2;
  }
  const fixtures = loadFixtures(values.fixtures);
  if (fixtures.length === 0) {
    console.error(`no *.json cases in ${values.fixtures}`);
    return 2;
  }
  let host: ConformanceHost;
  if (values.browser) {
    // an unknown name or variant is core's typed error, as in Node, before Chromium starts
    if (values.backend !== 'all') resolveBackendSpec(values.backend);
    const opened = await openBrowserHost();
    if ('unavailable' in opened) {
      console.log(`UNAVAILABLE ${values.backend} (browser): ${opened.unavailable}`);
      console.log('0 passed, 0 failed');
      return 1;
    }
    host = opened;
  } else {
    host = nodeHost(runFixture);
  }
  try {
    return await runTargets(host, values.backend, fixtures, api, values.dump);
  } finally {
    await host.close();
  }
}

async function runTargets(
  host: ConformanceHost,
  backendArg: string,
  fixtures: FixtureFile[],
  api: ConformanceApi,
  dump: string | undefined,
): Promise<number> {
  const targets = await host.probe(backendArg);
  let passed = 0;
  let failed = 0;
  let unavailable = 0;
  for (const target of targets) {
    if (!target.available) {
      console.log(`UNAVAILABLE ${target.spec}: ${target.reason ?? 'cannot run here'}`);
      // with `all`, the availability table is informative; a named spec must run
      if (backendArg !== 'all') unavailable++;
      continue;
    }
    const backend = await host.open(target.spec);
    try {
      const dumpDir = dump ? join(dump, target.spec.replaceAll(':', '-')) : null;
      if (dumpDir) mkdirSync(dumpDir, { recursive: true });
      for (const { file, fixture } of fixtures) {
        const result = await backend.run(fixture, api);
        if (result.passed) passed++;
        else failed++;
        console.log(`${result.passed ? 'PASS' : 'FAIL'} ${target.spec} ${file}: ${result.message}`);
        if (dumpDir) writeFileSync(join(dumpDir, file), `${JSON.stringify(result.dump)}\n`);
      }
    } finally {
      await backend.close();
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 || unavailable > 0 || passed === 0 ? 1 : 0;
}
