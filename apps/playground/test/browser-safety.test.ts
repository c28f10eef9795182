import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'vite';
import { describe, expect, it } from 'vitest';
import { browserSafety } from '../vite.config.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** An entry module that imports everything `specifier` exports. */
function entry(specifier: string): Plugin {
  return {
    name: 'entry',
    enforce: 'pre',
    resolveId: (id) => (id === 'virtual:entry' ? '\0entry' : null),
    load: (id) => (id === '\0entry' ? `export * from '${specifier}';` : null),
  };
}

/** Bundles `specifier` for the browser, in memory, with the playground's safety check. */
async function bundle(specifier: string): Promise<void> {
  await build({
    configFile: false,
    root,
    logLevel: 'silent',
    plugins: [entry(specifier), browserSafety()],
    build: { write: false, rollupOptions: { input: 'virtual:entry' } },
  });
}

describe('browser bundles import no Node built-ins', () => {
  it.each([
    '@conv2d/core',
    '@conv2d/backend-naive',
    '@conv2d/conformance/runner',
    '@conv2d/backend-im2col',
    '@conv2d/backend-gpujs',
  ])(
    '%s',
    async (specifier) => {
      await expect(bundle(specifier)).resolves.toBeUndefined();
    },
    60_000,
  );

  // Whichever built-in the bundler meets first (fs for the fixture files, child_process for
  // the stress suite's runs) is the one named.
  it('the check catches one (the Node entry of @conv2d/conformance reads files, spawns processes)', async () => {
    await expect(bundle('@conv2d/conformance')).rejects.toThrow(
      /imports the Node built-in "(node:)?(fs|child_process)"/,
    );
  }, 60_000);
});
