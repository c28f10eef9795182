import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BackendProvider, registerBackend } from '@conv2d/core';

/**
 * Registers the standard backends, then the `backendProvider` of each extra module
 * (`--provider <path|package>`): how a backend outside the standard set is benched.
 */
export async function registerProviders(modules: readonly string[]): Promise<void> {
  // loaded on demand: a peer's child process never loads our backends
  const { registerStandardBackends } = await import('conv2d');
  registerStandardBackends();
  for (const m of modules) {
    const specifier = m.startsWith('.') || isAbsolute(m) ? pathToFileURL(resolve(m)).href : m;
    const mod = (await import(specifier)) as { backendProvider?: BackendProvider };
    if (!mod.backendProvider?.name || typeof mod.backendProvider.create !== 'function') {
      throw new Error(`--provider ${m}: the module exports no backendProvider`);
    }
    registerBackend(mod.backendProvider);
  }
}
