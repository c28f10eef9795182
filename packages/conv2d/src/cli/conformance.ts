import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ConformanceApi } from '@conv2d/conformance/runner';
import { createBackend } from '@conv2d/core';
import { probeAll, probeSpec, type SpecAvailability } from './specs.js';

const USAGE =
  'usage: conv2d conformance --backend <spec|all> --fixtures <dir> [--dump <dir>] [--api call|plan]';

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
 * keep their format. Returns the exit code.
 */
export async function conformanceCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      backend: { type: 'string' },
      fixtures: { type: 'string' },
      dump: { type: 'string' },
      api: { type: 'string', default: 'call' },
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
  const targets: SpecAvailability[] =
    values.backend === 'all' ? await probeAll() : [await probeSpec(values.backend)];
  let passed = 0;
  let failed = 0;
  let unavailable = 0;
  for (const target of targets) {
    if (!target.available) {
      console.log(`UNAVAILABLE ${target.spec}: ${target.reason ?? 'cannot run here'}`);
      // with `all`, the availability table is informative; a named spec must run
      if (values.backend !== 'all') unavailable++;
      continue;
    }
    const backend = await createBackend(target.spec);
    try {
      const dumpDir = values.dump ? join(values.dump, target.spec.replaceAll(':', '-')) : null;
      if (dumpDir) mkdirSync(dumpDir, { recursive: true });
      for (const { file, fixture } of fixtures) {
        const result = await runFixture(backend, fixture, api);
        if (result.passed) passed++;
        else failed++;
        console.log(`${result.passed ? 'PASS' : 'FAIL'} ${target.spec} ${file}: ${result.message}`);
        if (dumpDir) writeFileSync(join(dumpDir, file), `${JSON.stringify(result.dump)}\n`);
      }
    } finally {
      backend.dispose();
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 || unavailable > 0 || passed === 0 ? 1 : 0;
}
