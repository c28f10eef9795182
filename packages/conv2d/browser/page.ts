/*
 * The page `conv2d conformance --browser` drives in headless Chromium: the same registry
 * (the standard backends, loaded on use), the same probing and the same runFixture as the
 * command in Node; the command sends each case and prints and dumps what comes back.
 */
import { type ConformanceApi, type Fixture, runFixture } from '@conv2d/conformance/runner';
import { type Conv2dBackend, createBackend } from '@conv2d/core';
import type { PageApi } from '../src/cli/browser-host.js';
import { probeAll, probeSpec } from '../src/cli/specs.js';
import { registerStandardBackends } from '../src/standard.js';

registerStandardBackends();
let backend: Conv2dBackend | null = null;

const api: PageApi = {
  probe: async (spec: string) => (spec === 'all' ? probeAll() : [await probeSpec(spec)]),
  async open(spec: string) {
    backend?.dispose();
    backend = await createBackend(spec);
  },
  run(fixture: Fixture, how: ConformanceApi) {
    if (!backend) throw new Error('no backend open');
    return runFixture(backend, fixture, how);
  },
  close() {
    backend?.dispose();
    backend = null;
  },
};
(globalThis as unknown as { conv2dConformance: PageApi }).conv2dConformance = api;
