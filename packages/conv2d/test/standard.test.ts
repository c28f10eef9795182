import { readFileSync } from 'node:fs';
import { backendProvider as gpujs } from '@conv2d/backend-gpujs';
import { backendProvider as im2col } from '@conv2d/backend-im2col';
import { backendProvider as naive } from '@conv2d/backend-naive';
import { describe, expect, it } from 'vitest';
import { standardProviders } from '../src/index.js';

const engines = { naive, im2col, gpujs };

describe('standard providers', () => {
  it('describe each engine as its own provider does (name, variants, description)', () => {
    expect(standardProviders.map((p) => p.name)).toEqual(Object.keys(engines));
    for (const lazy of standardProviders) {
      const engine = engines[lazy.name as keyof typeof engines];
      expect([lazy.variants, lazy.description]).toEqual([engine.variants, engine.description]);
      // the create options core lets through are the ones the engine's provider declares or reads
      const declared = engine.options ?? [];
      expect(lazy.options ?? []).toEqual(declared);
    }
  });

  it('are loaded only by import(): the umbrella imports no engine statically', () => {
    // a static import would put gpu.js in every app's first chunk (see the packaging check in
    // tooling/check-packages for the bundle it measures)
    for (const file of ['index.ts', 'auto.ts', 'standard.ts']) {
      const source = readFileSync(new URL(`../src/${file}`, import.meta.url), 'utf8');
      const statics = [...source.matchAll(/^(?:import|export)[^;]*? from '([^']+)'/gms)].map(
        (m) => m[1],
      );
      expect(statics.filter((s) => s.startsWith('@conv2d/backend-'))).toEqual([]);
    }
    const standard = readFileSync(new URL('../src/standard.ts', import.meta.url), 'utf8');
    for (const name of Object.keys(engines)) {
      expect(standard).toContain(`import('@conv2d/backend-${name}')`);
    }
  });
});
