import type { runFixture as RunFixture } from '@conv2d/conformance/runner';
import { createBackend } from '@conv2d/core';
import type { ConformanceHost } from './hosts.js';
import { probeAll, probeSpec } from './specs.js';

/** Cases run in this process, on the backends registered here (`--import` ones included). */
export function nodeHost(runFixture: typeof RunFixture): ConformanceHost {
  return {
    probe: async (backend) => (backend === 'all' ? probeAll() : [await probeSpec(backend)]),
    async open(spec) {
      const backend = await createBackend(spec);
      return {
        run: (fixture, api) => runFixture(backend, fixture, api),
        close: async () => backend.dispose(),
      };
    },
    close: async () => {},
  };
}
